package cgap.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Proves the llama.cpp reference harness works: real checkpoints give their known greedy text, every tiny family
 * converts and runs, and for every model llama.cpp's last block output, put through the final norm and the
 * unembedding read straight from the HF safetensors in plain Java, reproduces llama.cpp's logits.
 */
class LlamaCppReferenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void harness() {
        LlamaCppReference.assumeAvailable();
    }

    static Path shared(String rel) {
        Path p = LlamaCppReference.repoRoot().resolve("../shared").resolve(rel).normalize();
        if (!Files.exists(p)) {
            String msg = "missing shared test material " + p;
            if ("true".equals(System.getenv("CI"))) fail(msg);
            org.junit.jupiter.api.Assumptions.abort(msg);
        }
        return p;
    }

    @Test
    void stories260KGreedyTellsTheKnownStory() throws IOException {
        Path dir = shared("models/stories260K");
        Map<String, Integer> vocab = vocab(dir);
        int[] prompt = {1, vocab.get("\u2581Once"), vocab.get("\u2581upon"), vocab.get("\u2581a"), vocab.get("\u2581time")};
        LlamaCppReference.Result r = LlamaCppReference.run(dir, prompt, 30);
        String text = decode(vocab, prompt, r.generated());
        assertTrue(text.startsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park."), text);
        assertArrayEquals(prompt, r.tokens());
        assertEquals(5, r.nLayer());
        checkOutputs(dir, r, 1e-4);
    }

    @Test
    void tinyllamaV0RunsAndItsLastLayerGivesTheLogits() throws IOException {
        Path dir = shared("models/tinyllama-v0");
        Map<String, Integer> vocab = vocab(dir);
        int[] prompt = {1, vocab.get("\u2581Once"), vocab.get("\u2581upon"), vocab.get("\u2581a"), vocab.get("\u2581time")};
        LlamaCppReference.Result r = LlamaCppReference.run(dir, prompt, 8);
        assertEquals(8, r.nLayer());
        checkOutputs(dir, r, 1e-4);
        String text = decode(vocab, prompt, r.generated());
        assertTrue(text.startsWith("Once upon a time"), text);
    }

    static Stream<Arguments> tinyFamilies() {
        return TinyModels.FAMILIES.stream().flatMap(f -> Stream.of(Arguments.of(f, "F32"), Arguments.of(f, "BF16")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("tinyFamilies")
    void tinyFamilyConvertsRunsAndItsLastLayerGivesTheLogits(String family, String dtype, @TempDir Path tmp) throws IOException {
        Path dir = TinyModels.write(family, tmp.resolve("tiny-" + family + "-" + dtype), 42, dtype);
        int[] prompt = TinyModels.randomTokens(7, 10);
        LlamaCppReference.Result r = LlamaCppReference.run(dir, prompt, 4);
        assertEquals(TinyModels.spec(family).layers(), r.nLayer());
        assertEquals(4, r.generated().length);
        // BF16 weights: ggml rounds the activations to BF16 before each matmul
        checkOutputs(dir, r, dtype.equals("F32") ? 1e-4 : 2e-2);
        assertTrue(r.extra().containsKey("result_norm"), r.extra().keySet().toString());
        assertTrue(r.extra().containsKey("kqv_out-0"), r.extra().keySet().toString());
        assertTrue(r.extra().containsKey("ffn_out-0"), r.extra().keySet().toString());
    }

    /**
     * The converter + llama.cpp compute what transformers computes: every layer's residual stream and the logits of
     * llama.cpp agree with a naive double-precision HF-semantics forward pass (F32 checkpoints; Gemma 3 looser because
     * ggml's GELU goes through an FP16 table). Also covers stories260K (real weights, HF rotate-half q/k layout).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("crossCheckModels")
    void llamaCppAgreesWithNaiveHfSemantics(String family, @TempDir Path tmp) throws IOException {
        Path dir = family.equals("stories260K") ? shared("models/stories260K")
                : TinyModels.write(family, tmp.resolve("tiny-" + family + "-F32"), 42, "F32");
        int[] prompt = family.equals("stories260K") ? new int[] {1, 403, 407, 261, 378, 432, 383, 286, 261, 376} : TinyModels.randomTokens(11, 10);
        LlamaCppReference.Result r = LlamaCppReference.run(dir, prompt, 0);
        NaiveHfForward.Output ref = NaiveHfForward.run(dir, prompt);
        double tol = family.equals("gemma3") ? 2e-3 : 1e-5;
        StringBuilder report = new StringBuilder();
        double worst = 0;
        for (int l = 0; l < r.nLayer(); l++) {
            double rel = relDiff(ref.layerOut()[l], r.layerOut()[l]);
            report.append(String.format(" l%d=%.2e", l, rel));
            worst = Math.max(worst, rel);
        }
        double relLogits = relDiff(ref.logits(), r.logits());
        report.append(String.format(" logits=%.2e", relLogits));
        System.out.println("llama.cpp vs naive HF forward, " + family + ":" + report);
        assertTrue(worst <= tol && relLogits <= tol, family + ": max |diff| / max |value| per layer:" + report);
    }

    static Stream<String> crossCheckModels() {
        return Stream.concat(Stream.of("stories260K"), TinyModels.FAMILIES.stream());
    }

    /** max |a - b| / max(1, max |a|). */
    static double relDiff(double[][] a, float[][] b) {
        double max = 1, diff = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                max = Math.max(max, Math.abs(a[i][j]));
                diff = Math.max(diff, Math.abs(a[i][j] - b[i][j]));
            }
        }
        return diff / max;
    }

    /** Finite outputs, greedy[0] = argmax of the last logits, and final norm + unembedding of l_out[last] = logits. */
    static void checkOutputs(Path dir, LlamaCppReference.Result r, double relTol) throws IOException {
        int n = r.tokens().length;
        assertEquals(n, r.logits().length);
        for (float[] row : r.logits()) for (float v : row) assertTrue(Float.isFinite(v), "non-finite logit");
        for (float[][] layer : r.layerOut()) {
            assertEquals(n, layer.length);
            for (float[] row : layer) for (float v : row) assertTrue(Float.isFinite(v), "non-finite residual");
        }
        if (r.generated().length > 0) assertEquals(argmax(r.logits()[n - 1]), r.generated()[0], "greedy starts at argmax");

        JsonNode root = JSON.readTree(dir.resolve("config.json").toFile());
        JsonNode cfg = root.has("text_config") ? root.get("text_config") : root;
        boolean gemma = root.path("model_type").asText().equals("gemma3");
        double eps = cfg.has("rms_norm_eps") ? cfg.get("rms_norm_eps").asDouble() : 1e-6;
        double softcap = cfg.path("final_logit_softcapping").asDouble(0);
        boolean tied = cfg.has("tie_word_embeddings") ? cfg.get("tie_word_embeddings").asBoolean()
                : root.has("tie_word_embeddings") ? root.get("tie_word_embeddings").asBoolean() : gemma;
        Map<String, SafetensorsIO.Tensor> w = SafetensorsIO.readModel(dir);
        String prefix = gemma ? "language_model.model." : "model.";
        float[] norm = w.get(prefix + "norm.weight").data();
        SafetensorsIO.Tensor unembed = !tied && w.containsKey("lm_head.weight") ? w.get("lm_head.weight") : w.get(prefix + "embed_tokens.weight");
        int hidden = norm.length, vocab = unembed.rows();
        assertEquals(vocab, r.logits()[0].length);

        float[][] last = r.layerOut()[r.nLayer() - 1];
        double maxAbs = 1, maxDiff = 0;
        for (int p = 0; p < n; p++) {
            double ss = 0;
            for (float v : last[p]) ss += (double) v * v;
            double inv = 1.0 / Math.sqrt(ss / hidden + eps);
            double[] x = new double[hidden];
            for (int i = 0; i < hidden; i++) x[i] = last[p][i] * inv * (gemma ? 1.0 + norm[i] : norm[i]);
            float[] e = unembed.data();
            for (int v = 0; v < vocab; v++) {
                double dot = 0;
                for (int i = 0; i < hidden; i++) dot += x[i] * e[v * hidden + i];
                if (softcap > 0) dot = softcap * Math.tanh(dot / softcap);
                maxAbs = Math.max(maxAbs, Math.abs(dot));
                maxDiff = Math.max(maxDiff, Math.abs(dot - r.logits()[p][v]));
            }
        }
        assertTrue(maxDiff <= relTol * maxAbs, "final norm + unembedding of l_out differs from llama.cpp's logits by "
                + maxDiff + " (max |logit| " + maxAbs + ")");
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static Map<String, Integer> vocab(Path dir) throws IOException {
        JsonNode tj = JSON.readTree(dir.resolve("tokenizer.json").toFile());
        Map<String, Integer> out = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = tj.get("model").get("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), e.getValue().asInt());
        }
        return out;
    }

    /** Decodes ids by vocabulary lookup: "\u2581" is a space, control tokens are dropped, byte tokens become chars. */
    static String decode(Map<String, Integer> vocab, int[] prompt, int[] generated) {
        Map<Integer, String> byId = new HashMap<>();
        vocab.forEach((k, v) -> byId.put(v, k));
        StringBuilder sb = new StringBuilder();
        for (int[] part : new int[][] {prompt, generated}) {
            for (int id : part) {
                String t = byId.getOrDefault(id, "");
                if (t.equals("<s>") || t.equals("</s>") || t.equals("<unk>")) continue;
                if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) t = String.valueOf((char) Integer.parseInt(t.substring(3, 5), 16));
                sb.append(t.replace('\u2581', ' '));
            }
        }
        return sb.toString().strip();
    }
}
