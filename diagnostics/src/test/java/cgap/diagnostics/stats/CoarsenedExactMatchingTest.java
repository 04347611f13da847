package cgap.diagnostics.stats;

import cgap.diagnostics.metrics.Metrics;
import cgap.diagnostics.metrics.StepMetrics;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CoarsenedExactMatchingTest {

    private static double[][] col(double... x) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            out[i] = new double[] {x[i]};
        }
        return out;
    }

    /**
     * One covariate, two quantile bins. PT = (1, 1, 1, 2), IT = (1, 1, 2, 2, 2, 2).
     * Pooled sorted: 1 1 1 1 1 2 2 2 2 2; the median (type 7, h = 4.5) is (1 + 2)/2 = 1.5, so the cells are
     * {1}: PT 3, IT 2 and {2}: PT 1, IT 4.
     * n_min = 2 and 1; weights PT: 2/3 (×3), 1/1; IT: 2/2 (×2), 1/4 (×4). Matched per side M = 3.
     * Retention: pooled 2·3/10 = 0.6; PT 3/4; IT 3/6.
     * Outcome PT (0, 0, 0, 10): weighted mean (3·⅔·0 + 1·10)/3 = 10/3.
     * Outcome IT (1, 1, 5, 5, 5, 5): (2·1·1 + 4·¼·5)/3 = 7/3. Matched IT − PT = −1 (unmatched: 22/6 − 10/4 = 7/6).
     * Covariate balance inside each cell is exact (constant covariate) → SMD 0.
     */
    @Test
    void craftedTwoCellExample() {
        Matching m = CoarsenedExactMatching.match(col(1, 1, 1, 2), col(1, 1, 2, 2, 2, 2), 2);
        assertArrayEquals(new double[] {1.5}, m.cutpoints()[0], 0.0);
        assertArrayEquals(new int[] {0, 0, 0, 1}, m.ptCells());
        assertArrayEquals(new int[] {0, 0, 1, 1, 1, 1}, m.itCells());
        assertArrayEquals(new double[] {2.0 / 3, 2.0 / 3, 2.0 / 3, 1}, m.ptWeights(), 1e-15);
        assertArrayEquals(new double[] {1, 1, 0.25, 0.25, 0.25, 0.25}, m.itWeights(), 1e-15);
        assertEquals(3.0, m.matched());
        assertEquals(2, m.cellsUsed());
        assertEquals(0.6, m.retention(), 1e-15);
        assertEquals(0.75, m.retentionPt(), 1e-15);
        assertEquals(0.5, m.retentionIt(), 1e-15);
        double[] yPt = {0, 0, 0, 10};
        double[] yIt = {1, 1, 5, 5, 5, 5};
        assertEquals(10.0 / 3, m.weightedMeanPt(yPt), 1e-12);
        assertEquals(7.0 / 3, m.weightedMeanIt(yIt), 1e-12);
        assertEquals(-1.0, m.difference(yPt, yIt), 1e-12);
        assertEquals(0.0, m.maxSmd(), 1e-12);
        assertTrue(m.passesGates());
        assertThrows(IllegalArgumentException.class, () -> m.difference(yIt, yPt));
    }

    /**
     * One cell (bins = 1): PT covariate (0, 2), IT (1, 3, 5). Weights PT 2/2 = 1, IT 2/3.
     * Weighted means PT 1, IT 3. Pre-match variances: PT ((0−1)² + (2−1)²)/1 = 2; IT (4 + 0 + 4)/2 = 4.
     * SMD = (3 − 1)/√((2 + 4)/2) = 2/√3 = 1.1547 → fails the gate (≥ 0.1). Retention 2·2/5 = 0.8.
     */
    @Test
    void smdWithinACell() {
        Matching m = CoarsenedExactMatching.match(col(0, 2), col(1, 3, 5), 1);
        assertEquals(0, m.cutpoints()[0].length);
        assertEquals(2 / Math.sqrt(3), m.smd()[0], 1e-12);
        assertEquals(2 / Math.sqrt(3), m.maxSmd(), 1e-12);
        assertEquals(0.8, m.retention(), 1e-15);
        assertFalse(m.passesGates());
    }

    /**
     * A cell with only one side gets weight 0 on that side. PT (1, 2, 3, 4), IT (1, 2) with 4 bins: pooled
     * 1 1 2 2 3 4, cut points Q(.25) = 1.25, Q(.5) = 2, Q(.75) = 2.75; PT bins 0 1 3 3, IT bins 0 1.
     * PT steps 3 and 4 are unmatched; retention 2·2/6 = 2/3.
     */
    @Test
    void cellsMissingASideGetWeightZero() {
        Matching m = CoarsenedExactMatching.match(col(1, 2, 3, 4), col(1, 2), 4);
        assertArrayEquals(new double[] {1.25, 2, 2.75}, m.cutpoints()[0], 1e-15);
        assertArrayEquals(new double[] {1, 1, 0, 0}, m.ptWeights(), 0.0);
        assertArrayEquals(new double[] {1, 1}, m.itWeights(), 0.0);
        assertEquals(2.0 / 3, m.retention(), 1e-15);
        assertEquals(0.5, m.retentionPt(), 1e-15);
        assertEquals(1.0, m.retentionIt(), 1e-15);
    }

    /** Cells are triples: codes are bin_0 + 10·bin_1 + 100·bin_2; identical samples match perfectly. */
    @Test
    void identicalSidesAndTripleCells() {
        SplittableRandom rng = new SplittableRandom(4);
        double[][] x = new double[500][];
        for (int i = 0; i < x.length; i++) {
            x[i] = new double[] {rng.nextDouble(), rng.nextGaussian(), rng.nextDouble() * 5};
        }
        Matching m = CoarsenedExactMatching.match(x, x);
        assertEquals(10, m.bins());
        assertEquals(3, m.cutpoints().length);
        assertEquals(9, m.cutpoints()[1].length);
        for (double w : m.ptWeights()) {
            assertEquals(1.0, w);
        }
        assertEquals(1.0, m.retention());
        assertEquals(0.0, m.maxSmd(), 1e-12);
        for (int i = 0; i < x.length; i++) {
            int code = m.ptCells()[i];
            assertEquals(CoarsenedExactMatching.bin(x[i][0], m.cutpoints()[0]), code % 10);
            assertEquals(CoarsenedExactMatching.bin(x[i][1], m.cutpoints()[1]), (code / 10) % 10);
            assertEquals(CoarsenedExactMatching.bin(x[i][2], m.cutpoints()[2]), code / 100);
        }
        // deciles of 1000 pooled values: each bin holds 100 of them
        int[] perBin = new int[10];
        for (double[] r : x) {
            perBin[CoarsenedExactMatching.bin(r[0], m.cutpoints()[0])] += 2;
        }
        for (int c : perBin) {
            assertEquals(100, c);
        }
    }

    /**
     * Confounded outcome: IT steps are more confident (covariate shifted), the outcome depends on the covariate
     * only (y = 2x), with no true IT effect. Unmatched IT − PT is far from 0; matched it is near 0 and the
     * covariate imbalance shrinks.
     */
    @Test
    void matchingRemovesConfounding() {
        SplittableRandom rng = new SplittableRandom(10);
        int n = 4000;
        double[][] pt = new double[n][];
        double[][] it = new double[n][];
        double[] yPt = new double[n];
        double[] yIt = new double[n];
        for (int i = 0; i < n; i++) {
            pt[i] = new double[] {rng.nextGaussian()};
            it[i] = new double[] {rng.nextGaussian() + 0.5};
            yPt[i] = 2 * pt[i][0];
            yIt[i] = 2 * it[i][0];
        }
        Matching m = CoarsenedExactMatching.match(pt, it);
        double raw = Arrays.stream(yIt).average().orElseThrow() - Arrays.stream(yPt).average().orElseThrow();
        assertEquals(1.0, raw, 0.15);
        assertEquals(0.0, m.difference(yPt, yIt), 0.1);
        assertTrue(m.maxSmd() < 0.1, "SMD " + m.maxSmd());
        assertTrue(m.retention() > 0.6 && m.retention() < 0.95, "retention " + m.retention());
    }

    /**
     * The bootstrap version recounts the cells per resample with fixed cut points: with every count 1 it equals
     * {@link Matching#difference}; doubling every prompt leaves it unchanged; dropping a prompt equals matching
     * the remaining steps under the same cut points.
     */
    @Test
    void matchedFamilyResampling() {
        // prompts 0, 1, 2; PT steps of prompts 0,0,1,2 ; IT steps of prompts 0,1,1,2,2,2
        Matching m = CoarsenedExactMatching.match(col(1, 1, 1, 2), col(1, 1, 2, 2, 2, 2), 2);
        double[] yPt = {0, 0, 0, 10};
        double[] yIt = {1, 1, 5, 5, 5, 5};
        MatchedFamily f = MatchedFamily.of(m, 3, new int[] {0, 0, 1, 2}, new int[] {0, 1, 1, 2, 2, 2}, yPt, yIt);
        assertEquals(m.difference(yPt, yIt), f.difference(new int[] {1, 1, 1}), 1e-12);
        assertEquals(m.difference(yPt, yIt), f.difference(new int[] {2, 2, 2}), 1e-12);
        // drop prompt 2: PT steps (1,0),(1,0),(1,0) all cell 0; IT steps (1,1),(1,1),(2,5) → cell 0: PT 3 IT 2; cell 1: PT 0
        // weights PT 2/3 each, IT 1,1; matched diff = (1+1)/2 − 0 = 1
        assertEquals(1.0, f.difference(new int[] {1, 1, 0}), 1e-12);
        // nothing matched → NaN
        assertTrue(Double.isNaN(f.difference(new int[] {0, 0, 0})));
        assertThrows(IllegalArgumentException.class, () -> f.difference(new int[] {1, 1}));
        assertThrows(IllegalArgumentException.class,
                () -> MatchedFamily.of(m, 2, new int[] {0, 0, 1, 2}, new int[] {0, 1, 1, 2, 2, 2}, yPt, yIt));
    }

    /** The full pipeline on synthetic steps: per family match → bootstrap of the equal-weight family mean. */
    @Test
    void matchedGapBootstrap() {
        SplittableRandom rng = new SplittableRandom(21);
        MatchedFamily[] fams = new MatchedFamily[2];
        for (int f = 0; f < 2; f++) {
            int prompts = 60;
            int steps = 20;
            double[][] pt = new double[prompts * steps][];
            double[][] it = new double[prompts * steps][];
            double[] yPt = new double[pt.length];
            double[] yIt = new double[it.length];
            int[] pPt = new int[pt.length];
            int[] pIt = new int[it.length];
            for (int p = 0; p < prompts; p++) {
                double difficulty = rng.nextGaussian();
                for (int s = 0; s < steps; s++) {
                    int i = p * steps + s;
                    pt[i] = new double[] {rng.nextDouble(), rng.nextDouble(), rng.nextDouble()};
                    it[i] = new double[] {rng.nextDouble(), rng.nextDouble(), rng.nextDouble()};
                    yPt[i] = difficulty + pt[i][0] + 0.1 * rng.nextGaussian();
                    yIt[i] = difficulty + it[i][0] + 0.4 + 0.1 * f + 0.1 * rng.nextGaussian();
                    pPt[i] = p;
                    pIt[i] = p;
                }
            }
            Matching m = CoarsenedExactMatching.match(pt, it);
            fams[f] = MatchedFamily.of(m, prompts, pPt, pIt, yPt, yIt);
            assertEquals(m.difference(yPt, yIt), fams[f].difference(filled(prompts)), 1e-9);
        }
        ClusterBootstrap b = new ClusterBootstrap(400, 3L, 0.95);
        Estimate e = b.matchedGap(List.of(fams));
        assertEquals((fams[0].difference(filled(60)) + fams[1].difference(filled(60))) / 2, e.value(), 1e-12);
        assertTrue(e.covers(0.45), e.toString());
        assertTrue(e.width() < 0.2, e.toString());
        assertEquals(e, b.matchedGap(List.of(fams)));
    }

    private static int[] filled(int n) {
        int[] c = new int[n];
        Arrays.fill(c, 1);
        return c;
    }

    @Test
    void endpointCovariatesFromStepMetrics() {
        StepMetrics s = Metrics.compute(new float[][] {{0f, 0f}, {(float) Math.log(3), 0f}}, null);
        double[] c = CoarsenedExactMatching.endpointCovariates(s);
        assertEquals(s.finalEntropy(), c[0]);
        assertEquals(0.75, c[1], 1e-7);
        assertEquals(Math.log(3), c[2], 1e-7);
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> CoarsenedExactMatching.match(new double[0][], col(1)));
        assertThrows(IllegalArgumentException.class, () -> CoarsenedExactMatching.match(col(1), col(Double.NaN)));
        assertThrows(IllegalArgumentException.class, () -> CoarsenedExactMatching.match(col(1), new double[][] {{1, 2}}));
        // an infinite margin can be binned but has no SMD → the gate fails rather than passing silently
        Matching m = CoarsenedExactMatching.match(col(1, Double.POSITIVE_INFINITY), col(1, 2), 2);
        assertTrue(Double.isNaN(m.maxSmd()));
        assertFalse(m.passesGates());
    }
}
