package cgap.diagnostics.metrics;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The streaming implementation against the plain reference on random logits of many shapes and scales, with
 * and without masks, −∞ logits and residuals; plus the invariants KL ≥ 0, JS ∈ [0, ln 2], JS symmetric.
 */
class MetricsDifferentialTest {
    private static final double LN2 = Math.log(2);

    private static float[][] randomLogits(SplittableRandom rng, int layers, int vocab, double scale, double negInfRate) {
        float[][] x = new float[layers][vocab];
        for (int l = 0; l < layers; l++) {
            for (int v = 0; v < vocab; v++) {
                x[l][v] = rng.nextDouble() < negInfRate ? Float.NEGATIVE_INFINITY
                        : (float) (scale * (rng.nextDouble() * 2 - 1) + 3 * scale * Math.sin(l + v));
            }
            x[l][rng.nextInt(vocab)] = (float) (scale * 2); // at least one finite id per row
        }
        return x;
    }

    private static void assertClose(double[] ref, double[] got, String what) {
        assertEquals(ref.length, got.length, what);
        for (int i = 0; i < ref.length; i++) {
            if (Double.isInfinite(ref[i]) || Double.isNaN(ref[i])) {
                assertEquals(ref[i], got[i], what + "[" + i + "]");
            } else {
                assertEquals(ref[i], got[i], 1e-10 * Math.max(1, Math.abs(ref[i])), what + "[" + i + "]");
            }
        }
    }

    @Test
    void streamingMatchesReference() {
        SplittableRandom rng = new SplittableRandom(20260507L);
        int[][] shapes = {{1, 1}, {1, 7}, {2, 2}, {3, 5}, {5, 512}, {8, 1000}, {12, 97}, {34, 64}};
        double[] scales = {0.1, 1, 5, 40};
        int cases = 0;
        Metrics reused = new Metrics();
        for (int[] s : shapes) {
            for (double scale : scales) {
                for (int variant = 0; variant < 4; variant++) {
                    int layers = s[0];
                    int vocab = s[1];
                    float[][] logits = randomLogits(rng, layers, vocab, scale, variant == 1 ? 0.2 : 0.0);
                    boolean[] mask = null;
                    if (variant >= 2 && vocab > 1) {
                        mask = new boolean[vocab];
                        for (int v = 0; v < vocab; v++) {
                            mask[v] = rng.nextDouble() < 0.3;
                        }
                        mask[rng.nextInt(vocab)] = false;
                        // keep one unmasked finite id per row
                        int keep = -1;
                        for (int v = 0; v < vocab && keep < 0; v++) {
                            if (!mask[v]) {
                                keep = v;
                            }
                        }
                        for (float[] row : logits) {
                            row[keep] = (float) scale;
                        }
                    }
                    float[][] resid = null;
                    if (variant != 0) {
                        resid = new float[layers][16];
                        for (int l = 0; l < layers; l++) {
                            for (int i = 0; i < 16; i++) {
                                resid[l][i] = (float) (rng.nextGaussian() + 2.0 * l / layers);
                            }
                        }
                    }
                    // every other case reads against a separate final distribution (tuned-lens layout)
                    float[] fin = null;
                    if ((cases & 2) != 0) {
                        fin = randomLogits(rng, 1, vocab, scale, 0.0)[0];
                        if (mask != null) {
                            for (int v = 0; v < vocab; v++) {
                                if (!mask[v]) {
                                    fin[v] = (float) scale; // the first unmasked id stays finite
                                    break;
                                }
                            }
                        }
                    }
                    StepMetrics ref = MetricsReference.compute(logits, fin, resid, mask);
                    StepMetrics got = variant % 2 == 0 ? Metrics.compute(logits, fin, resid, mask)
                            : reused.step(logits, fin, resid, mask);
                    String what = "L=" + layers + " V=" + vocab + " scale=" + scale + " variant=" + variant;
                    assertClose(ref.klForward(), got.klForward(), what + " klForward");
                    assertClose(ref.klReverse(), got.klReverse(), what + " klReverse");
                    assertClose(ref.adjacentJs(), got.adjacentJs(), what + " adjacentJs");
                    assertClose(ref.remainingJs(), got.remainingJs(), what + " remainingJs");
                    assertClose(new double[] {ref.finalEntropy(), ref.finalTop1Prob(), ref.finalTop1Margin()},
                            new double[] {got.finalEntropy(), got.finalTop1Prob(), got.finalTop1Margin()}, what + " endpoint");
                    assertArrayEquals(ref.top1(), got.top1(), what + " top1");
                    assertArrayEquals(ref.futureFlips(), got.futureFlips(), what + " flips");
                    assertArrayEquals(ref.klCommitForward(), got.klCommitForward(), what + " commitF");
                    assertArrayEquals(ref.klCommitReverse(), got.klCommitReverse(), what + " commitR");
                    assertEquals(ref.top1Commit(), got.top1Commit(), what + " top1Commit");
                    assertEquals(ref.finalTop1(), got.finalTop1(), what + " finalTop1");
                    assertEquals(fin != null, got.separateFinal(), what);
                    assertEquals(ref.masked(), got.masked(), what);
                    if (resid != null) {
                        assertClose(ref.cosineToFinal(), got.cosineToFinal(), what + " cosine");
                        assertArrayEquals(ref.cosineCommit(), got.cosineCommit(), what + " cosineCommit");
                    }
                    if (fin == null) {
                        assertEquals(0.0, got.klForward()[layers - 1]);
                        assertEquals(0.0, got.klReverse()[layers - 1]);
                    }
                    cases++;
                }
            }
        }
        assertEquals(shapes.length * scales.length * 4, cases);
    }

