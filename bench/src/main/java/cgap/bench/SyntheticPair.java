package cgap.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A synthetic PT/IT pair of any {@link SyntheticLlama} shape that {@code cgap run --pt DIR/pt --it DIR/it} loads:
 * two independently seeded checkpoints (PT seed s, IT seed s + 1, so their weight files are distinct and both count
 * in memory) with a byte-level tokenizer in the manner of {@code cgap.diagnostics.run.DefaultPair}: ids 0–255 are the
 * bytes, then {@code <s>}, {@code </s>}, {@code <|user|>}, {@code <|assistant|>}, then filler tokens {@code <xN>} up
 * to the model's vocabulary (never produced by encoding, decodable as text), and the same minimal chat template.
 * BOS and EOS are {@code <s>} (256) and {@code </s>} (257) in config.json and generation_config.json. For measuring
 * memory and speed only: the weights are random and the text noise.
 *
 * <pre>
 * java -cp … cgap.bench.SyntheticPair DIR [--layers 16] [--hidden 1024] [--heads 16] [--kv-heads 4] [--intermediate 2816]
 *      [--vocab 32000] [--dtype BF16] [--seed 1]
 * </pre>
 */
public final class SyntheticPair {
    static final String[] SPECIALS = {"<s>", "</s>", "<|user|>", "<|assistant|>"};

    private SyntheticPair() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) throw new IllegalArgumentException("usage: SyntheticPair DIR [--layers N] [--hidden D] ... (see the class comment)");
        Map<String, String> o = new LinkedHashMap<>();
        for (int k = 1; k + 1 < args.length; k += 2) o.put(args[k].replaceFirst("^--", ""), args[k + 1]);
        int layers = Integer.parseInt(o.getOrDefault("layers", "16")), hidden = Integer.parseInt(o.getOrDefault("hidden", "1024"));
        int heads = Integer.parseInt(o.getOrDefault("heads", Integer.toString(hidden / 64)));
        int kv = Integer.parseInt(o.getOrDefault("kv-heads", Integer.toString(Math.max(1, heads / 4))));
        int inter = Integer.parseInt(o.getOrDefault("intermediate", "2816")), vocab = Integer.parseInt(o.getOrDefault("vocab", "32000"));
        long seed = Long.parseLong(o.getOrDefault("seed", "1"));
        String dtype = o.getOrDefault("dtype", "BF16");
        Path dir = Path.of(args[0]);
        write(dir, new SyntheticLlama(layers, hidden, heads, kv, inter, vocab, dtype, seed));
        System.out.println(dir.resolve("pt") + " " + dir.resolve("it"));
    }

    /** Writes dir/pt (seed m.seed()) and dir/it (seed m.seed() + 1), each with its tokenizer; skips a side already written. */
    public static void write(Path dir, SyntheticLlama m) throws IOException {
        if (m.vocab() < 256 + SPECIALS.length) throw new IllegalArgumentException("vocab must be at least " + (256 + SPECIALS.length));
        SyntheticLlama[] sides = {m, new SyntheticLlama(m.layers(), m.hidden(), m.heads(), m.kvHeads(), m.intermediate(), m.vocab(), m.dtype(), m.seed() + 1)};
        String[] names = {"pt", "it"};
        for (int s = 0; s < 2; s++) {
            Path p = dir.resolve(names[s]);
            if (!Files.isRegularFile(p.resolve("model.safetensors"))) sides[s].write(p);
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode cfg = (ObjectNode) json.readTree(p.resolve("config.json").toFile());
            cfg.put("bos_token_id", 256).put("eos_token_id", 257).put("max_position_embeddings", 8192);
            json.writeValue(p.resolve("config.json").toFile(), cfg);
            Files.writeString(p.resolve("generation_config.json"), "{\n  \"bos_token_id\": 256,\n  \"eos_token_id\": 257\n}\n");
            writeTokenizer(p, m.vocab());
        }
    }

    /** GPT-2's byte-to-unicode map: printable bytes stand for themselves, the rest are shifted past 255. */
    static String byteChar(int b) {
        if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return String.valueOf((char) b);
        int n = 0;
        for (int x = 0; x < b; x++) if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
        return String.valueOf((char) (256 + n));
    }

    static void writeTokenizer(Path p, int vocabSize) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode t = json.createObjectNode();
        t.put("version", "1.0");
        t.putNull("truncation");
        t.putNull("padding");
        ArrayNode added = t.putArray("added_tokens");
        for (int i = 0; i < SPECIALS.length; i++) {
            ObjectNode a = added.addObject();
            a.put("id", 256 + i).put("content", SPECIALS[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        t.putNull("normalizer");
        ObjectNode pre = t.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = t.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode st = post.putObject("special_tokens").putObject("<s>");
        st.put("id", "<s>");
        st.putArray("ids").add(256);
        st.putArray("tokens").add("<s>");
        ObjectNode dec = t.putObject("decoder");
        dec.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").putNull("continuing_subword_prefix")
                .putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) vocab.put(byteChar(b), b);
        for (int i = 0; i < SPECIALS.length; i++) vocab.put(SPECIALS[i], 256 + i);
        for (int id = 256 + SPECIALS.length; id < vocabSize; id++) vocab.put("<x" + id + ">", id);
        model.putArray("merges");
        json.writeValue(p.resolve("tokenizer.json").toFile(), t);
        ObjectNode cfg = json.createObjectNode();
        cfg.put("bos_token", "<s>").put("eos_token", "</s>").put("add_bos_token", true);
        cfg.put("chat_template", "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                + "{{ '<|user|>\\n' + message['content'] + '\\n' }}{% elif message['role'] == 'assistant' %}"
                + "{{ '<|assistant|>\\n' + message['content'] + eos_token + '\\n' }}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}");
        json.writeValue(p.resolve("tokenizer_config.json").toFile(), cfg);
    }
}
