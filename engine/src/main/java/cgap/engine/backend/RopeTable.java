package cgap.engine.backend;

import cgap.engine.model.Rope;

/**
 * cos/sin of every (position, frequency) of one {@link Rope}, grown on demand. Angles are computed in double
 * from the position and the inverse frequency, then rounded to f32.
 */
public final class RopeTable {
    private final double[] invFreq;
    private final int half;
    private float[] cos = new float[0];
    private float[] sin = new float[0];
    private int positions;

    public RopeTable(Rope rope) {
        this.invFreq = rope.inverseFrequencies();
        this.half = invFreq.length;
    }

    public int half() {
        return half;
    }

    /** Makes sure positions [0, n) are tabulated. */
    public synchronized void ensure(int n) {
        if (n <= positions) return;
        int cap = Math.max(n, positions * 2);
        float[] c = java.util.Arrays.copyOf(cos, cap * half), s = java.util.Arrays.copyOf(sin, cap * half);
        for (int p = positions; p < cap; p++) {
            for (int i = 0; i < half; i++) {
                double a = p * invFreq[i];
                c[p * half + i] = (float) Math.cos(a);
                s[p * half + i] = (float) Math.sin(a);
            }
        }
        cos = c;
        sin = s;
        positions = cap;
    }

    public float[] cos() {
        return cos;
    }

    public float[] sin() {
        return sin;
    }
}
