package cgap.diagnostics.stats;

import cgap.diagnostics.metrics.Direction;
import cgap.diagnostics.metrics.LayerWindows;
import cgap.diagnostics.metrics.Metrics;
import cgap.diagnostics.metrics.StepMetrics;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pieces composed the way a discovery-curve run uses them: per-step metrics → per-prompt per-layer means
 * (first step skipped) → paired IT − PT gap per layer and its final-half mean with a bootstrap interval.
 * Synthetic "models": layer l's logits are the final logits plus noise shrinking with depth; the IT model's noise
 * shrinks later, so its late KL must be larger (a positive gap in the final half).
 */
class DiscoveryCurvePipelineTest {
    private static final int LAYERS = 10;
    private static final int VOCAB = 64;

    private static float[][] step(SplittableRandom rng, double lateness) {
        float[] fin = new float[VOCAB];
        for (int v = 0; v < VOCAB; v++) {
            fin[v] = (float) (2 * rng.nextGaussian());
        }
        float[][] x = new float[LAYERS][VOCAB];
        for (int l = 0; l < LAYERS; l++) {
            double depth = l / (double) (LAYERS - 1);
            double noise = l == LAYERS - 1 ? 0 : Math.max(0, 1 - Math.pow(depth, lateness)) * 3;
            for (int v = 0; v < VOCAB; v++) {
                x[l][v] = (float) (fin[v] + noise * rng.nextGaussian());
            }
        }
        return x;
    }

    @Test
    void itMinusPtGapPerLayerAndFinalHalf() {
        SplittableRandom rng = new SplittableRandom(2026);
        Map<String, double[]> pt = new LinkedHashMap<>();
        Map<String, double[]> it = new LinkedHashMap<>();
        Metrics metrics = new Metrics();
        for (int p = 0; p < 40; p++) {
            int steps = 2 + rng.nextInt(6);
            double[][] ptSteps = new double[steps][];
            double[][] itSteps = new double[steps][];
            for (int s = 0; s < steps; s++) {
                ptSteps[s] = metrics.step(step(rng, 1.0), null, null).kl(Direction.FORWARD).clone();
                itSteps[s] = metrics.step(step(rng, 4.0), null, null).kl(Direction.FORWARD).clone();
            }
            pt.put("prompt-" + p, Aggregation.promptMeanPerLayer(ptSteps, LAYERS, 1));
            it.put("prompt-" + p, Aggregation.promptMeanPerLayer(itSteps, LAYERS, 1));
        }
        PairedSample curves = PairedSample.of(pt, it);
        ClusterBootstrap boot = new ClusterBootstrap(500, 1L, 0.95);
        Estimate[] gap = boot.pairedGapPerLayer(curves);
        assertEquals(0.0, gap[LAYERS - 1].value(), 0.0); // KL(p_L‖p_L) = 0 on both sides
        int from = LayerWindows.finalHalfStart(LAYERS);
        for (int l = from; l < LAYERS - 1; l++) {
            assertTrue(gap[l].lo() > 0, "layer " + l + " " + gap[l]);
        }
        // final-half mean of the per-layer gap = paired gap of per-prompt final-half means
        Map<String, Double> ptHalf = new LinkedHashMap<>();
        Map<String, Double> itHalf = new LinkedHashMap<>();
        for (String id : pt.keySet()) {
            ptHalf.put(id, LayerWindows.mean(pt.get(id), from, LAYERS - 1));
            itHalf.put(id, LayerWindows.mean(it.get(id), from, LAYERS - 1));
        }
        Estimate half = boot.pairedGap(List.of(PairedSample.ofScalars(ptHalf, itHalf)));
        double meanOfCurve = 0;
        for (int l = from; l < LAYERS; l++) {
            meanOfCurve += gap[l].value();
        }
        meanOfCurve /= LAYERS - from;
        assertEquals(meanOfCurve, half.value(), 1e-12);
        assertTrue(half.lo() > 0 && half.covers(half.value()), half.toString());
        StepMetrics one = Metrics.compute(step(rng, 1.0), null);
        assertTrue(one.lateKl(Direction.FORWARD) >= 0);
    }
}
