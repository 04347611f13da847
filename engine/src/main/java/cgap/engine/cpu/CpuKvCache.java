package cgap.engine.cpu;

import cgap.engine.backend.KvCache;

/**
 * Per-layer keys and values on the heap, grown by doubling: values by position ([capacity, kvDim], a position's
 * values contiguous), keys transposed ([kvDim, capacity], a key dimension's positions contiguous), the layouts
 * {@link Attention} reads with one vector per row: values for its lanes of head dimensions, keys for its lanes of
 * positions.
 */
final class CpuKvCache implements KvCache {
    /** The most floats one layer's keys (or values) may take: the longest array every JVM allocates. */
    static final int MAX_FLOATS = Integer.MAX_VALUE - 8;

    final int kvDim;
    /** Keys, transposed: layer l's key dimension c at position p is kT[l][c · capacity + p]. */
    final float[][] kT;
    /** Values: layer l's dimension c at position p is v[l][p · kvDim + c]. */
    final float[][] v;
    int capacity;
    int length;

    CpuKvCache(int layers, int kvDim, int capacity) {
        this.kvDim = kvDim;
        this.capacity = Math.max(1, capacity);
        int n = floats(this.capacity, kvDim);
        this.kT = new float[layers][n];
        this.v = new float[layers][n];
    }

    /** positions × kvDim as an array length, or a clear error past what one Java array holds. */
    static int floats(long positions, int kvDim) {
        long n = positions * kvDim;
        if (n > MAX_FLOATS) {
            throw new IllegalArgumentException("KV cache of " + positions + " positions × " + kvDim + " values per layer exceeds a Java array ("
                    + MAX_FLOATS + " floats); generate fewer tokens");
        }
        return (int) n;
    }

    void ensure(int positions) {
        if (positions <= capacity) return;
        int cap = (int) Math.max(positions, Math.min(capacity * 2L, MAX_FLOATS / kvDim));
        int len = floats(cap, kvDim);
        for (int l = 0; l < kT.length; l++) {
            float[] grown = new float[len];
            for (int c = 0; c < kvDim; c++) System.arraycopy(kT[l], c * capacity, grown, c * cap, capacity);
            kT[l] = grown;
            v[l] = java.util.Arrays.copyOf(v[l], len);
        }
        capacity = cap;
    }

    @Override
    public int layers() {
        return kT.length;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public void truncate(int length) {
        if (length < 0 || length > this.length) throw new IllegalArgumentException("cannot truncate a cache of " + this.length + " positions to " + length);
        this.length = length;
    }

    /** Layer l's keys and values at positions[r] from rows row0 + r of k and v ([rows, kvDim] each). */
    void write(int layer, float[] k, float[] vs, int row0, int[] positions) {
        float[] t = kT[layer];
        for (int r = 0; r < positions.length; r++) {
            int p = positions[r], ko = (row0 + r) * kvDim;
            for (int c = 0; c < kvDim; c++) t[c * capacity + p] = k[ko + c];
            System.arraycopy(vs, ko, v[layer], p * kvDim, kvDim);
        }
    }

    @Override
    public void close() {
    }
}
