package cgap.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A deliberately naive forward pass in double precision that follows Hugging Face transformers' modeling code for the
 * tiny families (Llama/Mistral, Qwen2, Qwen3, Gemma 3 text, OLMo 2). Test-only: it exists to cross-check that
 * {@code hf_to_gguf.py} + llama.cpp compute what transformers computes (so that llama.cpp is a valid reference), not
 * to be fast. Reads the HF folder directly (config.json + safetensors).
 *
 * <p>Returns the residual stream after every layer [layer][pos][hidden] and the logits [pos][vocab].
 */
public final class NaiveHfForward {
    private NaiveHfForward() {
    }

    public record Output(double[][][] layerOut, double[][] logits) {
    }

    public static Output run(Path dir, int[] tokens) throws IOException {
        JsonNode root = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        boolean gemma = root.path("model_type").asText().equals("gemma3");
        JsonNode c = gemma ? root.get("text_config") : root;
        String type = root.path("model_type").asText();
        boolean olmo = type.equals("olmo2");
        boolean qwen3 = type.equals("qwen3");
        int hidden = c.get("hidden_size").asInt();
        int layers = c.get("num_hidden_layers").asInt();
        int nh = c.path("num_attention_heads").asInt(8);
        int nkv = c.path("num_key_value_heads").asInt(gemma ? 4 : nh);
        int hd = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : (gemma ? 256 : hidden / nh);
        double eps = c.path("rms_norm_eps").asDouble(1e-6);
        double theta = c.path("rope_theta").asDouble(gemma ? 1_000_000.0 : 10000.0);
        double localTheta = c.path("rope_local_base_freq").asDouble(10000.0);
        int window = c.path("sliding_window").asInt(gemma ? 4096 : 0);
        int pattern = c.path("sliding_window_pattern").asInt(6);
        double scale = gemma ? 1.0 / Math.sqrt(c.path("query_pre_attn_scalar").asDouble(256)) : 1.0 / Math.sqrt(hd);
        double softcap = c.path("final_logit_softcapping").asDouble(0);
        boolean tied = c.has("tie_word_embeddings") ? c.get("tie_word_embeddings").asBoolean() : gemma;
        JsonNode rs = c.path("rope_scaling");

        double[] invFreq = new double[hd / 2];
        for (int i = 0; i < hd / 2; i++) invFreq[i] = 1.0 / Math.pow(theta, 2.0 * i / hd);
        double[] invFreqLocal = new double[hd / 2];
        for (int i = 0; i < hd / 2; i++) invFreqLocal[i] = 1.0 / Math.pow(localTheta, 2.0 * i / hd);
        String ropeType = rs.isObject() ? rs.path("rope_type").asText(rs.path("type").asText()) : "default";
        if (ropeType.equals("linear")) {
            for (int i = 0; i < hd / 2; i++) invFreq[i] /= rs.get("factor").asDouble();
        } else if (ropeType.equals("llama3")) {
            double factor = rs.get("factor").asDouble(), lo = rs.get("low_freq_factor").asDouble(), hi = rs.get("high_freq_factor").asDouble();
            double old = rs.get("original_max_position_embeddings").asDouble();
            double loWl = old / lo, hiWl = old / hi;
            for (int i = 0; i < hd / 2; i++) {
                double wl = 2 * Math.PI / invFreq[i];
                if (wl > loWl) invFreq[i] /= factor;
                else if (wl >= hiWl) {
                    double smooth = (old / wl - lo) / (hi - lo);
                    invFreq[i] = (1 - smooth) * invFreq[i] / factor + smooth * invFreq[i];
                }
            }
        } else if (!ropeType.equals("default")) {
            throw new IllegalArgumentException("rope type " + ropeType);
        }

        Map<String, SafetensorsIO.Tensor> w = SafetensorsIO.readModel(dir);
        String p = gemma ? "language_model.model." : "model.";
        int n = tokens.length;
        float[] emb = w.get(p + "embed_tokens.weight").data();
        double[][] x = new double[n][hidden];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < hidden; i++) x[t][i] = emb[tokens[t] * hidden + i] * (gemma ? Math.sqrt(hidden) : 1.0);
        }
        double[][][] outs = new double[layers][][];
        for (int l = 0; l < layers; l++) {
            String lp = p + "layers." + l + ".";
            boolean local = gemma && (l + 1) % pattern != 0;
            double[][] h = olmo ? x : norm(x, w.get(lp + "input_layernorm.weight").data(), eps, gemma);
            double[][] q = linear(h, w.get(lp + "self_attn.q_proj.weight"), w.get(lp + "self_attn.q_proj.bias"));
            double[][] k = linear(h, w.get(lp + "self_attn.k_proj.weight"), w.get(lp + "self_attn.k_proj.bias"));
            double[][] v = linear(h, w.get(lp + "self_attn.v_proj.weight"), w.get(lp + "self_attn.v_proj.bias"));
            if (olmo) {
                q = norm(q, w.get(lp + "self_attn.q_norm.weight").data(), eps, false);
                k = norm(k, w.get(lp + "self_attn.k_norm.weight").data(), eps, false);
            } else if (qwen3 || gemma) {
                headNorm(q, nh, hd, w.get(lp + "self_attn.q_norm.weight").data(), eps, gemma);
                headNorm(k, nkv, hd, w.get(lp + "self_attn.k_norm.weight").data(), eps, gemma);
            }
            double[] f = local ? invFreqLocal : invFreq;
            rope(q, nh, hd, f);
            rope(k, nkv, hd, f);
            double[][] att = new double[n][nh * hd];
            for (int t = 0; t < n; t++) {
                for (int head = 0; head < nh; head++) {
                    int kvh = head / (nh / nkv);
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        if (local && t - j >= window) {
                            s[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double d = 0;
                        for (int i = 0; i < hd; i++) d += q[t][head * hd + i] * k[j][kvh * hd + i];
                        s[j] = d * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) {
                        s[j] = s[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= t; j++) {
                        for (int i = 0; i < hd; i++) att[t][head * hd + i] += s[j] / sum * v[j][kvh * hd + i];
                    }
                }
            }
            double[][] o = linear(att, w.get(lp + "self_attn.o_proj.weight"), null);
            if (gemma || olmo) o = norm(o, w.get(lp + "post_attention_layernorm.weight").data(), eps, gemma);
            add(x, o);
            double[][] h2 = olmo ? x : norm(x, w.get(lp + (gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")).data(), eps, gemma);
            double[][] g = linear(h2, w.get(lp + "mlp.gate_proj.weight"), null);
            double[][] u = linear(h2, w.get(lp + "mlp.up_proj.weight"), null);
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < g[t].length; i++) {
                    double a = g[t][i];
                    double act = gemma ? 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a * a * a))) : a / (1 + Math.exp(-a));
                    g[t][i] = act * u[t][i];
                }
            }
            double[][] m = linear(g, w.get(lp + "mlp.down_proj.weight"), null);
            if (gemma || olmo) m = norm(m, w.get(lp + "post_feedforward_layernorm.weight").data(), eps, gemma);
            add(x, m);
            outs[l] = new double[n][];
            for (int t = 0; t < n; t++) outs[l][t] = x[t].clone();
        }
        double[][] fin = norm(x, w.get(p + "norm.weight").data(), eps, gemma);
        SafetensorsIO.Tensor un = !tied && w.containsKey("lm_head.weight") ? w.get("lm_head.weight") : w.get(p + "embed_tokens.weight");
        double[][] logits = linear(fin, un, null);
        if (softcap > 0) {
            for (double[] row : logits) for (int i = 0; i < row.length; i++) row[i] = softcap * Math.tanh(row[i] / softcap);
        }
        return new Output(outs, logits);
    }

    static double[][] norm(double[][] x, float[] wt, double eps, boolean plusOne) {
        double[][] out = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ss = 0;
            for (double v : x[t]) ss += v * v;
            double inv = 1 / Math.sqrt(ss / x[t].length + eps);
            out[t] = new double[x[t].length];
            for (int i = 0; i < x[t].length; i++) out[t][i] = x[t][i] * inv * (plusOne ? 1.0 + wt[i] : wt[i]);
        }
        return out;
    }

    static void headNorm(double[][] x, int heads, int hd, float[] wt, double eps, boolean plusOne) {
        for (double[] row : x) {
            for (int h = 0; h < heads; h++) {
                double ss = 0;
                for (int i = 0; i < hd; i++) ss += row[h * hd + i] * row[h * hd + i];
                double inv = 1 / Math.sqrt(ss / hd + eps);
                for (int i = 0; i < hd; i++) row[h * hd + i] *= inv * (plusOne ? 1.0 + wt[i] : wt[i]);
            }
        }
    }

    /** HF rotate-half RoPE: pairs (i, i + hd/2) of each head, angle pos * invFreq[i]. */
    static void rope(double[][] x, int heads, int hd, double[] invFreq) {
        int half = hd / 2;
        for (int t = 0; t < x.length; t++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < half; i++) {
                    double a = t * invFreq[i], cos = Math.cos(a), sin = Math.sin(a);
                    double x0 = x[t][h * hd + i], x1 = x[t][h * hd + i + half];
                    x[t][h * hd + i] = x0 * cos - x1 * sin;
                    x[t][h * hd + i + half] = x1 * cos + x0 * sin;
                }
            }
        }
    }

    static double[][] linear(double[][] x, SafetensorsIO.Tensor wt, SafetensorsIO.Tensor bias) {
        int out = wt.rows(), in = wt.cols();
        float[] d = wt.data();
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias.data()[o];
                for (int i = 0; i < in; i++) s += x[t][i] * d[o * in + i];
                y[t][o] = s;
            }
        }
        return y;
    }

    static void add(double[][] x, double[][] y) {
        for (int t = 0; t < x.length; t++) for (int i = 0; i < x[t].length; i++) x[t][i] += y[t][i];
    }
}
