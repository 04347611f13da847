package cgap.diagnostics.metrics;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every metric on tiny vocabularies whose values are worked out by hand in the comments. */
class MetricsHandComputedTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    private static final double LN2 = Math.log(2);
    /** Float logits carry ~1e-8 relative error (e.g. ln 3 as a float); everything after is double. */
    private static final double TOL = 1e-7;

    /**
     * Layer 0: logits (0, 0) → p = (1/2, 1/2). Final layer: logits (ln 3, 0) → q = (3/4, 1/4).
     * KL(p‖q) = ½ ln(½ / ¾) + ½ ln(½ / ¼) = ½ ln(2/3) + ½ ln 2 = ½ ln(4/3) = 0.1438410362
     * KL(q‖p) = ¾ ln(¾ / ½) + ¼ ln(¼ / ½) = ¾ ln 1.5 − ¼ ln 2 = 0.3040988 − 0.1732868 = 0.1308120
     * m = (5/8, 3/8): KL(p‖m) = ½ ln(0.8) + ½ ln(4/3) = 0.0322695; KL(q‖m) = ¾ ln 1.2 + ¼ ln(2/3) = 0.0353746
     * JS = ½ (0.0322695 + 0.0353746) = 0.0338221
     * H(q) = −¾ ln ¾ − ¼ ln ¼ = 0.2157616 + 0.3465736 = 0.5623351; top-1 prob ¾; margin ln ¾ − ln ¼ = ln 3.
     */
    private static final float[][] TWO_LAYERS = {{0f, 0f}, {(float) Math.log(3), 0f}};

    @Test
    void twoLayerTwoTokenValues() {
        for (StepMetrics m : new StepMetrics[] {Metrics.compute(TWO_LAYERS, null), MetricsReference.compute(TWO_LAYERS, null)}) {
            assertEquals(2, m.layers());
            assertFalse(m.masked());
            assertEquals(0.5 * Math.log(4.0 / 3), m.klForward()[0], TOL);
            assertEquals(0.1438410362, m.klForward()[0], 1e-7);
            assertEquals(0.75 * Math.log(1.5) - 0.25 * LN2, m.klReverse()[0], TOL);
            assertEquals(0.1308120, m.klReverse()[0], 1e-6);
            double js = 0.5 * (0.5 * Math.log(0.8) + 0.5 * Math.log(4.0 / 3))
                    + 0.5 * (0.75 * Math.log(1.2) + 0.25 * Math.log(2.0 / 3));
            assertEquals(js, m.adjacentJs()[0], TOL);
            assertEquals(0.0338221, m.adjacentJs()[0], 1e-6);
            assertEquals(0.0, m.klForward()[1]);
            assertEquals(0.0, m.klReverse()[1]);
            assertEquals(-0.75 * Math.log(0.75) - 0.25 * Math.log(0.25), m.finalEntropy(), TOL);
            assertEquals(0.75, m.finalTop1Prob(), TOL);
            assertEquals(Math.log(3), m.finalTop1Margin(), TOL);
            assertArrayEquals(new int[] {0, 0}, m.top1()); // layer 0 ties (0, 0): lowest id
            assertEquals(m.adjacentJs()[0], m.remainingJs()[0], 0.0);
            assertEquals(0.0, m.remainingJs()[1]);
            assertArrayEquals(new int[] {0, 0}, m.futureFlips());
            assertFalse(m.hasCosine());
        }
    }

    /**
     * Disjoint supports: p = (1, 0), q = (0, 1) (−∞ logits). The p = 0 terms contribute 0, so
     * KL(p‖q) = 1·(0 − (−∞)) = +∞ and JS = ½·1·ln(1/½) + ½·1·ln(1/½) = ln 2, its maximum.
     */
    @Test
    void disjointSupportsGiveInfiniteKlAndLn2Js() {
        float[][] logits = {{0f, NEG_INF}, {NEG_INF, 0f}};
        for (StepMetrics m : new StepMetrics[] {Metrics.compute(logits, null), MetricsReference.compute(logits, null)}) {
            assertEquals(Double.POSITIVE_INFINITY, m.klForward()[0]);
            assertEquals(Double.POSITIVE_INFINITY, m.klReverse()[0]);
            assertEquals(LN2, m.adjacentJs()[0], 1e-15);
            assertEquals(0.0, m.finalEntropy(), 0.0);
            assertEquals(1.0, m.finalTop1Prob(), 0.0);
            assertEquals(Double.POSITIVE_INFINITY, m.finalTop1Margin());
            assertArrayEquals(new int[] {0, 1}, m.top1());
            assertArrayEquals(new int[] {1, 0}, m.futureFlips());
        }
    }

    /**
     * A zero-probability id of p must contribute 0, not NaN: p = (1/2, 1/2, 0) (third logit −∞),
     * q = (1/4, 1/4, 1/2) (logits 0, 0, ln 2). KL(p‖q) = 2·½ ln(½/¼) = ln 2;
     * KL(q‖p) = +∞ (q puts mass where p has none).
     * m = (3/8, 3/8, 1/4): JS = ½[2·½ ln(4/3)] + ½[2·¼ ln(2/3) + ½ ln 2] = ½ ln(4/3) + ¼ ln(2/3) + ¼ ln 2
     */
    @Test
    void zeroProbabilityTermsContributeZero() {
        float[][] logits = {{0f, 0f, NEG_INF}, {0f, 0f, (float) LN2}};
        for (StepMetrics m : new StepMetrics[] {Metrics.compute(logits, null), MetricsReference.compute(logits, null)}) {
            assertEquals(LN2, m.klForward()[0], TOL);
            assertEquals(Double.POSITIVE_INFINITY, m.klReverse()[0]);
            assertEquals(0.5 * Math.log(4.0 / 3) + 0.25 * Math.log(2.0 / 3) + 0.25 * LN2, m.adjacentJs()[0], TOL);
        }
    }

    /**
     * Masking: ids set to −∞ before the softmax. Layer 0 logits (5, 0, 0), final (0, ln 3, 0), id 0 masked →
     * p = (·, ½, ½), q = (·, ¾, ¼): the first test's numbers with the ids shifted; top-1 of layer 0 is no
     * longer id 0 (masked) but id 1 (the lowest of the tie).
     */
    @Test
    void maskRemovesIdsBeforeSoftmax() {
        float[][] logits = {{5f, 0f, 0f}, {0f, (float) Math.log(3), 0f}};
        boolean[] mask = {true, false, false};
        for (StepMetrics m : new StepMetrics[] {Metrics.compute(logits, null, mask), MetricsReference.compute(logits, null, mask)}) {
            assertTrue(m.masked());
            assertEquals(0.5 * Math.log(4.0 / 3), m.klForward()[0], TOL);
            assertEquals(0.75 * Math.log(1.5) - 0.25 * LN2, m.klReverse()[0], TOL);
            assertArrayEquals(new int[] {1, 1}, m.top1());
            assertEquals(0.75, m.finalTop1Prob(), TOL);
            assertEquals(Math.log(3), m.finalTop1Margin(), TOL);
        }
        StepMetrics unmasked = Metrics.compute(logits, null);
        assertFalse(unmasked.masked());
        assertEquals(0, unmasked.top1()[0]);
    }

    /** KL(p‖p) = 0 exactly for identical rows, and ≈ 0 for rows differing by a constant (softmax is shift-invariant). */
    @Test
    void klOfADistributionWithItselfIsZero() {
        float[] row = {1.5f, -2f, 0.25f, 3f, 3f};
        float[] shifted = new float[row.length];
        for (int i = 0; i < row.length; i++) {
            shifted[i] = row[i] + 7f;
        }
        StepMetrics same = Metrics.compute(new float[][] {row.clone(), row.clone(), row}, null);
        assertArrayEquals(new double[] {0, 0, 0}, same.klForward(), 0.0);
        assertArrayEquals(new double[] {0, 0, 0}, same.klReverse(), 0.0);
        assertArrayEquals(new double[] {0, 0}, same.adjacentJs(), 0.0);
        StepMetrics shift = Metrics.compute(new float[][] {shifted, row}, null);
        assertEquals(0.0, shift.klForward()[0], 1e-12);
        assertEquals(0.0, shift.adjacentJs()[0], 1e-12);
        // ties for first → margin exactly 0, top-1 the lowest id
        assertEquals(0.0, same.finalTop1Margin(), 0.0);
        assertEquals(3, same.finalTop1());
    }

    /** One layer: the final distribution alone; every divergence empty or zero, commitment 0 = L−1. */
    @Test
    void singleLayer() {
        StepMetrics m = Metrics.compute(new float[][] {{0f, 0f, 0f, 0f}}, new float[][] {{1f, 2f}});
        assertEquals(1, m.layers());
        assertEquals(0, m.adjacentJs().length);
        assertEquals(LN2 * 2, m.finalEntropy(), 1e-12);
        assertEquals(0.25, m.finalTop1Prob(), 1e-12);
        assertEquals(0, m.top1Commit());
        assertEquals(0.0, m.top1CommitFraction());
        assertEquals(1.0, m.cosineToFinal()[0], 1e-12);
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(new float[][] {{0f, Float.NaN}}, null));
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(new float[][] {{0f, Float.POSITIVE_INFINITY}}, null));
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(new float[][] {{0f, 1f}, {0f}}, null));
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(new float[][] {{0f, 1f}}, null, new boolean[] {true, true}));
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(new float[][] {{0f, 1f}}, null, new boolean[] {true}));
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(new float[][] {{NEG_INF, NEG_INF}}, null));
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(new float[][] {{0f, 1f}}, new float[][] {{1f}, {1f}}));
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(new float[0][], null));
        assertThrows(IllegalArgumentException.class, () -> MetricsReference.compute(new float[][] {{0f, Float.NaN}}, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Metrics.compute(new float[][] {{0f, 1f}, {Float.NaN, 1f}}, null));
        assertTrue(e.getMessage().contains("layer 1"), e.getMessage());
    }

    /** Cosine of known angles: h_l = (cos θ, sin θ), h_{L−1} = (2, 0). */
    @Test
    void cosineToFinal() {
        float[][] logits = new float[3][2];
        float[][] resid = {{0f, 3f}, {1f, 1f}, {2f, 0f}};
        StepMetrics m = Metrics.compute(logits, resid);
        assertEquals(0.0, m.cosineToFinal()[0], 1e-12);
        assertEquals(Math.sqrt(0.5), m.cosineToFinal()[1], 1e-7);
        assertEquals(1.0, m.cosineToFinal()[2], 1e-12);
        StepMetrics zero = Metrics.compute(logits, new float[][] {{0f, 0f}, {1f, 1f}, {2f, 0f}});
        assertTrue(Double.isNaN(zero.cosineToFinal()[0]));
    }

    /**
     * Separate final distribution (tuned lens with a probe on the last block): readout rows p_0 = p_1 = (½, ½),
     * the model's own output q = (¼, ¾) (logits 0, ln 3). KL(p_l‖q) = ½ ln(4/3) = 0.1438 at both layers — also at
     * L−1, which is no longer 0. Adjacent JS between the readouts = 0. Readout top-1 = 0 (tie), argmax q = 1, so
     * top-1 commitment fails at L−1 → L−1 = 1. KL commitment: τ = 0.05, 0.1 fail at L−1 → 1; τ ≥ 0.2 → 0.
     * Endpoint covariates come from q: top-1 prob ¾, margin ln 3.
     */
    @Test
    void separateFinalDistribution() {
        float[][] readouts = {{0f, 0f}, {0f, 0f}};
        float[] fin = {0f, (float) Math.log(3)};
        for (StepMetrics m : new StepMetrics[] {Metrics.compute(readouts, fin, null, null),
                MetricsReference.compute(readouts, fin, null, null)}) {
            assertTrue(m.separateFinal());
            assertEquals(0.5 * Math.log(4.0 / 3), m.klForward()[0], TOL);
            assertEquals(0.5 * Math.log(4.0 / 3), m.klForward()[1], TOL);
            assertEquals(0.75 * Math.log(1.5) - 0.25 * LN2, m.klReverse()[1], TOL);
            assertEquals(0.0, m.adjacentJs()[0], 0.0);
            assertArrayEquals(new int[] {0, 0}, m.top1());
            assertEquals(1, m.finalTop1());
            assertEquals(1, m.top1Commit());
            assertArrayEquals(new int[] {1, 1, 0, 0, 0}, m.klCommitForward());
            assertEquals(0.75, m.finalTop1Prob(), TOL);
            assertEquals(Math.log(3), m.finalTop1Margin(), TOL);
            assertEquals(0.5 * Math.log(4.0 / 3) / 1, m.lateKl(Direction.FORWARD), TOL); // window [1, 1]
        }
        StepMetrics same = Metrics.compute(readouts, null, null, null);
        assertFalse(same.separateFinal());
        assertEquals(0, same.finalTop1());
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(readouts, new float[3], null, null));
        assertThrows(IllegalArgumentException.class, () -> Metrics.compute(readouts, new float[] {0f, Float.NaN}, null, null));
    }
}