    @Test
    void invariantsOnRandomLogits() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            int vocab = 1 + rng.nextInt(300);
            float[][] logits = randomLogits(rng, 2, vocab, 0.5 + rng.nextDouble() * 20, trial % 3 == 0 ? 0.1 : 0);
            StepMetrics ab = Metrics.compute(logits, null);
            StepMetrics ba = Metrics.compute(new float[][] {logits[1], logits[0]}, null);
            assertTrue(ab.klForward()[0] >= 0 && ab.klReverse()[0] >= 0);
            double js = ab.adjacentJs()[0];
            assertTrue(js >= 0 && js <= LN2 + 1e-12, "JS " + js);
            assertEquals(js, ba.adjacentJs()[0], 1e-12 * Math.max(1, js), "JS symmetric");
            // the two KL directions swap when the rows swap
            assertEquals(ab.klForward()[0], ba.klReverse()[0], 1e-9 * Math.max(1, ab.klForward()[0]));
            assertTrue(ab.finalEntropy() >= -1e-15 && ab.finalEntropy() <= Math.log(vocab) + 1e-9);
            assertTrue(ab.finalTop1Prob() >= 1.0 / vocab - 1e-12 && ab.finalTop1Prob() <= 1 + 1e-12);
            assertTrue(ab.finalTop1Margin() >= 0);
            // KL(p‖m) ≤ ½ KL(p‖p) + ½ KL(p‖q) by convexity in the second argument, so JS ≤ ¼ (KL(p‖q) + KL(q‖p))
            assertTrue(js <= 0.25 * (ab.klForward()[0] + ab.klReverse()[0]) + 1e-12, "JS convexity bound");
        }
    }

    /** The same-history cross-model JS (SPEC §5.3) against the reference, plus symmetry and the hand value. */
    @Test
    void sameLayerJs() {
        SplittableRandom rng = new SplittableRandom(99);
        for (int trial = 0; trial < 20; trial++) {
            int layers = 1 + rng.nextInt(10);
            int vocab = 1 + rng.nextInt(200);
            float[][] a = randomLogits(rng, layers, vocab, 3, 0.05);
            float[][] b = randomLogits(rng, layers, vocab, 3, 0.05);
            double[] got = Metrics.sameLayerJs(a, b, null);
            assertClose(MetricsReference.sameLayerJs(a, b, null), got, "trial " + trial);
            assertClose(got, Metrics.sameLayerJs(b, a, null), "symmetry " + trial);
            for (double js : got) {
                assertTrue(js >= 0 && js <= LN2 + 1e-12);
            }
        }
        // p = (1/2, 1/2), q = (3/4, 1/4): JS = 0.0338221 (worked out in MetricsHandComputedTest); same rows → 0
        float[][] a = {{0f, 0f}, {1f, 2f}};
        float[][] b = {{(float) Math.log(3), 0f}, {1f, 2f}};
        double[] js = Metrics.sameLayerJs(a, b, null);
        assertEquals(0.0338221, js[0], 1e-6);
        assertEquals(0.0, js[1], 0.0);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Metrics.sameLayerJs(a, new float[][] {{0f, 0f}}, null));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Metrics.sameLayerJs(a, new float[][] {{0f, 0f, 0f}, {0f, 0f, 0f}}, null));
    }
}
