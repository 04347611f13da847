package cgap.engine.lens;

import cgap.engine.safetensors.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The lens kernels against their plain references. */
class LensMathTest {
    static MemorySegment weights(Arena arena, DType dt, int n, int k, Random r) {
        return cgap.engine.testing.TinyModels.randomWeights(arena, dt, n, k, r);
    }

    @Test
    void gradHiddenEqualsReferenceBitForBit() {
        Random r = new Random(2);
        int[][] shapes = {{1, 1, 1}, {1, 16, 5}, {3, 300, 17}, {4, 128, 64}, {5, 257, 64}, {9, 1000, 40}, {13, 129, 33}};
        try (Arena arena = Arena.ofConfined()) {
            for (DType dt : new DType[]{DType.F32, DType.BF16}) {
                for (int[] s : shapes) {
                    int m = s[0], vocab = s[1], d = s[2];
                    float[] g = new float[m * vocab];
                    for (int i = 0; i < g.length; i++) g[i] = (float) r.nextGaussian();
                    MemorySegment w = weights(arena, dt, vocab, d, r);
                    float[] ref = new float[m * d], out = new float[m * d];
                    java.util.Arrays.fill(out, Float.NaN); // the kernel must overwrite, not accumulate into, out
                    LensMath.gradHiddenReference(g, m, vocab, w, dt, d, ref);
                    LensMath.gradHidden(g, m, vocab, w, dt, d, out, LensMath.gradHiddenScratch(d));
                    for (int i = 0; i < ref.length; i++) {
                        assertEquals(Float.floatToRawIntBits(ref[i]), Float.floatToRawIntBits(out[i]),
                                dt + " rows=" + m + " vocab=" + vocab + " d=" + d + " at " + i + ": " + ref[i] + " vs " + out[i]);
                    }
                    // and it is the product it claims to be (double check of the reference)
                    double dd = 0;
                    for (int v = 0; v < vocab; v++) dd += (double) g[v] * LensMath.weight(w, dt, (long) v * d);
                    assertEquals(dd, ref[0], 1e-4 * vocab);
                }
            }
        }
    }

    @Test
    void logitsEqualReferenceBitForBitWhateverTheSplit() {
        Random r = new Random(5);
        int[][] shapes = {{1, 1, 1}, {1, 16, 5}, {3, 300, 17}, {4, 128, 64}, {5, 257, 64}, {9, 1000, 40}, {13, 129, 33}};
        try (Arena arena = Arena.ofConfined()) {
            for (DType dt : new DType[]{DType.F32, DType.BF16}) {
                for (int[] s : shapes) {
                    int m = s[0], vocab = s[1], d = s[2];
                    float[] y = new float[m * d];
                    for (int i = 0; i < y.length; i++) y[i] = (float) r.nextGaussian();
                    MemorySegment w = weights(arena, dt, vocab, d, r);
                    float[] ref = new float[m * vocab], whole = new float[m * vocab], split = new float[m * vocab];
                    LensMath.logitsReference(y, m, d, w, dt, vocab, ref);
                    float[] wt = LensMath.transposeHead(w, dt, vocab, d);
                    LensMath.logits(y, m, d, wt, vocab, whole, 0, vocab);
                    int cut = Math.min(vocab, 7);
                    LensMath.logits(y, m, d, wt, vocab, split, cut, vocab);
                    LensMath.logits(y, m, d, wt, vocab, split, 0, cut);
                    for (int i = 0; i < ref.length; i++) {
                        String at = dt + " rows=" + m + " vocab=" + vocab + " d=" + d + " at " + i;
                        assertEquals(Float.floatToRawIntBits(ref[i]), Float.floatToRawIntBits(whole[i]), at);
                        assertEquals(Float.floatToRawIntBits(ref[i]), Float.floatToRawIntBits(split[i]), at + " (split)");
                    }
                    double dd = 0;
                    for (int j = 0; j < d; j++) dd += (double) y[j] * LensMath.weight(w, dt, j);
                    assertEquals(dd, ref[0], 1e-4 * d);
                }
            }
        }
        float[] a = {3, -1, 7.5f, 2, Float.NEGATIVE_INFINITY, 9, 1, 0, -4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 12, 1};
        assertEquals(12f, LensMath.max(a, 0, a.length));
        assertEquals(7.5f, LensMath.max(a, 0, 4));
    }

    @Test
    void affineIdentityIsExactAndGeneralAffineMatchesNaive() {
        Random r = new Random(3);
        for (int d : new int[]{5, 16, 64, 70}) {
            int rows = 3;
            float[] h = new float[rows * d];
            for (int i = 0; i < h.length; i++) h[i] = (float) (r.nextGaussian() * 10);
            float[] eye = new float[d * d];
            for (int i = 0; i < d; i++) eye[i * d + i] = 1f;
            float[] out = new float[rows * d];
            LensMath.affine(h, rows, d, eye, new float[d], false, out);
            assertArrayEquals(h, out);
            LensMath.affine(h, rows, d, new float[d * d], new float[d], true, out);
            assertArrayEquals(h, out);
            float[] w = new float[d * d], b = new float[d];
            for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
            for (int i = 0; i < d; i++) b[i] = (float) r.nextGaussian();
            LensMath.affine(h, rows, d, w, b, true, out);
            for (int q = 0; q < rows; q++) {
                for (int i = 0; i < d; i++) {
                    double s = b[i] + h[q * d + i];
                    for (int j = 0; j < d; j++) s += (double) w[i * d + j] * h[q * d + j];
                    assertEquals(s, out[q * d + i], 1e-4 * d * 10);
                }
            }
            float[] gt = new float[rows * d], g = new float[d * d], gb = new float[d];
            for (int i = 0; i < gt.length; i++) gt[i] = (float) r.nextGaussian();
            LensMath.accumulateOuter(gt, h, rows, d, g, gb);
            for (int i = 0; i < d; i++) {
                double sb = 0;
                for (int q = 0; q < rows; q++) sb += gt[q * d + i];
                assertEquals(sb, gb[i], 1e-5);
                for (int j = 0; j < d; j++) {
                    double s = 0;
                    for (int q = 0; q < rows; q++) s += (double) gt[q * d + i] * h[q * d + j];
                    assertEquals(s, g[i * d + j], 1e-4);
                }
            }
        }
    }
}
