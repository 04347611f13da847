package cgap.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer (BPE model), encoding and decoding exactly as
 * the Rust {@code tokenizers} library does when transformers loads the folder with
 * {@code AutoTokenizer} (fast tokenizer).
 *
 * <p>Pipeline of {@link #encode(String, boolean, boolean)}: added tokens are cut out of the raw
 * text (leftmost-longest, {@code lstrip}/{@code rstrip}/{@code single_word}; tokens flagged
 * {@code special} are left in the text when {@code splitSpecialTokens}); each remaining piece is
 * normalized, searched for {@code normalized} added tokens, pre-tokenized and run through BPE;
 * finally the post-processor adds BOS/EOS when {@code addSpecialTokens}.
 *
 * <p>transformers' LlamaTokenizerFast / GemmaTokenizerFast rebuild the post-processor from
 * {@code add_bos_token}/{@code add_eos_token} of {@code tokenizer_config.json}; this class does
 * the same when the config names one of those classes and sets either flag.
 *
 * <p>{@link #decode} is the Rust library's decode (no {@code clean_up_tokenization_spaces}), so
 * that it round-trips.
 *
 * <p>Like PreTrainedTokenizerFast, tokens that tokenizer_config.json declares
 * ({@code added_tokens_decoder}, bos/eos/unk/pad/... and {@code additional_special_tokens}) but
 * tokenizer.json lacks are added as added tokens.
 *
 * <p>Only the BPE model is implemented (Unigram/WordPiece/WordLevel files are rejected with a
 * message naming {@code model.type}). Instances are immutable apart from an internal per-word
 * cache and are safe to share between threads.
 */
public final class Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LLAMA_LIKE = Pattern.compile("(Llama|CodeLlama|Gemma|Gemma3)Tokenizer(Fast)?");

    private final Bpe model;
    private final AddedVocabulary added;
    private final Components.Normalizer normalizer;
    private final Components.PreTokenizer preTokenizer;
    private final Components.PostProcessor postProcessor;
    private final Components.Decoder decoder;
    private final Map<String, Object> config;
    private final OptionalInt bos;
    private final OptionalInt eos;
    private final int vocabSize;

    private Tokenizer(Bpe model, AddedVocabulary added, Components.Normalizer normalizer,
                      Components.PreTokenizer preTokenizer, Components.PostProcessor postProcessor,
                      Components.Decoder decoder, Map<String, Object> config, OptionalInt bos, OptionalInt eos) {
        this.model = model;
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        this.config = config;
        this.bos = bos;
        this.eos = eos;
        int max = model.vocabSize() - 1;
        for (AddedVocabulary.AddedToken t : added.tokens) max = Math.max(max, t.id());
        this.vocabSize = max + 1;
    }

    /**
     * Loads {@code tokenizer.json} (and {@code tokenizer_config.json} when present) from a model
     * folder, or from the given {@code tokenizer.json} file's folder.
     *
     * @throws IllegalArgumentException naming the file and field when something is missing,
     *                                  malformed or unsupported
     */
    public static Tokenizer load(Path modelOrTokenizerDir) {
        if (modelOrTokenizerDir == null) throw new IllegalArgumentException("tokenizer path is null");
        Path dir = modelOrTokenizerDir;
        Path tokFile = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(dir)) {
            tokFile = dir;
            dir = dir.toAbsolutePath().getParent();
        }
        if (!Files.isRegularFile(tokFile)) {
            throw new IllegalArgumentException(tokFile + ": tokenizer.json not found");
        }
        String file = tokFile.toString();
        JsonNode root = readJson(tokFile);
        Path cfgFile = dir.resolve("tokenizer_config.json");
        Map<String, Object> config = Map.of();
        JsonNode cfg = null;
        if (Files.isRegularFile(cfgFile)) {
            cfg = readJson(cfgFile);
            if (!cfg.isObject()) throw new IllegalArgumentException(cfgFile + ": top level must be a JSON object");
            config = Collections.unmodifiableMap(JSON.convertValue(cfg, new TypeReference<Map<String, Object>>() {}));
        }
        return build(root, file, cfg, cfgFile.toString(), config);
    }

    private static JsonNode readJson(Path p) {
        try {
            JsonNode n = JSON.readTree(p.toFile());
            if (n == null || n.isMissingNode()) throw new IllegalArgumentException(p + ": empty file");
            return n;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(p + ": malformed JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")" : ""), e);
        } catch (IOException e) {
            throw new IllegalArgumentException(p + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static Tokenizer build(JsonNode root, String file, JsonNode cfg, String cfgFile, Map<String, Object> config) {
        if (!root.isObject()) throw new IllegalArgumentException(file + ": top level must be a JSON object");
        JsonNode m = root.get("model");
        if (m == null || !m.isObject()) throw new IllegalArgumentException(file + ": model is missing or not an object");
        String mtype = Components.text(m, "type", "model", file);
        if (mtype == null && m.has("merges")) mtype = "BPE";
        if (!"BPE".equals(mtype)) {
            throw new IllegalArgumentException(file + ": unsupported model.type '" + mtype + "' (only BPE is implemented)");
        }
        JsonNode vocabNode = m.get("vocab");
        if (vocabNode == null || !vocabNode.isObject()) throw new IllegalArgumentException(file + ": model.vocab is missing or not an object");
        Map<String, Integer> vocab = Bpe.newVocab(vocabNode.size());
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw new IllegalArgumentException(file + ": model.vocab[\"" + e.getKey() + "\"] must be a non-negative integer id");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        JsonNode mergesNode = m.get("merges");
        if (mergesNode == null || !mergesNode.isArray()) throw new IllegalArgumentException(file + ": model.merges is missing or not an array");
        String[][] merges = new String[mergesNode.size()][];
        for (int i = 0; i < merges.length; i++) {
            JsonNode x = mergesNode.get(i);
            if (x.isTextual()) {
                String[] parts = x.asText().split(" ", -1);
                if (parts.length != 2) throw new IllegalArgumentException(file + ": model.merges[" + i + "] must be \"a b\"");
                merges[i] = parts;
            } else if (x.isArray() && x.size() == 2 && x.get(0).isTextual() && x.get(1).isTextual()) {
                merges[i] = new String[] {x.get(0).asText(), x.get(1).asText()};
            } else {
                throw new IllegalArgumentException(file + ": model.merges[" + i + "] must be \"a b\" or [a, b]");
            }
        }
        if (m.hasNonNull("dropout") && m.get("dropout").asDouble() != 0.0) {
            throw new IllegalArgumentException(file + ": model.dropout is not supported (deterministic encoding only)");
        }
        Bpe bpe = new Bpe(vocab, merges,
                Components.text(m, "unk_token", "model", file),
                m.path("fuse_unk").asBoolean(false),
                m.path("byte_fallback").asBoolean(false),
                m.path("ignore_merges").asBoolean(false),
                Components.text(m, "continuing_subword_prefix", "model", file),
                Components.text(m, "end_of_word_suffix", "model", file),
                file);

        Components.Normalizer normalizer = Components.normalizer(root.get("normalizer"), "normalizer", file);
        Components.PreTokenizer pre = Components.preTokenizer(root.get("pre_tokenizer"), "pre_tokenizer", file);
        Components.Decoder decoder = Components.decoder(root.get("decoder"), "decoder", file);

        AddedVocabulary added = new AddedVocabulary();
        JsonNode at = root.get("added_tokens");
        if (at != null && !at.isNull()) {
            if (!at.isArray()) throw new IllegalArgumentException(file + ": added_tokens must be an array");
            for (int i = 0; i < at.size(); i++) {
                JsonNode t = at.get(i);
                String where = "added_tokens[" + i + "]";
                if (!t.isObject() || !t.has("id") || !t.get("id").canConvertToInt() || !t.hasNonNull("content")) {
                    throw new IllegalArgumentException(file + ": " + where + " must have an integer id and a content");
                }
                boolean special = t.path("special").asBoolean(false);
                added.add(new AddedVocabulary.AddedToken(t.get("id").asInt(), t.get("content").asText(),
                        t.path("single_word").asBoolean(false), t.path("lstrip").asBoolean(false),
                        t.path("rstrip").asBoolean(false), t.path("normalized").asBoolean(!special), special), normalizer);
            }
        }

        if (cfg != null) addConfigTokens(cfg, cfgFile, added, bpe, normalizer);

        java.util.function.ToIntFunction<String> lookup = tok -> {
            AddedVocabulary.AddedToken a = added.byContent.get(tok);
            if (a != null) return a.id();
            Integer id = bpe.vocab.get(tok);
            return id == null ? -1 : id;
        };
        Components.PostProcessor post = Components.postProcessor(root.get("post_processor"), "post_processor", file, lookup);

        OptionalInt bos = specialFromConfig(cfg, "bos_token", cfgFile, lookup,
                "<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>");
        OptionalInt eos = specialFromConfig(cfg, "eos_token", cfgFile, lookup,
                "<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>");

        if (cfg != null) {
            String cls = cfg.path("tokenizer_class").asText("");
            if (LLAMA_LIKE.matcher(cls).matches() && (cfg.has("add_bos_token") || cfg.has("add_eos_token"))) {
                boolean addBos = cfg.path("add_bos_token").asBoolean(true);
                boolean addEos = cfg.path("add_eos_token").asBoolean(false);
                if (addBos && bos.isEmpty()) throw new IllegalArgumentException(cfgFile + ": add_bos_token is true but bos_token is unset or unknown");
                if (addEos && eos.isEmpty()) throw new IllegalArgumentException(cfgFile + ": add_eos_token is true but eos_token is unset or unknown");
                int[] pre0 = addBos ? new int[] {bos.getAsInt()} : new int[0];
                int[] post0 = addEos ? new int[] {eos.getAsInt()} : new int[0];
                post = (ids, add) -> add ? Components.concat(List.of(pre0, ids, post0)) : ids;
            }
        }
        return new Tokenizer(bpe, added, normalizer, pre, post, decoder, config, bos, eos);
    }

    /**
     * What PreTrainedTokenizerFast.__init__ adds on top of tokenizer.json: entries of
     * {@code added_tokens_decoder} whose content tokenizer.json lacks (with their flags), then the
     * special-token strings (bos/eos/unk/pad/sep/cls/mask, additional_special_tokens) that are not
     * added tokens yet, as special tokens. Tokens the files already agree on are left alone, as the
     * Rust AddedVocabulary ignores a token whose content it already has. A special string absent
     * from the vocabulary is not given a new id here.
     */
    private static void addConfigTokens(JsonNode cfg, String cfgFile, AddedVocabulary added, Bpe bpe,
                                        Components.Normalizer normalizer) {
        JsonNode dec = cfg.get("added_tokens_decoder");
        if (dec != null && dec.isObject()) {
            List<Map.Entry<Integer, JsonNode>> entries = new ArrayList<>();
            for (Map.Entry<String, JsonNode> e : dec.properties()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw new IllegalArgumentException(cfgFile + ": added_tokens_decoder key '" + e.getKey() + "' is not an integer id");
                }
                entries.add(Map.entry(id, e.getValue()));
            }
            entries.sort(Map.Entry.comparingByKey());
            for (Map.Entry<Integer, JsonNode> e : entries) {
                JsonNode t = e.getValue();
                if (!t.isObject() || !t.hasNonNull("content")) {
                    throw new IllegalArgumentException(cfgFile + ": added_tokens_decoder[\"" + e.getKey() + "\"].content is missing");
                }
                String content = t.get("content").asText();
                if (content.isEmpty() || added.byContent.containsKey(content)) continue;
                boolean special = t.path("special").asBoolean(false);
                added.add(new AddedVocabulary.AddedToken(e.getKey(), content, t.path("single_word").asBoolean(false),
                        t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                        t.path("normalized").asBoolean(!special), special), normalizer);
            }
        }
        List<String> specials = new ArrayList<>();
        for (String f : List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")) {
            JsonNode v = cfg.get(f);
            if (v == null || v.isNull()) continue;
            if (v.isTextual()) specials.add(v.asText());
            else if (v.isObject() && v.hasNonNull("content")) specials.add(v.get("content").asText());
        }
        JsonNode extra = cfg.get("additional_special_tokens");
        if (extra != null && extra.isArray()) {
            for (JsonNode v : extra) {
                if (v.isTextual()) specials.add(v.asText());
                else if (v.isObject() && v.hasNonNull("content")) specials.add(v.get("content").asText());
            }
        }
        for (String sp : specials) {
            if (sp.isEmpty() || added.byContent.containsKey(sp)) continue;
            Integer id = bpe.vocab.get(sp);
            if (id == null) continue;
            added.add(new AddedVocabulary.AddedToken(id, sp, false, false, false, false, true), normalizer);
        }
    }

    private static OptionalInt specialFromConfig(JsonNode cfg, String field, String cfgFile,
                                                 java.util.function.ToIntFunction<String> lookup, String... fallbacks) {
        if (cfg != null && cfg.has(field)) {
            JsonNode v = cfg.get(field);
            if (v.isNull()) return OptionalInt.empty();
            String content;
            if (v.isTextual()) content = v.asText();
            else if (v.isObject() && v.hasNonNull("content")) content = v.get("content").asText();
            else throw new IllegalArgumentException(cfgFile + ": " + field + " must be a string or {\"content\": ...}");
            int id = lookup.applyAsInt(content);
            if (id < 0) throw new IllegalArgumentException(cfgFile + ": " + field + " '" + content + "' is not in the vocabulary");
            return OptionalInt.of(id);
        }
        for (String f : fallbacks) {
            int id = lookup.applyAsInt(f);
            if (id >= 0) return OptionalInt.of(id);
        }
        return OptionalInt.empty();
    }

    // ------------------------------------------------------------------ encoding

    /** Encodes with special-token strings in the text parsed as special tokens (transformers' default). */
    public int[] encode(String text, boolean addSpecialTokens) {
        return encode(text, addSpecialTokens, false);
    }

    /**
     * Encodes {@code text}.
     *
     * @param addSpecialTokens   let the post-processor add BOS/EOS (transformers' {@code add_special_tokens})
     * @param splitSpecialTokens treat special-token strings in the text as plain text
     *                           (transformers' {@code split_special_tokens=True}); non-special added
     *                           tokens are still matched, as in transformers
     */
    public int[] encode(String text, boolean addSpecialTokens, boolean splitSpecialTokens) {
        if (text == null) throw new IllegalArgumentException("text is null");
        IntList out = new IntList(Math.max(16, text.length() / 3));
        for (AddedVocabulary.Segment seg : added.splitRaw(text, splitSpecialTokens)) {
            if (seg.id() >= 0) { out.add(seg.id()); continue; }
            String norm = normalizer == null ? seg.text() : normalizer.normalize(seg.text());
            if (norm.isEmpty()) continue;
            List<AddedVocabulary.Segment> subs = added.hasNormalized()
                    ? added.splitNormalized(norm, splitSpecialTokens)
                    : List.of(new AddedVocabulary.Segment(norm, -1, 0));
            for (AddedVocabulary.Segment sub : subs) {
                if (sub.id() >= 0) { out.add(sub.id()); continue; }
                boolean atStart = seg.start() == 0 && sub.start() == 0;
                List<Components.Piece> pieces = new ArrayList<>();
                Components.Piece whole = new Components.Piece(sub.text(), atStart);
                if (preTokenizer == null) pieces.add(whole);
                else preTokenizer.apply(List.of(whole), pieces);
                for (Components.Piece p : pieces) out.addAll(model.tokenize(p.text()));
            }
        }
        int[] ids = out.toArray();
        if (postProcessor != null) ids = postProcessor.process(ids, addSpecialTokens);
        return ids;
    }

    // ------------------------------------------------------------------ decoding

    /**
     * Decodes ids to text as the Rust library does: unknown ids are dropped, special tokens are
     * dropped when {@code skipSpecialTokens}, the rest go through the decoder (or are joined
     * with spaces when the file has none). No clean-up of tokenization spaces.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> toks = new ArrayList<>(ids.length);
        for (int id : ids) {
            AddedVocabulary.AddedToken a = added.byId.get(id);
            String tok = a != null ? a.content() : modelToken(id);
            if (tok == null) continue;
            if (skipSpecialTokens) {
                AddedVocabulary.AddedToken sp = added.byContent.get(tok);
                if (sp != null && sp.special()) continue;
            }
            toks.add(tok);
        }
        if (decoder == null) return String.join(" ", toks);
        return String.join("", decoder.decodeChain(toks));
    }

    private String modelToken(int id) {
        return id >= 0 && id < model.idToToken.length ? model.idToToken[id] : null;
    }

    /** The token string of an id (added tokens first, then the model's vocabulary), or null if unknown. */
    public String idToToken(int id) {
        AddedVocabulary.AddedToken a = added.byId.get(id);
        return a != null ? a.content() : modelToken(id);
    }

    /** The id of a token string (added tokens first, then the model's vocabulary), or -1 if absent. */
    public int tokenToId(String token) {
        AddedVocabulary.AddedToken a = added.byContent.get(token);
        if (a != null) return a.id();
        Integer id = model.vocab.get(token);
        return id == null ? -1 : id;
    }

    /** One more than the largest id of the model vocabulary and the added tokens. */
    public int vocabSize() {
        return vocabSize;
    }

    /** BOS from tokenizer_config.json {@code bos_token} (empty when set to null); without a config, a well-known BOS string if present. */
    public OptionalInt bosId() {
        return bos;
    }

    /** EOS from tokenizer_config.json {@code eos_token} (empty when set to null); without a config, a well-known EOS string if present. */
    public OptionalInt eosId() {
        return eos;
    }

    /** The raw tokenizer_config.json (unmodifiable; empty when absent). */
    public Map<String, Object> tokenizerConfig() {
        return config;
    }

    /** Whether the id is an added token flagged special. */
    boolean isSpecial(int id) {
        AddedVocabulary.AddedToken a = added.byId.get(id);
        return a != null && a.special();
    }

    static final class IntList {
        int[] a;
        int n;

        IntList(int cap) { a = new int[cap]; }

        void add(int v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        void addAll(int[] v) {
            if (n + v.length > a.length) a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + v.length));
            System.arraycopy(v, 0, a, n, v.length);
            n += v.length;
        }

        int[] toArray() { return java.util.Arrays.copyOf(a, n); }
    }
}
