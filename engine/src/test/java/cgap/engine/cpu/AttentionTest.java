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

    /**
     * The vectorised blocks ({@link Attention#attend}: four queries by four vectors of keys, shared rows of values, the
     * edge phases where a block's queries see different keys) give the same bits as {@link Attention#reference}, one
     * query at a time with scalar fused multiply-adds: grouped heads (group 4, 2, 1), head_dim with and without vector
     * tails, sliding windows, soft-capping, rows at arbitrary (unsorted, repeated) positions, a row offset.
     */
    @Test
    void blocksEqualTheScalarReferenceBitForBit() {
        Random rnd = new Random(21);
        // heads, kvHeads, headDim, window, softcap, rows, cache length
        int[][] cases = {
                {8, 2, 64, 0, 0, 37, 150}, {4, 4, 64, 0, 0, 9, 100}, {4, 2, 40, 0, 0, 11, 70}, {6, 3, 7, 5, 0, 10, 40},
                {8, 2, 128, 33, 0, 20, 90}, {2, 1, 16, 0, 50, 5, 64}, {12, 4, 96, 17, 30, 13, 81}, {1, 1, 256, 0, 0, 3, 200},
                {4, 1, 80, 0, 0, 1, 300}, {3, 3, 48, 9, 0, 7, 31}};
        try (CpuBackend be = new CpuBackend(2)) {
            for (int[] c : cases) {
                int heads = c[0], kvHeads = c[1], headDim = c[2], window = c[3], rows = c[5], len = c[6];
                double softcap = c[4];
                int kvDim = kvHeads * headDim, qDim = heads * headDim, row0 = 2;
                float[] k = new float[len * kvDim], v = new float[len * kvDim];
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) rnd.nextGaussian();
                    v[i] = (float) rnd.nextGaussian();
                }
                int[] positions = new int[rows];
                for (int r = 0; r < rows; r++) positions[r] = r % 3 == 2 ? rnd.nextInt(len) : len - rows + r; // mostly causal
                float[] q = new float[(row0 + rows) * qDim];
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                CpuKvCache cache = (CpuKvCache) be.kvCache(1, kvDim, 4); // grown by kvWrite: the transposed keys move
                int[] all = new int[len];
                for (int i = 0; i < len; i++) all[i] = i;
                be.kvWrite(cache, 0, new CpuBuf(k, len, kvDim), new CpuBuf(v, len, kvDim), 0, all);
                double scale = 1 / Math.sqrt(headDim);
                CpuBuf out = new CpuBuf(row0 + rows, qDim);
                be.attention(new CpuBuf(q, row0 + rows, qDim), cache, 0, row0, positions, heads, kvHeads, headDim, scale, softcap, window, out);
                float[] ref = new float[(row0 + rows) * qDim];
                Attention.reference(q, qDim, row0, positions, heads, kvHeads, headDim, cache.kT[0], cache.v[0], cache.capacity, kvDim,
                        (float) scale, softcap, window, ref, qDim);
                String name = "case " + java.util.Arrays.toString(c);
                assertArrayEquals(ref, out.data(), name);
                // and against the double-precision reference above, through the same cache
                float[] plain = reference(java.util.Arrays.copyOfRange(q, row0 * qDim, q.length), k, v, positions, heads, kvHeads, headDim, scale, softcap, window);
                for (int i = 0; i < plain.length; i++) {
                    assertEquals(plain[i], out.data()[row0 * qDim + i], 2e-5 * (1 + Math.abs(plain[i])), name + " at " + i);
                }
                // one row at a time: the same bits as the whole call
                for (int r = 0; r < rows; r += 5) {
                    CpuBuf one = new CpuBuf(1, qDim);
                    be.attention(new CpuBuf(java.util.Arrays.copyOfRange(q, (row0 + r) * qDim, (row0 + r + 1) * qDim), 1, qDim), cache, 0, 0,
                            new int[]{positions[r]}, heads, kvHeads, headDim, scale, softcap, window, one);
                    assertArrayEquals(java.util.Arrays.copyOfRange(out.data(), (row0 + r) * qDim, (row0 + r + 1) * qDim), one.data(), name + " row " + r);
                }
                cache.close();
            }
        }
    }

    /** Growing the cache moves the transposed keys to the new row stride: positions written before and after read back. */
    @Test
    void growingTheCacheKeepsEveryKey() {
        try (CpuBackend be = new CpuBackend(1)) {
            int kvDim = 3;
            CpuKvCache cache = (CpuKvCache) be.kvCache(1, kvDim, 2);
            for (int p = 0; p < 9; p++) {
                float[] k = {p, 10 + p, 20 + p}, v = {-p, -10 - p, -20 - p};
                be.kvWrite(cache, 0, new CpuBuf(k, 1, kvDim), new CpuBuf(v, 1, kvDim), 0, new int[]{p});
            }
            assertEquals(9, cache.length());
            for (int p = 0; p < 9; p++) {
                for (int c = 0; c < kvDim; c++) {
                    assertEquals(10 * c + p, cache.kT[0][c * cache.capacity + p], "key dim " + c + " at " + p);
                    assertEquals(-(10 * c + p), cache.v[0][p * kvDim + c], "value dim " + c + " at " + p);
                }
            }
            cache.close();
        }
    }
}
