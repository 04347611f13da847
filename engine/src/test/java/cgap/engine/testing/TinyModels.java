package cgap.engine.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Tiny synthetic checkpoints in Hugging Face layout: {@code config.json} with the field names and structure of each
 * family's released config (Llama-2 / Llama-3.1-8B, Mistral-7B-v0.3, Qwen2.5-7B, Qwen3-4B, gemma-3-4b-pt,
 * OLMo-2-1124-7B), and {@code model.safetensors} with seeded random weights under the HF tensor names.
 * No tokenizer files (the reference harness feeds token ids).
 *
 * <p>Shapes: hidden 64, vocab 512, 4 query heads / 2 KV heads (GQA 2), intermediate 128.
 * <ul>
 * <li>{@code llama}: Llama-2 style (rope_theta 10000, no scaling), 3 layers, head_dim 16, untied lm_head.</li>
 * <li>{@code llama3}: Llama 3.1 structure, rope_theta 500000, rope_scaling llama3 factor 8, low/high 1/4,
 *     original_max_position_embeddings 64 (so the low, smooth and high-frequency regimes all occur at head_dim 16).</li>
 * <li>{@code mistral}: Mistral-7B-v0.3 structure (sliding_window null, rope_theta 1e6), 3 layers.</li>
 * <li>{@code qwen2}: Qwen2.5 structure, q/k/v biases, 3 layers, untied.</li>
 * <li>{@code qwen3}: Qwen3-4B structure, head_dim 32 (hidden/heads = 16), per-head q_norm/k_norm, 4 layers, tied.</li>
 * <li>{@code gemma3}: gemma-3-4b-pt multimodal layout (Gemma3ForConditionalGeneration, text_config naming only the
 *     fields that differ from Gemma3TextConfig's defaults, tiny vision_config and vision/projector tensors that a
 *     text loader must skip), tensors under {@code language_model.model.}; 6 layers so the default
 *     sliding_window_pattern 6 gives 5 local layers then 1 global one; sliding_window 4; head_dim 32;
 *     query_pre_attn_scalar 24 (not head_dim); rope_scaling linear factor 8 (global layers only);
 *     rope_local_base_freq left at its default 10000, rope_theta at its default 1e6; norm weights near 0 (x(1+w)).</li>
 * <li>{@code olmo2}: OLMo-2-1124-7B structure, post-norms only, q_norm over the whole q projection
 *     (n_heads*head_dim), k_norm over n_kv_heads*head_dim, 4 layers, untied.</li>
 * </ul>
 */
