package cgap.engine.cpu;

import cgap.engine.backend.KvCache;

/** Per-layer key and value rows on the heap, [capacity, kvDim] each, grown by doubling. */
final class CpuKvCache implements KvCache {
    final int kvDim;
    final float[][] k;
    final float[][] v;
    int capacity;
    int length;

    CpuKvCache(int layers, int kvDim, int capacity) {
        this.kvDim = kvDim;
        this.capacity = Math.max(1, capacity);
        this.k = new float[layers][this.capacity * kvDim];
        this.v = new float[layers][this.capacity * kvDim];
    }

    void ensure(int positions) {
        if (positions <= capacity) return;
        int cap = Math.max(positions, capacity * 2);
        for (int l = 0; l < k.length; l++) {
            k[l] = java.util.Arrays.copyOf(k[l], cap * kvDim);
            v[l] = java.util.Arrays.copyOf(v[l], cap * kvDim);
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
