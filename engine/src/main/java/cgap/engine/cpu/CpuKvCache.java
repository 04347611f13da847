package cgap.engine.cpu;

import cgap.engine.backend.KvCache;

/** Per-layer key and value rows on the heap, [capacity, kvDim] each, grown by doubling. */
final class CpuKvCache implements KvCache {
    /** The most floats one layer's keys (or values) may take: the longest array every JVM allocates. */
    static final int MAX_FLOATS = Integer.MAX_VALUE - 8;

    final int kvDim;
    final float[][] k;
    final float[][] v;
    int capacity;
    int length;

    CpuKvCache(int layers, int kvDim, int capacity) {
        this.kvDim = kvDim;
        this.capacity = Math.max(1, capacity);
        int n = floats(this.capacity, kvDim);
        this.k = new float[layers][n];
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
        for (int l = 0; l < k.length; l++) {
            k[l] = java.util.Arrays.copyOf(k[l], len);
            v[l] = java.util.Arrays.copyOf(v[l], len);
        }
        capacity = cap;
    }

    @Override
    public int layers() {
        return k.length;
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

    @Override
    public void close() {
    }
}
