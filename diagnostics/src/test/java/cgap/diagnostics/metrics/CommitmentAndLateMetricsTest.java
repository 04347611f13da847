package cgap.diagnostics.metrics;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Commitment layers, flips, remaining JS and the late windows on crafted layer sequences. */
class CommitmentAndLateMetricsTest {

    /** Two-id logits (a, 0): p = σ(a). KL(p ‖ uniform) = ln 2 − H(p), increasing in a ≥ 0. */
    private static double klToUniform(double a) {
        double p = 1 / (1 + Math.exp(-a));
        double q = 1 - p;
        return Math.log(2) + p * Math.log(p) + q * Math.log(q);
    }

    /** The logit a ≥ 0 with KL(σ(a) ‖ uniform) = target (bisection). */
    private static float logitForKl(double target) {
        double lo = 0;
        double hi = 50;
        for (int i = 0; i < 200; i++) {
            double mid = 0.5 * (lo + hi);
            if (klToUniform(mid) < target) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (float) lo;
    }

    /**
     * Final layer uniform over two ids; the earlier layers' KL to it is
     * l:   0     1     2     3     4     5 (final)
     * KL:  0.01  0.3   0.15  0.07  0.01  0
     * Commitment = earliest l from which every later layer is below τ:
     * τ = 0.05 → 4 (layer 3 at 0.07 fails); τ = 0.1 → 3; τ = 0.2 → 2; τ = 0.5 and 1.0 → 0.
     * Layer 0 is below every τ but layer 1 flips back above: commitment is not the first crossing.
     */
    @Test
    void klCommitmentNeedsEveryLaterLayer() {
        double[] target = {0.01, 0.3, 0.15, 0.07, 0.01};
        float[][] logits = new float[6][];
        for (int l = 0; l < 5; l++) {
            logits[l] = new float[] {logitForKl(target[l]), 0f};
        }
        logits[5] = new float[] {0f, 0f};
        for (StepMetrics m : new StepMetrics[] {Metrics.compute(logits, null), MetricsReference.compute(logits, null)}) {
            for (int l = 0; l < 5; l++) {
                assertEquals(target[l], m.klForward()[l], 1e-6, "layer " + l);
            }
            assertArrayEquals(new int[] {4, 3, 2, 0, 0}, m.klCommitForward());
            assertEquals(4, m.klCommit(Direction.FORWARD, 0));
            assertEquals(0.8, m.klCommitFraction(Direction.FORWARD, 0), 1e-15);
            assertEquals(0.6, m.klCommitFraction(Direction.FORWARD, 1), 1e-15);
            assertEquals(0.0, m.klCommitFraction(Direction.FORWARD, 4), 0.0);
        }
    }

    /**
     * Top-1 sequence over 6 layers (ids of one-hot-ish rows): 0 1 0 1 0 0.
     * Top-1 commitment (argmax p_l = argmax p_L from l on) = 4.
     * Future flips F(l) = #{j ∈ [l, 4] : top1_j ≠ top1_{j+1}}: changes at j = 0,1,2,3 → F = 4 3 2 1 0 0.
     * KL: rows equal to the final are identical arrays → KL exactly 0; the id-1 rows have a large KL,
     * so every KL commitment is 4 as well.
     * Remaining JS R(l) = Σ_{j ≥ l} JS_j, JS_j = J for a change (same pair of rows) and 0 otherwise: 4J 3J 2J J 0 0.
     */
    @Test
    void top1CommitmentFlipsAndRemainingJs() {
        float[] a = {10f, 0f, 0f};
        float[] b = {0f, 10f, 0f};
        float[][] logits = {a, b, a, b, a, a};
        for (StepMetrics m : new StepMetrics[] {Metrics.compute(logits, null), MetricsReference.compute(logits, null)}) {
            assertArrayEquals(new int[] {0, 1, 0, 1, 0, 0}, m.top1());
            assertEquals(4, m.top1Commit());
            assertEquals(0.8, m.top1CommitFraction(), 1e-15);
            assertArrayEquals(new int[] {4, 3, 2, 1, 0, 0}, m.futureFlips());
            assertArrayEquals(new int[] {4, 4, 4, 4, 4}, m.klCommitForward());
            assertArrayEquals(new int[] {4, 4, 4, 4, 4}, m.klCommitReverse());
            double j = m.adjacentJs()[0];
            assertTrue(j > 0.6 && j <= Math.log(2), "JS " + j);
            assertArrayEquals(new double[] {j, j, j, j, 0}, m.adjacentJs(), 1e-15);
            assertArrayEquals(new double[] {4 * j, 3 * j, 2 * j, j, 0, 0}, m.remainingJs(), 1e-12);
        }
    }

    /** A top-1 that differs only at the last layer's predecessor: commitment L−1 (the "else L−1" case too). */
    @Test
    void top1CommitmentAtLastLayer() {
        float[] a = {10f, 0f};
        float[] b = {0f, 10f};
        StepMetrics m = Metrics.compute(new float[][] {a, a, b}, null);
        assertEquals(2, m.top1Commit());
        assertEquals(1.0, m.top1CommitFraction());
    }

    /**
     * Residuals h_l = (cos θ_l, sin θ_l) against h_{L−1} = (1, 0): cosines 0.999 0.5 0.85 0.92 0.97 1.
     * ≥ 0.8 from layer 2 on → 2; ≥ 0.9 → 3; ≥ 0.95 → 4; ≥ 0.99 → only layer 5 = L−1.
     * With a zero final vector every cosine is NaN and the condition never holds → L−1.
     */
    @Test
    void cosineCommitment() {
        double[] cos = {0.999, 0.5, 0.85, 0.92, 0.97, 1.0};
        float[][] resid = new float[6][];
        for (int l = 0; l < 6; l++) {
            resid[l] = new float[] {(float) cos[l], (float) Math.sqrt(1 - cos[l] * cos[l])};
        }
        float[][] logits = new float[6][3];
        for (StepMetrics m : new StepMetrics[] {Metrics.compute(logits, resid), MetricsReference.compute(logits, resid)}) {
            assertArrayEquals(cos, m.cosineToFinal(), 1e-6);
            assertArrayEquals(new int[] {2, 3, 4, 5}, m.cosineCommit());
            assertEquals(0.4, m.cosineCommitFraction(0), 1e-15);
            assertEquals(1.0, m.cosineCommitFraction(3), 0.0);
        }
        resid[5] = new float[] {0f, 0f};
        StepMetrics z = Metrics.compute(logits, resid);
        assertArrayEquals(new int[] {5, 5, 5, 5}, z.cosineCommit());
        assertThrows(IllegalStateException.class, () -> Metrics.compute(logits, null).cosineCommitFraction(0));
    }

    /**
     * L = 10: late window [⌊0.8·10⌋, 9] = [8, 9], final half [5, 9], late pre-final [8, 8].
     * Rows: layer l has KL k_l; late KL = (k_8 + 0)/2, excluding the last = k_8; final half = (k_5+…+k_8+0)/5.
     */
    @Test
    void lateAndFinalHalfWindows() {
        float[][] logits = new float[10][];
        for (int l = 0; l < 9; l++) {
            logits[l] = new float[] {(float) (0.3 * (9 - l)), 0f};
        }
        logits[9] = new float[] {0f, 0f};
        StepMetrics m = Metrics.compute(logits, null);
        double[] k = m.klForward();
        assertEquals(k[8] / 2, m.lateKl(Direction.FORWARD), 1e-15);
        assertEquals(k[8] / 2, m.lateKl(Direction.FORWARD, false), 1e-15);
        assertEquals(k[8], m.lateKl(Direction.FORWARD, true), 1e-15);
        assertEquals(m.klReverse()[8] / 2, m.lateKl(Direction.REVERSE), 1e-15);
        assertEquals((k[5] + k[6] + k[7] + k[8]) / 5, m.finalHalfKl(Direction.FORWARD), 1e-15);
        assertEquals(m.remainingJs()[8], m.lateRemainingJs(), 1e-15);
        assertEquals(m.adjacentJs()[8], m.lateRemainingJs(), 1e-15);
        assertEquals(0.0, m.lateFutureFlips());
        assertEquals("KL(p_l||p_L)", Direction.FORWARD.label());
        assertEquals("KL(p_L||p_l)", Direction.REVERSE.label());
    }

    /** L = 5 (stories260K): ⌊0.8·5⌋ = 4 = L−1, so the late pre-final window is empty → NaN, stated, not 0. */
    @Test
    void emptyWindowsAreNaN() {
        StepMetrics m = Metrics.compute(new float[5][2], null);
        assertTrue(Double.isNaN(m.lateRemainingJs()));
        assertTrue(Double.isNaN(m.lateFutureFlips()));
        assertTrue(Double.isNaN(m.lateKl(Direction.FORWARD, true)));
        assertEquals(0.0, m.lateKl(Direction.FORWARD));
    }

    @Test
    void layerWindowBoundsOfThePaperModels() {
        // ⌊0.8 L⌋ and ⌊L/2⌋ for the SPEC's models and the shared tiny ones
        int[][] cases = {{34, 27, 17}, {32, 25, 16}, {36, 28, 18}, {27, 21, 13}, {5, 4, 2}, {8, 6, 4}, {10, 8, 5}, {1, 0, 0}};
        for (int[] c : cases) {
            assertEquals(c[1], LayerWindows.lateStart(c[0]), "lateStart L=" + c[0]);
            assertEquals(c[2], LayerWindows.finalHalfStart(c[0]), "finalHalfStart L=" + c[0]);
        }
        for (int layers = 1; layers <= 200; layers++) {
            assertEquals((int) Math.floor(new java.math.BigDecimal("0.8").multiply(java.math.BigDecimal.valueOf(layers)).doubleValue()),
                    LayerWindows.lateStart(layers));
        }
        assertEquals(33, LayerWindows.lateEnd(34, false));
        assertEquals(32, LayerWindows.lateEnd(34, true));
        assertEquals(32, LayerWindows.latePreFinalEnd(34));
        assertEquals(2.0, LayerWindows.mean(new double[] {1, 2, 3}, 0, 2));
        assertEquals(2.5, LayerWindows.mean(new int[] {1, 2, 3}, 1, 2));
        assertTrue(Double.isNaN(LayerWindows.mean(new double[] {1, 2, 3}, 2, 1)));
        assertThrows(IllegalArgumentException.class, () -> LayerWindows.mean(new double[] {1}, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> LayerWindows.lateStart(0));
    }
}