public final class TinyModels {
    /** An [n, k] matrix of standard-normal values in F32 or BF16 (truncated), in an arena: kernels' test weights. */
    public static java.lang.foreign.MemorySegment randomWeights(java.lang.foreign.Arena arena, cgap.engine.safetensors.DType dt, int n, int k,
                                                                Random r) {
        java.lang.foreign.MemorySegment s = arena.allocate((long) n * k * dt.bytes, 64);
        for (long i = 0; i < (long) n * k; i++) {
            float v = (float) r.nextGaussian();
            if (dt == cgap.engine.safetensors.DType.F32) s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
            else s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToIntBits(v) >>> 16));
        }
        return s;
    }

    private TinyModels() {
    }

    public static final List<String> FAMILIES = List.of("llama", "llama3", "mistral", "qwen2", "qwen3", "gemma3", "olmo2");

    public static final int HIDDEN = 64;
    public static final int VOCAB = 512;
    public static final int HEADS = 4;
    public static final int KV_HEADS = 2;
    public static final int INTERMEDIATE = 128;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Writes the family's tiny model into dir (created if needed) and returns dir. dtype "F32" or "BF16". */
    public static Path write(String family, Path dir, long seed, String dtype) throws IOException {
        if (!dtype.equals("F32") && !dtype.equals("BF16")) throw new IllegalArgumentException("dtype " + dtype);
        Files.createDirectories(dir);
        String torchDtype = dtype.equals("F32") ? "float32" : "bfloat16";
        Spec s = spec(family);
        Map<String, Object> config = config(family, s, torchDtype);
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        Map<String, Object> gen = new LinkedHashMap<>();
        gen.put("_from_model_config", true);
        gen.put("bos_token_id", 1);
        gen.put("eos_token_id", 2);
        JSON.writeValue(dir.resolve("generation_config.json").toFile(), gen);
        SafetensorsIO.write(dir.resolve("model.safetensors"), weights(family, s, new Random(seed), dtype));
        return dir;
    }

    /** The shape parameters of one family's tiny model. */
    public record Spec(int layers, int headDim, boolean tied, String prefix) {
    }

    public static Spec spec(String family) {
        return switch (family) {
            case "llama", "llama3", "mistral", "qwen2" -> new Spec(3, 16, false, "model.");
            case "qwen3" -> new Spec(4, 32, true, "model.");
            case "olmo2" -> new Spec(4, 16, false, "model.");
            case "gemma3" -> new Spec(6, 32, true, "language_model.model.");
            default -> throw new IllegalArgumentException("unknown family '" + family + "' (known: " + FAMILIES + ")");
        };
    }

    private static Map<String, Object> config(String family, Spec s, String torchDtype) {
        Map<String, Object> c = new LinkedHashMap<>();
        switch (family) {
            case "llama", "llama3" -> {
                boolean l3 = family.equals("llama3");
                c.put("architectures", List.of("LlamaForCausalLM"));
                c.put("attention_bias", false);
                c.put("attention_dropout", 0.0);
                c.put("bos_token_id", 1);
                c.put("eos_token_id", 2);
                c.put("hidden_act", "silu");
                c.put("hidden_size", HIDDEN);
                c.put("initializer_range", 0.02);
                c.put("intermediate_size", INTERMEDIATE);
                c.put("max_position_embeddings", l3 ? 512 : 256);
                c.put("mlp_bias", false);
                c.put("model_type", "llama");
                c.put("num_attention_heads", HEADS);
                c.put("num_hidden_layers", s.layers());
                c.put("num_key_value_heads", KV_HEADS);
                c.put("pretraining_tp", 1);
                c.put("rms_norm_eps", 1e-5);
                if (l3) {
                    Map<String, Object> rs = new LinkedHashMap<>();
                    rs.put("factor", 8.0);
                    rs.put("low_freq_factor", 1.0);
                    rs.put("high_freq_factor", 4.0);
                    rs.put("original_max_position_embeddings", 64);
                    rs.put("rope_type", "llama3");
                    c.put("rope_scaling", rs);
                    c.put("rope_theta", 500000.0);
                } else {
                    c.put("rope_scaling", null);
                    c.put("rope_theta", 10000.0);
                }
                c.put("tie_word_embeddings", false);
                c.put("torch_dtype", torchDtype);
                c.put("transformers_version", l3 ? "4.43.0.dev0" : "4.31.0.dev0");
                c.put("use_cache", true);
                c.put("vocab_size", VOCAB);
            }
            case "mistral" -> {
                c.put("architectures", List.of("MistralForCausalLM"));
                c.put("attention_dropout", 0.0);
                c.put("bos_token_id", 1);
                c.put("eos_token_id", 2);
                c.put("hidden_act", "silu");
                c.put("hidden_size", HIDDEN);
                c.put("initializer_range", 0.02);
                c.put("intermediate_size", INTERMEDIATE);
                c.put("max_position_embeddings", 256);
                c.put("model_type", "mistral");
                c.put("num_attention_heads", HEADS);
                c.put("num_hidden_layers", s.layers());
                c.put("num_key_value_heads", KV_HEADS);
                c.put("rms_norm_eps", 1e-5);
                c.put("rope_theta", 1000000.0);
                c.put("sliding_window", null);
                c.put("tie_word_embeddings", false);
                c.put("torch_dtype", torchDtype);
                c.put("transformers_version", "4.42.0.dev0");
                c.put("use_cache", true);
                c.put("vocab_size", VOCAB);
            }
            case "qwen2" -> {
                c.put("architectures", List.of("Qwen2ForCausalLM"));
                c.put("attention_dropout", 0.0);
                c.put("bos_token_id", 1);
                c.put("eos_token_id", 2);
                c.put("hidden_act", "silu");
                c.put("hidden_size", HIDDEN);
                c.put("initializer_range", 0.02);
                c.put("intermediate_size", INTERMEDIATE);
                c.put("max_position_embeddings", 256);
                c.put("max_window_layers", s.layers());
                c.put("model_type", "qwen2");
                c.put("num_attention_heads", HEADS);
                c.put("num_hidden_layers", s.layers());
                c.put("num_key_value_heads", KV_HEADS);
                c.put("rms_norm_eps", 1e-6);
                c.put("rope_theta", 1000000.0);
                c.put("sliding_window", 256);
                c.put("tie_word_embeddings", false);
                c.put("torch_dtype", torchDtype);
                c.put("transformers_version", "4.43.1");
                c.put("use_cache", true);
                c.put("use_mrope", false);
                c.put("use_sliding_window", false);
                c.put("vocab_size", VOCAB);
            }
            case "qwen3" -> {
                c.put("architectures", List.of("Qwen3ForCausalLM"));
                c.put("attention_bias", false);
                c.put("attention_dropout", 0.0);
                c.put("bos_token_id", 1);
                c.put("eos_token_id", 2);
                c.put("head_dim", s.headDim());
                c.put("hidden_act", "silu");
                c.put("hidden_size", HIDDEN);
                c.put("initializer_range", 0.02);
                c.put("intermediate_size", INTERMEDIATE);
                c.put("max_position_embeddings", 256);
                c.put("max_window_layers", s.layers());
                c.put("model_type", "qwen3");
                c.put("num_attention_heads", HEADS);
                c.put("num_hidden_layers", s.layers());
                c.put("num_key_value_heads", KV_HEADS);
                c.put("rms_norm_eps", 1e-6);
                c.put("rope_scaling", null);
                c.put("rope_theta", 1000000);
                c.put("sliding_window", null);
                c.put("tie_word_embeddings", true);
                c.put("torch_dtype", torchDtype);
                c.put("transformers_version", "4.51.0");
                c.put("use_cache", true);
                c.put("use_sliding_window", false);
                c.put("vocab_size", VOCAB);
            }
            case "olmo2" -> {
                c.put("architectures", List.of("Olmo2ForCausalLM"));
                c.put("attention_bias", false);
                c.put("attention_dropout", 0.0);
                c.put("eos_token_id", 2);
                c.put("hidden_act", "silu");
                c.put("hidden_size", HIDDEN);
                c.put("initializer_range", 0.02);
                c.put("intermediate_size", INTERMEDIATE);
                c.put("max_position_embeddings", 256);
                c.put("model_type", "olmo2");
                c.put("num_attention_heads", HEADS);
                c.put("num_hidden_layers", s.layers());
                c.put("num_key_value_heads", KV_HEADS);
                c.put("pad_token_id", 0);
                c.put("rms_norm_eps", 1e-6);
                c.put("rope_scaling", null);
                c.put("rope_theta", 500000);
                c.put("tie_word_embeddings", false);
                c.put("torch_dtype", torchDtype);
                c.put("transformers_version", "4.47.0.dev0");
                c.put("use_cache", true);
                c.put("vocab_size", VOCAB);
            }
            case "gemma3" -> {
                c.put("architectures", List.of("Gemma3ForConditionalGeneration"));
                c.put("boi_token_index", 509);
                c.put("eoi_token_index", 510);
                c.put("eos_token_id", List.of(1, 106));
                c.put("image_token_index", 511);
                c.put("initializer_range", 0.02);
                c.put("mm_tokens_per_image", 4);
                c.put("model_type", "gemma3");
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("head_dim", s.headDim());
                t.put("hidden_size", HIDDEN);
                t.put("intermediate_size", INTERMEDIATE);
                t.put("model_type", "gemma3_text");
                t.put("num_attention_heads", HEADS);
                t.put("num_hidden_layers", s.layers());
                t.put("num_key_value_heads", KV_HEADS);
                t.put("query_pre_attn_scalar", 24);
                Map<String, Object> rs = new LinkedHashMap<>();
                rs.put("factor", 8.0);
                rs.put("rope_type", "linear");
                t.put("rope_scaling", rs);
                t.put("sliding_window", 4);
                t.put("vocab_size", VOCAB);
                c.put("text_config", t);
                c.put("torch_dtype", torchDtype);
                c.put("transformers_version", "4.50.0.dev0");
                Map<String, Object> v = new LinkedHashMap<>();
                v.put("hidden_size", 8);
                v.put("image_size", 4);
                v.put("intermediate_size", 16);
                v.put("model_type", "siglip_vision_model");
                v.put("num_attention_heads", 2);
                v.put("num_hidden_layers", 1);
                v.put("patch_size", 2);
                v.put("vision_use_head", false);
                c.put("vision_config", v);
            }
            default -> throw new IllegalArgumentException(family);
        }
        return c;
    }

    private static Map<String, SafetensorsIO.Tensor> weights(String family, Spec s, Random rnd, String dtype) {
        Map<String, SafetensorsIO.Tensor> w = new LinkedHashMap<>();
        String p = s.prefix();
        boolean gemma = family.equals("gemma3");
        boolean olmo = family.equals("olmo2");
        int q = HEADS * s.headDim();
        int kv = KV_HEADS * s.headDim();
        double normMean = gemma ? 0.0 : 1.0; // Gemma stores w of x*(1+w)
        Builder b = new Builder(w, rnd, dtype);
        b.normal(p + "embed_tokens.weight", gemma ? 0.25 : 1.0, 0.0, VOCAB, HIDDEN);
        for (int i = 0; i < s.layers(); i++) {
            String l = p + "layers." + i + ".";
            if (!olmo) b.normal(l + "input_layernorm.weight", 0.1, normMean, HIDDEN);
            b.normal(l + "self_attn.q_proj.weight", 1 / Math.sqrt(HIDDEN), 0.0, q, HIDDEN);
            b.normal(l + "self_attn.k_proj.weight", 1 / Math.sqrt(HIDDEN), 0.0, kv, HIDDEN);
            b.normal(l + "self_attn.v_proj.weight", 1 / Math.sqrt(HIDDEN), 0.0, kv, HIDDEN);
            if (family.equals("qwen2")) {
                b.normal(l + "self_attn.q_proj.bias", 0.1, 0.0, q);
                b.normal(l + "self_attn.k_proj.bias", 0.1, 0.0, kv);
                b.normal(l + "self_attn.v_proj.bias", 0.1, 0.0, kv);
            }
            if (family.equals("qwen3") || gemma) {
                b.normal(l + "self_attn.q_norm.weight", 0.1, normMean, s.headDim());
                b.normal(l + "self_attn.k_norm.weight", 0.1, normMean, s.headDim());
            }
            if (olmo) {
                b.normal(l + "self_attn.q_norm.weight", 0.1, 1.0, q);
                b.normal(l + "self_attn.k_norm.weight", 0.1, 1.0, kv);
            }
            b.normal(l + "self_attn.o_proj.weight", 1 / Math.sqrt(q), 0.0, HIDDEN, q);
            b.normal(l + "post_attention_layernorm.weight", 0.1, normMean, HIDDEN);
            if (gemma) b.normal(l + "pre_feedforward_layernorm.weight", 0.1, normMean, HIDDEN);
            b.normal(l + "mlp.gate_proj.weight", 1 / Math.sqrt(HIDDEN), 0.0, INTERMEDIATE, HIDDEN);
            b.normal(l + "mlp.up_proj.weight", 1 / Math.sqrt(HIDDEN), 0.0, INTERMEDIATE, HIDDEN);
            b.normal(l + "mlp.down_proj.weight", 1 / Math.sqrt(INTERMEDIATE), 0.0, HIDDEN, INTERMEDIATE);
            if (gemma || olmo) b.normal(l + "post_feedforward_layernorm.weight", 0.1, normMean, HIDDEN);
        }
        b.normal(p + "norm.weight", 0.1, normMean, HIDDEN);
        if (!s.tied()) b.normal("lm_head.weight", 2 / Math.sqrt(HIDDEN), 0.0, VOCAB, HIDDEN);
        if (gemma) {
            // a token vision tower and projector: a text-only loader (and the converter) must skip them
            b.normal("vision_tower.vision_model.embeddings.patch_embedding.weight", 0.1, 0.0, 8, 3, 2, 2);
            b.normal("vision_tower.vision_model.embeddings.patch_embedding.bias", 0.1, 0.0, 8);
            b.normal("vision_tower.vision_model.post_layernorm.weight", 0.1, 1.0, 8);
            b.normal("multi_modal_projector.mm_input_projection_weight", 0.1, 0.0, 8, HIDDEN);
            b.normal("multi_modal_projector.mm_soft_emb_norm.weight", 0.1, 0.0, 8);
        }
        return w;
    }

    private record Builder(Map<String, SafetensorsIO.Tensor> out, Random rnd, String dtype) {
        void normal(String name, double std, double mean, long... shape) {
            long n = 1;
            for (long d : shape) n *= d;
            float[] data = new float[Math.toIntExact(n)];
            for (int i = 0; i < data.length; i++) {
                float v = (float) (mean + std * rnd.nextGaussian());
                data[i] = dtype.equals("BF16") ? SafetensorsIO.roundBf16(v) : v;
            }
            out.put(name, new SafetensorsIO.Tensor(dtype, shape, data));
        }
    }

    /** Token ids 0..VOCAB-1 drawn from a seed, for test prompts. */
    public static int[] randomTokens(long seed, int n) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + r.nextInt(VOCAB - 3);
        return t;
    }
}
