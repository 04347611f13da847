package cgap.diagnostics.metrics;

/**
 * The layer windows of SPEC §3, for a model of {@code L} decoder layers indexed 0 … L−1 (layer L−1 is the
 * final distribution p_L). All bounds are inclusive. Integer arithmetic only, so ⌊0.8 L⌋ is exact
 * ({@code 4L/5}), never {@code (int) (0.8 * L)}.
 */
public final class LayerWindows {
    private LayerWindows() {
    }

    /** First layer of the late (final-20%) window: ⌊0.8 L⌋. */
    public static int lateStart(int layers) {
        checkLayers(layers);
        return (4 * layers) / 5;
    }

    /** First layer of the final-half window: ⌊L/2⌋. */
    public static int finalHalfStart(int layers) {
        checkLayers(layers);
        return layers / 2;
    }

    /**
     * Last layer of the late KL window: L−1, or L−2 when the last layer is excluded (SPEC: "optionally
     * excluding it"). The window may then be empty (e.g. L = 5: [4, 3]).
     */
    public static int lateEnd(int layers, boolean excludeLast) {
        checkLayers(layers);
        return excludeLast ? layers - 2 : layers - 1;
    }

    /**
     * Last of the late <em>pre-final</em> layers over which remaining adjacent JS and future top-1 flips
     * are averaged: L−2 (the window [⌊0.8 L⌋, L−2], empty when ⌊0.8 L⌋ = L−1, e.g. L ≤ 5).
     */
    public static int latePreFinalEnd(int layers) {
        checkLayers(layers);
        return layers - 2;
    }

    /** Mean of {@code values[from..toInclusive]}; {@code NaN} when the window is empty ({@code from > toInclusive}). */
    public static double mean(double[] values, int from, int toInclusive) {
        if (from < 0 || toInclusive >= values.length) {
            throw new IllegalArgumentException("window [" + from + ", " + toInclusive + "] outside 0.." + (values.length - 1));
        }
        if (from > toInclusive) {
            return Double.NaN;
        }
        double s = 0;
        for (int l = from; l <= toInclusive; l++) {
            s += values[l];
        }
        return s / (toInclusive - from + 1);
    }

    /** Mean of {@code values[from..toInclusive]} as doubles; {@code NaN} when the window is empty. */
    public static double mean(int[] values, int from, int toInclusive) {
        if (from < 0 || toInclusive >= values.length) {
            throw new IllegalArgumentException("window [" + from + ", " + toInclusive + "] outside 0.." + (values.length - 1));
        }
        if (from > toInclusive) {
            return Double.NaN;
        }
        double s = 0;
        for (int l = from; l <= toInclusive; l++) {
            s += values[l];
        }
        return s / (toInclusive - from + 1);
    }

    private static void checkLayers(int layers) {
        if (layers < 1) {
            throw new IllegalArgumentException("layers must be >= 1, got " + layers);
        }
    }
}
