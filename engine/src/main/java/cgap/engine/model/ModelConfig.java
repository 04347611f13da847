package cgap.engine.model;

import cgap.engine.ModelLoadException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The architecture of a decoder-only model, held as data: one record describes every dense family, and the forward
 * pass reads it (there is no subclass per model). Built from a Hugging Face {@code config.json} by
 * {@link #load(Path)}; field defaults are those of the family's transformers config class.
 *
 * @param normOffset     0 for RMSNorm with weight w, 1 for Gemma's (1 + w)
 * @param embedScale     multiplier of the embedding rows before the first block (Gemma: sqrt(hidden), rounded to
 *                       the embedding's dtype at load time); 1 for other families
 * @param attnScale      the factor of q·k (1/sqrt(head_dim), Gemma 3: query_pre_attn_scalar^-1/2)
 * @param slidingWindow  per layer: 0 for global attention, else a key at distance >= window is masked
 * @param rope           per layer rotary embedding (Gemma 3's local layers have their own base)
 * @param attnSoftcap    0 or the tanh soft-cap of attention scores
 * @param finalSoftcap   0 or the tanh soft-cap of the final logits
 */
public record ModelConfig(Path source, String modelType, Family family,
                          int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads,
                          int headDim, int vocabSize, double normEps, float normOffset, boolean scaleEmbeddings,
                          Activation activation, boolean qkvBias, boolean oBias, boolean mlpBias, QkNorm qkNorm,
                          double attnScale, double attnSoftcap, double finalSoftcap,
                          int[] slidingWindow, Rope[] rope, boolean tiedEmbeddings, LayerNames names,
                          String finalNormName, String embedName, String lmHeadName, boolean multimodalLayout,
                          List<Integer> eosTokenIds, int bosTokenId, String torchDtype) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Reads {@code config.json} (and {@code generation_config.json} for end tokens) of a model folder. */
    public static ModelConfig load(Path dir) {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new ModelLoadException(dir + ": no config.json (is this a Hugging Face model folder?)");
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(cfg));
        } catch (IOException e) {
            throw new ModelLoadException(cfg + ": cannot parse JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new ModelLoadException(cfg + ": expected a JSON object");
        JsonNode gen = null;
        Path genPath = dir.resolve("generation_config.json");
        if (Files.isRegularFile(genPath)) {
            try {
                gen = JSON.readTree(Files.readString(genPath));
            } catch (IOException e) {
                throw new ModelLoadException(genPath + ": cannot parse JSON: " + e.getMessage(), e);
            }
        }
        return fromJson(root, gen, cfg);
    }

    /** Builds the description from a parsed config (and optional generation config); {@code cfg} names the file in errors. */
    public static ModelConfig fromJson(JsonNode root, JsonNode gen, Path cfg) {
        String where = cfg.toString();
        String modelType = text(root, "model_type", null);
        if (modelType == null) throw new ModelLoadException(where + ": missing field 'model_type'");
        Family family = Family.ofModelType(modelType);
        if (family == null) {
            throw new ModelLoadException(where + ": unsupported model_type '" + modelType
                    + "' (supported: llama, mistral, qwen2, qwen3, gemma3, gemma3_text, olmo2)");
        }
        JsonNode c = root;
        boolean multimodal = false;
        if (modelType.equals("gemma3")) {
            JsonNode tc = root.get("text_config");
            if (tc == null || !tc.isObject()) throw new ModelLoadException(where + ": model_type 'gemma3' needs a 'text_config' object");
            c = tc;
            multimodal = true;
            where = where + " (text_config)";
        }
        boolean gemma = family == Family.GEMMA3;
        // Defaults are those of each family's transformers config class; Gemma3TextConfig's matter because the
        // released Gemma 3 checkpoints leave most text_config fields out.
        int hidden = gemma ? integer(c, "hidden_size", 2304, where) : integer(c, "hidden_size", -1, where);
        int inter = gemma ? integer(c, "intermediate_size", 9216, where) : integer(c, "intermediate_size", -1, where);
        int layers = gemma ? integer(c, "num_hidden_layers", 26, where) : integer(c, "num_hidden_layers", -1, where);
        int heads = gemma ? integer(c, "num_attention_heads", 8, where) : integer(c, "num_attention_heads", -1, where);
        int kvHeads = integer(c, "num_key_value_heads", gemma ? 4 : heads, where);
        int vocab = gemma ? integer(c, "vocab_size", 262208, where) : integer(c, "vocab_size", -1, where);
        int headDim = c.hasNonNull("head_dim") ? integer(c, "head_dim", -1, where) : (gemma ? 256 : hidden / heads);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw new ModelLoadException(where + ": num_attention_heads " + heads + " must be a positive multiple of num_key_value_heads " + kvHeads);
        }
        double eps = dbl(c, "rms_norm_eps", family == Family.OLMO2 ? 1e-5 : 1e-6, where);
        String act = c.hasNonNull("hidden_activation") ? c.get("hidden_activation").asText() : text(c, "hidden_act", gemma ? "gelu_pytorch_tanh" : "silu");
        Activation activation = Activation.parse(act, where + " field 'hidden_act'");
        boolean attnBias = bool(c, "attention_bias", false);
        boolean qkvBias = family == Family.QWEN2 || attnBias;
        boolean oBias = family != Family.QWEN2 && attnBias;
        boolean mlpBias = bool(c, "mlp_bias", false);
        boolean tied = bool(c, "tie_word_embeddings", bool(root, "tie_word_embeddings", gemma));

        // Attention pattern: layer_types when present, else the family's rule.
        int window = c.hasNonNull("sliding_window") ? integer(c, "sliding_window", 0, where) : (gemma ? 4096 : 0);
        int[] windows = new int[layers];
        boolean[] sliding = new boolean[layers];
        JsonNode lt = c.get("layer_types");
        if (lt != null && lt.isArray()) {
            if (lt.size() != layers) throw new ModelLoadException(where + ": layer_types has " + lt.size() + " entries, expected num_hidden_layers = " + layers);
            for (int i = 0; i < layers; i++) {
                String t = lt.get(i).asText();
                if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
                    throw new ModelLoadException(where + ": layer_types[" + i + "] is '" + t + "', expected sliding_attention or full_attention");
                }
                sliding[i] = t.equals("sliding_attention");
            }
        } else if (gemma) {
            int pattern = integer(c, "sliding_window_pattern", 6, where);
            for (int i = 0; i < layers; i++) sliding[i] = (i + 1) % pattern != 0;
        } else if (family == Family.MISTRAL) {
            for (int i = 0; i < layers; i++) sliding[i] = window > 0;
        } else if (family == Family.QWEN2 || family == Family.QWEN3) {
            boolean use = bool(c, "use_sliding_window", false);
            int maxWindowLayers = integer(c, "max_window_layers", layers, where);
            for (int i = 0; i < layers; i++) sliding[i] = use && window > 0 && i >= maxWindowLayers;
        }
        for (int i = 0; i < layers; i++) {
            if (sliding[i] && window <= 0) throw new ModelLoadException(where + ": layer " + i + " uses sliding attention but sliding_window is " + window);
            windows[i] = sliding[i] ? window : 0;
        }

        // Rotary embeddings per layer.
        double theta = dbl(c, "rope_theta", gemma ? 1_000_000.0 : 10000.0, where);
        JsonNode scaling = c.get("rope_scaling");
        JsonNode params = c.get("rope_parameters");
        Rope[] rope = new Rope[layers];
        double localTheta = dbl(c, "rope_local_base_freq", 10000.0, where);
        for (int i = 0; i < layers; i++) {
            if (params != null && params.isObject()) {
                JsonNode p = params;
                if (params.has("full_attention") || params.has("sliding_attention")) {
                    p = params.get(sliding[i] ? "sliding_attention" : "full_attention");
                    if (p == null) throw new ModelLoadException(where + ": rope_parameters has no entry for " + (sliding[i] ? "sliding_attention" : "full_attention"));
                }
                rope[i] = Rope.parse(headDim, dbl(p, "rope_theta", theta, where), p, where + " field 'rope_parameters'");
            } else if (gemma && sliding[i]) {
                rope[i] = Rope.plain(headDim, localTheta);
            } else {
                rope[i] = Rope.parse(headDim, theta, scaling, where + " field 'rope_scaling'");
            }
        }
        double attnScale = gemma ? 1.0 / Math.sqrt(dbl(c, "query_pre_attn_scalar", 256, where)) : 1.0 / Math.sqrt(headDim);
        double attnSoftcap = dbl(c, "attn_logit_softcapping", 0, where);
        double finalSoftcap = dbl(c, "final_logit_softcapping", 0, where);

        LayerNames names = switch (family) {
            case LLAMA, MISTRAL, QWEN2 -> LayerNames.standard("input_layernorm", null, "post_attention_layernorm", null, null, null);
            case QWEN3 -> LayerNames.standard("input_layernorm", null, "post_attention_layernorm", null, "self_attn.q_norm", "self_attn.k_norm");
            case GEMMA3 -> LayerNames.standard("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                    "post_feedforward_layernorm", "self_attn.q_norm", "self_attn.k_norm");
            case OLMO2 -> LayerNames.standard(null, "post_attention_layernorm", null, "post_feedforward_layernorm", "self_attn.q_norm", "self_attn.k_norm");
        };
        QkNorm qkNorm = switch (family) {
            case QWEN3, GEMMA3 -> QkNorm.PER_HEAD;
            case OLMO2 -> QkNorm.FULL;
            default -> QkNorm.NONE;
        };

        List<Integer> eos = new ArrayList<>();
        addIds(eos, root.get("eos_token_id"));
        if (c != root) addIds(eos, c.get("eos_token_id"));
        if (gen != null) addIds(eos, gen.get("eos_token_id"));
        int bos = root.hasNonNull("bos_token_id") ? root.get("bos_token_id").asInt() : (c.hasNonNull("bos_token_id") ? c.get("bos_token_id").asInt() : -1);
        String dtype = text(root, "torch_dtype", text(c, "torch_dtype", text(root, "dtype", "float32")));

        ModelConfig mc = new ModelConfig(cfg, modelType, family, hidden, inter, layers, heads, kvHeads, headDim, vocab, eps,
                gemma ? 1f : 0f, gemma, activation, qkvBias, oBias, mlpBias, qkNorm, attnScale, attnSoftcap, finalSoftcap,
                windows, rope, tied, names, "norm.weight", "embed_tokens.weight", "lm_head.weight", multimodal,
                List.copyOf(eos), bos, dtype);
        mc.validate(where);
        return mc;
    }

    private void validate(String where) {
        check(hiddenSize > 0, where, "hidden_size", hiddenSize);
        check(intermediateSize > 0, where, "intermediate_size", intermediateSize);
        check(numLayers > 0, where, "num_hidden_layers", numLayers);
        check(vocabSize > 0, where, "vocab_size", vocabSize);
        check(headDim > 0 && headDim % 2 == 0, where, "head_dim (must be even)", headDim);
    }

    private static void check(boolean ok, String where, String field, Object value) {
        if (!ok) throw new ModelLoadException(where + ": field '" + field + "' has invalid value " + value);
    }

    private static void addIds(List<Integer> out, JsonNode n) {
        if (n == null || n.isNull()) return;
        if (n.isArray()) n.forEach(x -> addIds(out, x));
        else if (n.canConvertToInt() && !out.contains(n.asInt())) out.add(n.asInt());
    }

    private static String text(JsonNode n, String f, String def) {
        JsonNode v = n.get(f);
        return v == null || v.isNull() ? def : v.asText();
    }

    private static boolean bool(JsonNode n, String f, boolean def) {
        JsonNode v = n.get(f);
        return v == null || v.isNull() ? def : v.asBoolean();
    }

    private static int integer(JsonNode n, String f, int def, String where) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) {
            if (def == -1) throw new ModelLoadException(where + ": missing required field '" + f + "'");
            return def;
        }
        if (!v.canConvertToInt() || (!v.isIntegralNumber() && v.asDouble() != Math.rint(v.asDouble()))) {
            throw new ModelLoadException(where + ": field '" + f + "' must be an integer, found " + v);
        }
        return v.asInt();
    }

    private static double dbl(JsonNode n, String f, double def, String where) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) return def;
        if (!v.isNumber()) throw new ModelLoadException(where + ": field '" + f + "' must be a number, found " + v);
        return v.asDouble();
    }
}
