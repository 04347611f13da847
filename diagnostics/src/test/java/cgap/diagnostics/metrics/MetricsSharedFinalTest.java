package cgap.diagnostics.metrics;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Metrics} computes p_L once and reuses it: without separate final logits, row L−1's probabilities are not
 * exponentiated a second time. Every figure must be the same bits as when p_L and row L−1 are computed separately
 * (final logits given as a copy of row L−1), not just close to them: the outputs are compared bit for bit, on shapes
 * with a vector part and a scalar tail, with masks, −∞ logits and residuals, on one reused and on fresh instances.
 * Likewise a second readout of a step ({@link Metrics#stepAgainst}: the tuned lens after the raw lens) takes p_L, its
 * figures and the cosines from the first readout: the same bits as a step against the first's final logits.
 */
class MetricsSharedFinalTest {

    static float[][] randomLogits(SplittableRandom rng, int layers, int vocab, double scale, double negInfRate) {
        float[][] x = new float[layers][vocab];
        for (int l = 0; l < layers; l++) {
            for (int v = 0; v < vocab; v++) {
                x[l][v] = rng.nextDouble() < negInfRate ? Float.NEGATIVE_INFINITY : (float) (scale * rng.nextGaussian());
            }
            x[l][rng.nextInt(vocab)] = (float) (3 * scale); // at least one finite id per row
        }
        return x;
    }

    /** Every field of two steps, bit for bit (raw bits: 0.0 and −0.0 differ, NaN must be the same NaN). */
    static void assertSameBits(StepMetrics want, StepMetrics got, boolean sameFinalFlag, String what) {
        assertEquals(want.layers(), got.layers(), what);
        assertEquals(want.masked(), got.masked(), what);
        if (sameFinalFlag) assertEquals(want.separateFinal(), got.separateFinal(), what);
        assertBits(want.klForward(), got.klForward(), what + " klForward");
        assertBits(want.klReverse(), got.klReverse(), what + " klReverse");
        assertBits(want.adjacentJs(), got.adjacentJs(), what + " adjacentJs");
        assertBits(want.remainingJs(), got.remainingJs(), what + " remainingJs");
        assertBits(new double[] {want.finalEntropy(), want.finalTop1Prob(), want.finalTop1Margin()},
                new double[] {got.finalEntropy(), got.finalTop1Prob(), got.finalTop1Margin()}, what + " endpoint");
        assertEquals(want.finalTop1(), got.finalTop1(), what + " finalTop1");
        assertArrayEquals(want.top1(), got.top1(), what + " top1");
        assertArrayEquals(want.klCommitForward(), got.klCommitForward(), what + " commitF");
        assertArrayEquals(want.klCommitReverse(), got.klCommitReverse(), what + " commitR");
        assertEquals(want.top1Commit(), got.top1Commit(), what + " top1Commit");
        assertBits(want.cosineToFinal(), got.cosineToFinal(), what + " cosine");
        assertArrayEquals(want.cosineCommit(), got.cosineCommit(), what + " cosineCommit");
        assertArrayEquals(want.futureFlips(), got.futureFlips(), what + " flips");
    }

    static void assertBits(double[] want, double[] got, String what) {
        if (want == null || got == null) {
            assertEquals(want == null, got == null, what + ": present in one only");
            return;
        }
        assertEquals(want.length, got.length, what + " length");
        for (int i = 0; i < want.length; i++) {
            assertEquals(Double.doubleToRawLongBits(want[i]), Double.doubleToRawLongBits(got[i]),
                    what + "[" + i + "]: " + want[i] + " vs " + got[i]);
        }
    }

    @Test
    void rowLMinus1IsTheFinalDistributionBitForBit() {
        SplittableRandom rng = new SplittableRandom(20260511L);
        int[][] shapes = {{1, 1}, {1, 7}, {2, 3}, {3, 17}, {5, 512}, {8, 1003}, {34, 2051}};
        Metrics reused = new Metrics();
        int cases = 0;
        for (int[] s : shapes) {
            for (int variant = 0; variant < 4; variant++) {
                int layers = s[0], vocab = s[1];
                double scale = new double[] {0.1, 1, 5, 40}[rng.nextInt(4)];
                float[][] logits = randomLogits(rng, layers, vocab, scale, variant == 1 ? 0.2 : 0.0);
                boolean[] mask = null;
                if (variant >= 2 && vocab > 1) {
                    mask = new boolean[vocab];
                    for (int v = 1; v < vocab; v++) mask[v] = rng.nextDouble() < 0.3;
                    for (float[] row : logits) row[0] = (float) scale; // id 0 unmasked and finite in every row
                }
                float[][] resid = null;
                if (variant != 0) {
                    resid = new float[layers][19];
                    for (int l = 0; l < layers; l++) for (int i = 0; i < 19; i++) resid[l][i] = (float) (rng.nextGaussian() + 2.0 * l / layers);
                }
                String what = "L=" + layers + " V=" + vocab + " variant=" + variant;
                // p_L and row L−1 exponentiated separately
                StepMetrics separate = Metrics.compute(logits, logits[layers - 1].clone(), resid, mask);
                StepMetrics shared = Metrics.compute(logits, resid, mask);
                assertEquals(true, separate.separateFinal());
                assertEquals(false, shared.separateFinal());
                assertSameBits(separate, shared, false, what);
                assertSameBits(shared, reused.step(logits, resid, mask), true, what + " (reused instance)");
                assertSameBits(separate, reused.step(logits, logits[layers - 1].clone(), resid, mask), true, what + " (reused, separate)");
                cases++;
            }
        }
        assertEquals(shapes.length * 4, cases);
    }

    @Test
    void secondReadoutEqualsAStepAgainstTheFirstsFinalLogits() {
        SplittableRandom rng = new SplittableRandom(20260512L);
        int[][] shapes = {{1, 1}, {1, 7}, {2, 3}, {3, 17}, {5, 512}, {8, 1003}, {34, 2051}};
        Metrics first = new Metrics(), second = new Metrics();
        int cases = 0;
        for (int[] s : shapes) {
            for (int variant = 0; variant < 6; variant++) {
                int layers = s[0], vocab = s[1];
                double scale = new double[] {0.1, 1, 5, 40}[rng.nextInt(4)];
                float[][] raw = randomLogits(rng, layers, vocab, scale, variant == 1 ? 0.2 : 0.0);
                float[][] tuned = randomLogits(rng, layers, vocab, scale, variant == 1 ? 0.1 : 0.0);
                boolean[] mask = null;
                if (variant >= 2 && vocab > 1) {
                    mask = new boolean[vocab];
                    for (int v = 1; v < vocab; v++) mask[v] = rng.nextDouble() < 0.3;
                    for (float[] row : raw) row[0] = (float) scale; // id 0 unmasked and finite in every row
                    for (float[] row : tuned) row[0] = (float) scale;
                }
                float[][] resid = null;
                if (variant != 0) {
                    resid = new float[layers][19];
                    for (int l = 0; l < layers; l++) for (int i = 0; i < 19; i++) resid[l][i] = (float) (rng.nextGaussian() + 2.0 * l / layers);
                }
                // variant 5: the first readout itself against separate final logits
                float[] fin = variant == 5 ? randomLogits(rng, 1, vocab, scale, 0.0)[0] : null;
                if (fin != null && mask != null) fin[0] = (float) scale;
                float[] finalOfFirst = fin != null ? fin : raw[layers - 1];
                String what = "L=" + layers + " V=" + vocab + " variant=" + variant;

                StepMetrics want = Metrics.compute(tuned, finalOfFirst.clone(), resid, mask);
                StepMetrics firstStep = first.step(raw, fin, resid, mask);
                StepMetrics got = second.stepAgainst(tuned, first);
                assertEquals(true, got.separateFinal(), what);
                assertSameBits(want, got, true, what);
                if (resid != null) assertNotSame(firstStep.cosineToFinal(), got.cosineToFinal(), what + ": each step owns its arrays");
                // the first readout is unchanged by the second, and an instance may read against itself
                assertSameBits(Metrics.compute(raw, fin, resid, mask), firstStep, true, what + " (first readout)");
                assertSameBits(want, first.stepAgainst(tuned, first), true, what + " (against itself)");
                assertSameBits(want, second.stepAgainst(tuned, first), true, what + " (again)");
                cases++;
            }
        }
        assertEquals(shapes.length * 6, cases);
    }

    @Test
    void secondReadoutNeedsAFirstStepOfTheSameShape() {
        float[][] a = {{0f, 1f, 2f}, {2f, 1f, 0f}};
        Metrics first = new Metrics();
        assertThrows(IllegalStateException.class, () -> new Metrics().stepAgainst(a, first));
        first.step(a, null, null);
        assertThrows(IllegalArgumentException.class, () -> new Metrics().stepAgainst(new float[][] {{0f, 1f}, {1f, 0f}}, first));
        first.step(a, new float[][] {{1f}, {2f}}, null);
        assertThrows(IllegalArgumentException.class, () -> new Metrics().stepAgainst(new float[][] {{0f, 1f, 2f}}, first));
    }
}
