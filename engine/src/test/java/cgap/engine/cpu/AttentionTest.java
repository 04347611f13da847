package cgap.engine.cpu;

import cgap.engine.backend.KvCache;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The CPU backend's vectorised attention against a plain double-precision reference: grouped-query heads, head_dim
 * with and without a vector tail, a sliding window, soft-capping, rows at arbitrary positions.
 */
class AttentionTest {
    static float[] reference(float[] q, float[] k, float[] v, int[] positions, int heads, int kvHeads, int headDim, double scale,
                             double softcap, int window) {
        int rows = positions.length, kvDim = kvHeads * headDim, group = heads / kvHeads;
        float[] out = new float[rows * heads * headDim];
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                int p = positions[r], kvh = h / group;
                int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
                double[] s = new double[p - lo + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = lo; j <= p; j++) {
                    double d = 0;
                    for (int i = 0; i < headDim; i++) d += (double) q[r * heads * headDim + h * headDim + i] * k[j * kvDim + kvh * headDim + i];
                    d *= scale;
                    if (softcap > 0) d = softcap * Math.tanh(d / softcap);
                    s[j - lo] = d;
                    max = Math.max(max, d);
                }
                double sum = 0;
                for (int j = 0; j < s.length; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int i = 0; i < headDim; i++) {
                    double o = 0;
                    for (int j = lo; j <= p; j++) o += s[j - lo] / sum * v[j * kvDim + kvh * headDim + i];
                    out[r * heads * headDim + h * headDim + i] = (float) o;
                }
            }
        }
        return out;
    }

    @Test
    void vectorisedEqualsReference() {
        Random rnd = new Random(9);
        int[][] cases = {{4, 2, 64, 0, 0}, {8, 2, 40, 5, 0}, {2, 1, 16, 0, 50}, {6, 3, 7, 3, 30}, {4, 4, 128, 0, 0}};
        try (CpuBackend be = new CpuBackend(2)) {
            for (int[] c : cases) {
                int heads = c[0], kvHeads = c[1], headDim = c[2], window = c[3];
                double softcap = c[4];
                int len = 23, kvDim = kvHeads * headDim;
                float[] k = new float[len * kvDim], v = new float[len * kvDim];
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) rnd.nextGaussian();
                    v[i] = (float) rnd.nextGaussian();
                }
                int[] positions = {0, 1, 7, 13, 22, 22};
                float[] q = new float[positions.length * heads * headDim];
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                KvCache cache = be.kvCache(1, kvDim, 4);
                int[] all = new int[len];
                for (int i = 0; i < len; i++) all[i] = i;
                be.kvWrite(cache, 0, new CpuBuf(k, len, kvDim), new CpuBuf(v, len, kvDim), 0, all);
                CpuBuf out = new CpuBuf(positions.length, heads * headDim);
                double scale = 1 / Math.sqrt(headDim);
                be.attention(new CpuBuf(q, positions.length, heads * headDim), cache, 0, 0, positions, heads, kvHeads, headDim, scale, softcap, window, out);
                float[] ref = reference(q, k, v, positions, heads, kvHeads, headDim, scale, softcap, window);
                for (int i = 0; i < ref.length; i++) {
                    assertEquals(ref[i], out.data()[i], 2e-5 * (1 + Math.abs(ref[i])), "case " + java.util.Arrays.toString(c) + " at " + i);
                }
                cache.close();
            }
        }
    }

    /**
     * Rows [row0, row0 + n) of larger buffers (one session's rows of a batch) give the same bits as the same rows
     * alone at row 0, and the other rows of out stay untouched.
     */
    @Test
    void rowOffsetGivesTheSameBits() {
        Random rnd = new Random(11);
        int heads = 6, kvHeads = 3, headDim = 40, kvDim = kvHeads * headDim, qDim = heads * headDim;
        int before = 3, after = 2, len = 17;
        int[] positions = new int[len];
        for (int i = 0; i < len; i++) positions[i] = i;
        int rows = before + len + after;
        float[] k = new float[rows * kvDim], v = new float[rows * kvDim], q = new float[rows * qDim];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) rnd.nextGaussian();
            v[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        double scale = 1 / Math.sqrt(headDim);
        try (CpuBackend be = new CpuBackend(2)) {
            for (int window : new int[]{0, 5}) {
                // alone: the session's rows copied to row 0
                KvCache alone = be.kvCache(1, kvDim, 4);
                be.kvWrite(alone, 0, new CpuBuf(java.util.Arrays.copyOfRange(k, before * kvDim, (before + len) * kvDim), len, kvDim),
                        new CpuBuf(java.util.Arrays.copyOfRange(v, before * kvDim, (before + len) * kvDim), len, kvDim), 0, positions);
                CpuBuf aloneOut = new CpuBuf(len, qDim);
                be.attention(new CpuBuf(java.util.Arrays.copyOfRange(q, before * qDim, (before + len) * qDim), len, qDim), alone, 0, 0,
                        positions, heads, kvHeads, headDim, scale, 0, window, aloneOut);
                // in place: rows [before, before + len) of the larger buffers
                KvCache inPlace = be.kvCache(1, kvDim, 4);
                be.kvWrite(inPlace, 0, new CpuBuf(k, rows, kvDim), new CpuBuf(v, rows, kvDim), before, positions);
                CpuBuf out = new CpuBuf(rows, qDim);
                java.util.Arrays.fill(out.data(), 7f);
                be.attention(new CpuBuf(q, rows, qDim), inPlace, 0, before, positions, heads, kvHeads, headDim, scale, 0, window, out);
                assertArrayEquals(aloneOut.data(), java.util.Arrays.copyOfRange(out.data(), before * qDim, (before + len) * qDim), "window " + window);
                for (int i = 0; i < out.data().length; i++) {
                    if (i < before * qDim || i >= (before + len) * qDim) assertEquals(7f, out.data()[i], "row " + i / qDim + " untouched");
                }
                alone.close();
                inPlace.close();
            }
        }
    }
}
