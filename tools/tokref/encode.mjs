// Reference encoder for cgap's tokenizer tests.
// Usage: node encode.mjs REQUEST.json   (or the request on stdin)
// Request: {"dir": "/path/with/tokenizer.json", "texts": ["..."],
//           "addSpecialTokens": true, "splitSpecialTokens": false}
//   or with "variants": [{"addSpecialTokens": b, "splitSpecialTokens": b}, ...] instead of the flags;
//   "decode": true also returns "decoded": [[keeping specials, skipping specials] per text] for the
//   ids of the first variant (clean_up_tokenization_spaces off, as the Rust library's decode).
// Prints: {"engine": "@huggingface/tokenizers@x.y.z", "results": [[[ids of text 0], ...] per variant],
//          "ids": [[...], ...] (only without "variants")}
//
// @huggingface/tokenizers is the tokenizer engine of @huggingface/transformers 4.x: its
// PreTrainedTokenizer.encode() is this Tokenizer.encode(), with no per-class overrides.
// It has no split_special_tokens option; that flag is emulated the way the Rust library
// implements encode_special_tokens=true: added tokens marked special are no longer matched
// in the text (non-special added tokens still are), while their ids stay known for the
// post-processor.
import { readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(here, "node_modules/@huggingface/tokenizers/package.json"), "utf8"));
const req = JSON.parse(readFileSync(process.argv[2] ?? 0, "utf8"));
const tokJson = JSON.parse(readFileSync(join(req.dir, "tokenizer.json"), "utf8"));
const cfgPath = join(req.dir, "tokenizer_config.json");
const cfg = existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, "utf8")) : {};

function build(splitSpecialTokens) {
  const json = JSON.parse(JSON.stringify(tokJson));
  if (splitSpecialTokens) {
    const vocab = json.model.vocab;
    for (const t of json.added_tokens) {
      if (t.special && vocab && !Array.isArray(vocab) && !(t.content in vocab)) vocab[t.content] = t.id;
    }
    json.added_tokens = json.added_tokens.filter((t) => !t.special);
  }
  return new Tokenizer(json, cfg);
}

const variants = req.variants ?? [{ addSpecialTokens: req.addSpecialTokens ?? true, splitSpecialTokens: req.splitSpecialTokens ?? false }];
const built = new Map();
const results = variants.map((v) => {
  const split = !!v.splitSpecialTokens;
  if (!built.has(split)) built.set(split, build(split));
  const tok = built.get(split);
  return req.texts.map((text) => tok.encode(text, { add_special_tokens: v.addSpecialTokens ?? true }).ids);
});
const out = { engine: `${pkg.name}@${pkg.version}`, results };
if (req.decode) {
  // decode the ids of the first variant, keeping and skipping special tokens (no clean-up of spaces)
  const tok = built.get(!!variants[0].splitSpecialTokens);
  out.decoded = results[0].map((ids) => ids.length === 0 ? ["", ""] : [
    tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
    tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }),
  ]);
}
if (!req.variants) out.ids = results[0];
process.stdout.write(JSON.stringify(out) + "\n");
