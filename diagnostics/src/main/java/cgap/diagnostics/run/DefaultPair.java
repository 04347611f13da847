package cgap.diagnostics.run;

import cgap.engine.safetensors.DType;
import cgap.engine.safetensors.SafeTensorsWriter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * The embedded default of {@code cgap run}: a synthetic PT/IT pair built on the spot, so that a new user sees the
 * whole output on a fresh machine with no checkpoint at hand. It is NOT a trained model and its text is noise:
 * <ul>
 *   <li>PT: an 8-layer Llama (hidden 64, 4 query / 2 KV heads, vocabulary of the 256 bytes + 4 special tokens)
 *       with seeded random weights;</li>
 *   <li>IT: the same weights, except that the MLP output (down_proj) of the last three layers is multiplied by
 *       {@link #LATE_MLP_GAIN}, so the late blocks move the prediction more: a convergence gap by construction;</li>
 *   <li>a byte-level tokenizer.json and a minimal chat template ({@code <|user|>\n...\n<|assistant|>\n}).</li>
 * </ul>
 */
public final class DefaultPair {
    public static final double LATE_MLP_GAIN = 3.0;
    static final long SEED = 20261124L;
    static final int HIDDEN = 64, LAYERS = 8, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 16, INTER = 160;
    static final String[] SPECIALS = {"<s>", "</s>", "<|user|>", "<|assistant|>"};
    static final int VOCAB = 256 + SPECIALS.length;
    public static final String DESCRIPTION = "embedded default: a synthetic 8-layer pair built by cgap (random weights; the 'IT' "
            + "model is the 'PT' model with its last three MLPs amplified x" + LATE_MLP_GAIN + "). Not a trained model: its text is "
            + "noise and its gap exists by construction. Use --pair, or --pt and --it, for real checkpoints.";

    private DefaultPair() {
    }

    /** Writes (once) the pair under dir/pt and dir/it and returns dir. */
    public static Path build(Path dir) throws IOException {
        Path pt = dir.resolve("pt"), it = dir.resolve("it");
        if (Files.isRegularFile(pt.resolve("model.safetensors")) && Files.isRegularFile(it.resolve("model.safetensors"))) return dir;
        Files.createDirectories(pt);
        Files.createDirectories(it);
        for (Path p : new Path[]{pt, it}) {
            writeConfig(p);
            writeTokenizer(p, VOCAB);
        }
        writeWeights(pt, 1.0);
        writeWeights(it, LATE_MLP_GAIN);
        return dir;
    }

    static void writeConfig(Path p) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("hidden_size", HIDDEN);
        c.put("intermediate_size", INTER);
        c.put("num_hidden_layers", LAYERS);
        c.put("num_attention_heads", HEADS);
        c.put("num_key_value_heads", KV_HEADS);
        c.put("head_dim", HEAD_DIM);
        c.put("vocab_size", VOCAB);
        c.put("max_position_embeddings", 2048);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", false);
        c.put("bos_token_id", 256);
        c.put("eos_token_id", 257);
        c.put("torch_dtype", "float32");
        json.writeValue(p.resolve("config.json").toFile(), c);
    }

    /** GPT-2's byte-to-unicode map: printable bytes stand for themselves, the rest are shifted past 255. */
    static String byteChar(int b) {
        if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return String.valueOf((char) b);
        int n = 0;
        for (int x = 0; x < b; x++) if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
        return String.valueOf((char) (256 + n));
    }

    /**
     * A byte-level tokenizer for a synthetic model of {@code vocabSize} ids: ids 0–255 the bytes, then {@code <s>},
     * {@code </s>}, {@code <|user|>}, {@code <|assistant|>}, then filler tokens {@code <xN>} up to the vocabulary
     * (never produced by encoding), and a minimal chat template, written into p: the files of {@link #tokenizerFiles}.
     */
    public static void writeTokenizer(Path p, int vocabSize) throws IOException {
        for (Map.Entry<String, byte[]> f : tokenizerFiles(vocabSize).entrySet()) Files.write(p.resolve(f.getKey()), f.getValue());
    }

    /**
     * The byte-level tokenizer's files by name ({@code tokenizer.json}, {@code tokenizer_config.json} with its chat
     * template) for {@code vocabSize} ids (see {@link #writeTokenizer}); also what the benchmarks' synthetic pairs write.
     */
    public static Map<String, byte[]> tokenizerFiles(int vocabSize) throws IOException {
        if (vocabSize < VOCAB) throw new IllegalArgumentException("a byte-level tokenizer needs at least " + VOCAB + " ids, got " + vocabSize);
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
        for (int id = VOCAB; id < vocabSize; id++) vocab.put("<x" + id + ">", id);
        model.putArray("merges");
        Map<String, byte[]> files = new java.util.TreeMap<>();
        files.put("tokenizer.json", json.writeValueAsBytes(t));
        ObjectNode cfg = json.createObjectNode();
        cfg.put("bos_token", "<s>").put("eos_token", "</s>").put("add_bos_token", true);
        cfg.put("chat_template", "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                + "{{ '<|user|>\\n' + message['content'] + '\\n' }}{% elif message['role'] == 'assistant' %}"
                + "{{ '<|assistant|>\\n' + message['content'] + eos_token + '\\n' }}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}");
        files.put("tokenizer_config.json", json.writeValueAsBytes(cfg));
        return files;
    }

    static void writeWeights(Path p, double lateGain) throws IOException {
        Random r = new Random(SEED);
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.add("model.embed_tokens.weight", DType.F32, new long[]{VOCAB, HIDDEN}, gauss(r, VOCAB * HIDDEN, 1.0));
        for (int l = 0; l < LAYERS; l++) {
            String pre = "model.layers." + l + ".";
            w.add(pre + "input_layernorm.weight", DType.F32, new long[]{HIDDEN}, ones(HIDDEN));
            w.add(pre + "self_attn.q_proj.weight", DType.F32, new long[]{HEADS * HEAD_DIM, HIDDEN}, gauss(r, HEADS * HEAD_DIM * HIDDEN, 1 / Math.sqrt(HIDDEN)));
            w.add(pre + "self_attn.k_proj.weight", DType.F32, new long[]{KV_HEADS * HEAD_DIM, HIDDEN}, gauss(r, KV_HEADS * HEAD_DIM * HIDDEN, 1 / Math.sqrt(HIDDEN)));
            w.add(pre + "self_attn.v_proj.weight", DType.F32, new long[]{KV_HEADS * HEAD_DIM, HIDDEN}, gauss(r, KV_HEADS * HEAD_DIM * HIDDEN, 1 / Math.sqrt(HIDDEN)));
            w.add(pre + "self_attn.o_proj.weight", DType.F32, new long[]{HIDDEN, HEADS * HEAD_DIM}, gauss(r, HIDDEN * HEADS * HEAD_DIM, 1 / Math.sqrt(HEADS * HEAD_DIM)));
            w.add(pre + "post_attention_layernorm.weight", DType.F32, new long[]{HIDDEN}, ones(HIDDEN));
            w.add(pre + "mlp.gate_proj.weight", DType.F32, new long[]{INTER, HIDDEN}, gauss(r, INTER * HIDDEN, 1 / Math.sqrt(HIDDEN)));
            w.add(pre + "mlp.up_proj.weight", DType.F32, new long[]{INTER, HIDDEN}, gauss(r, INTER * HIDDEN, 1 / Math.sqrt(HIDDEN)));
            float[] down = gauss(r, HIDDEN * INTER, 1 / Math.sqrt(INTER));
            if (l >= LAYERS - 3) for (int i = 0; i < down.length; i++) down[i] *= (float) lateGain;
            w.add(pre + "mlp.down_proj.weight", DType.F32, new long[]{HIDDEN, INTER}, down);
        }
        w.add("model.norm.weight", DType.F32, new long[]{HIDDEN}, ones(HIDDEN));
        w.add("lm_head.weight", DType.F32, new long[]{VOCAB, HIDDEN}, gauss(r, VOCAB * HIDDEN, 1 / Math.sqrt(HIDDEN)));
        w.metadata("format", "pt").metadata("cgap", "synthetic default pair, not a trained model");
        w.write(p.resolve("model.safetensors"));
    }

    static float[] gauss(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    static float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }
}
