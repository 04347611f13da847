package cgap.engine.lens;

import cgap.engine.Activations;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Point;
import cgap.engine.Session;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.lens.TunedLens.Parameterisation;
import cgap.engine.model.ModelConfig;
import cgap.engine.safetensors.TensorInfo;
import cgap.engine.testing.TinyModels;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The analytic gradients of {@link ProbeLoss} (f32) against central finite differences of an independent f64
 * implementation of the loss, on tiny models: RMSNorm with w (llama) and with (1 + w) (gemma3), without and with a
 * final-logit soft-cap, both parameterisations.
 */
class TunedLensGradientTest {
    @TempDir
    Path tmp;

    /** Σ_rows KL(p ‖ softmax(softcap(W_U · norm(T(h))))) in double. */
    static double lossF64(ModelConfig c, double[] head, double[] gain, double[] w, double[] b, boolean residual, float[] h, int rows, double[][] p) {
        int d = c.hiddenSize(), v = c.vocabSize();
        double total = 0;
        double[] t = new double[d];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < d; i++) {
                double s = b[i] + (residual ? h[r * d + i] : 0);
                for (int j = 0; j < d; j++) s += w[i * d + j] * h[r * d + j];
                t[i] = s;
            }
            double ss = 0;
            for (double x : t) ss += x * x;
            double inv = 1 / Math.sqrt(ss / d + c.normEps());
            double[] z = new double[v];
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < v; k++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += head[k * d + j] * t[j] * inv * gain[j];
                if (c.finalSoftcap() > 0) s = c.finalSoftcap() * Math.tanh(s / c.finalSoftcap());
                z[k] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (double x : z) sum += Math.exp(x - max);
            double lse = max + Math.log(sum);
            for (int k = 0; k < v; k++) if (p[r][k] > 0) total += p[r][k] * (Math.log(p[r][k]) - (z[k] - lse));
        }
        return total;
    }

    @ParameterizedTest
    @CsvSource({"llama,affine,0", "llama,residual,0", "gemma3,affine,0", "gemma3,residual,0", "gemma3,affine,2.5", "llama,residual,2.5"})
    void analyticGradientMatchesFiniteDifferences(String family, String param, double softcap) throws Exception {
        Path dir = TinyModels.write(family, tmp.resolve(family), 11, "F32");
        if (softcap > 0) {
            ObjectMapper om = new ObjectMapper();
            ObjectNode cfg = (ObjectNode) om.readTree(dir.resolve("config.json").toFile());
            ObjectNode target = cfg.has("text_config") ? (ObjectNode) cfg.get("text_config") : cfg;
            target.put("final_logit_softcapping", softcap);
            om.writeValue(dir.resolve("config.json").toFile(), cfg);
        }
        try (CpuBackend be = new CpuBackend(2); Model model = Model.load(dir, be)) {
            ModelConfig c = model.config();
            assertEquals(family.equals("gemma3") ? 1f : 0f, c.normOffset());
            assertEquals(softcap, c.finalSoftcap());
            int d = c.hiddenSize(), v = c.vocabSize(), rows = 6, n = rows + 1;
            Activations a;
            try (Session s = model.newSession()) {
                a = s.forward(TinyModels.randomTokens(5, n), Capture.of(Point.RESID_POST));
            }
            int last = c.numLayers() - 1;
            float[] fin = java.util.Arrays.copyOfRange(a.get(Point.RESID_POST, last), d, n * d);
            LensHead head = new LensHead(model);
            ProbeLoss.Target target = ProbeLoss.target(head, fin, rows, null);
            float[] ref = model.unembed(fin, rows);
            for (int i = 0; i < ref.length; i++) {
                assertEquals(ref[i], target.logits()[i], 1e-5f * (1 + Math.abs(ref[i])), "the trainer's head reproduces Model.unembed at " + i);
            }
            double[][] p = new double[rows][v];
            for (int r = 0; r < rows; r++) {
                double m = Double.NEGATIVE_INFINITY, sum = 0;
                for (int k = 0; k < v; k++) m = Math.max(m, ref[r * v + k]);
                for (int k = 0; k < v; k++) sum += Math.exp(ref[r * v + k] - m);
                for (int k = 0; k < v; k++) p[r][k] = Math.exp(ref[r * v + k] - m) / sum;
            }
            TensorInfo ht = model.tensors().get(model.lmHeadWeight().name());
            double[] headW = new double[v * d];
            for (int i = 0; i < headW.length; i++) headW[i] = ht.getFloat(i);
            TensorInfo nt = model.tensors().get(model.finalNormWeight().name());
            double[] gain = new double[d];
            for (int j = 0; j < d; j++) gain[j] = c.normOffset() + nt.getFloat(j);

            Parameterisation pz = Parameterisation.parse(param);
            TunedLens lens = TunedLens.identity(model, pz);
            Random r = new Random(9);
            ProbeLoss loss = new ProbeLoss(head, rows);
            for (int layer : new int[]{0, last - 1, last}) {
                if (!lens.hasProbe(layer)) {
                    assertEquals(Parameterisation.RESIDUAL, pz);
                    continue;
                }
                float[] w = lens.weight(layer), b = lens.bias(layer);
                for (int i = 0; i < w.length; i++) w[i] += (float) (0.05 * r.nextGaussian());
                for (int i = 0; i < b.length; i++) b[i] += (float) (0.05 * r.nextGaussian());
                float[] h = java.util.Arrays.copyOfRange(a.get(Point.RESID_POST, layer), d, n * d);
                float[] gw = new float[d * d], gb = new float[d];
                double l32 = loss.lossAndGrad(lens, layer, h, target, gw, gb);
                double[] wd = new double[w.length], bd = new double[d];
                for (int i = 0; i < w.length; i++) wd[i] = w[i];
                for (int i = 0; i < d; i++) bd[i] = b[i];
                boolean res = pz == Parameterisation.RESIDUAL;
                double l64 = lossF64(c, headW, gain, wd, bd, res, h, rows, p);
                assertEquals(l64, l32, 1e-4 * Math.max(1, l64), "loss at layer " + layer);
                double gmax = 0;
                for (float g : gw) gmax = Math.max(gmax, Math.abs(g));
                assertTrue(gmax > 1e-4, "a non-trivial gradient at layer " + layer + " (max " + gmax + ")");
                double eps = 1e-3;
                for (int trial = 0; trial < 24; trial++) {
                    boolean bias = trial % 4 == 3;
                    double[] arr = bias ? bd : wd;
                    int idx = r.nextInt(arr.length);
                    double keep = arr[idx];
                    arr[idx] = keep + eps;
                    double up = lossF64(c, headW, gain, wd, bd, res, h, rows, p);
                    arr[idx] = keep - eps;
                    double down = lossF64(c, headW, gain, wd, bd, res, h, rows, p);
                    arr[idx] = keep;
                    double fd = (up - down) / (2 * eps);
                    double an = bias ? gb[idx] : gw[idx];
                    assertEquals(fd, an, 2e-3 * Math.max(Math.abs(fd), gmax) + 1e-6,
                            family + " " + param + " softcap " + softcap + " layer " + layer + (bias ? " bias[" : " weight[") + idx + "]");
                }
            }
        }
    }
}
