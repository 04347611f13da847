package cgap.diagnostics.stats;

import cgap.diagnostics.metrics.StepMetrics;

import java.util.Arrays;

/**
 * Coarsened exact matching on endpoint covariates (SPEC §5.2), for one model pair and one readout.
 *
 * <ol>
 *   <li>Each covariate is cut into quantile bins (deciles by default) over the <em>pooled</em> PT + IT steps:
 *       interior cut points c_j = Q(j / bins), j = 1 … bins−1, Q the type-7 quantile
 *       ({@link ClusterBootstrap#quantile}); a value x falls in bin #{j : c_j &lt; x}, i.e. bins are
 *       right-closed (c_{j−1}, c_j] like pandas' {@code qcut}; tied cut points leave empty bins.</li>
 *   <li>A cell is the tuple of bin indices (for the three endpoint covariates: the triple of deciles).</li>
 *   <li>Inside a cell both sides are reweighted to n_min = min(n_PT, n_IT): weight n_min/n_side per step;
 *       cells missing a side get weight 0.</li>
 *   <li>Diagnostics: retention (weighted fraction kept) and the post-match standardised mean differences,
 *       see {@link Matching}.</li>
 * </ol>
 */
public final class CoarsenedExactMatching {
    /** Deciles. */
    public static final int DEFAULT_BINS = 10;

    private CoarsenedExactMatching() {
    }

    /**
     * The endpoint covariates of a step in the order this class expects them: entropy of p_L, top-1
     * probability, top-1 − top-2 log-prob margin.
     */
    public static double[] endpointCovariates(StepMetrics step) {
        return new double[] {step.finalEntropy(), step.finalTop1Prob(), step.finalTop1Margin()};
    }

    /** Matching with deciles. {@code pt[i]} / {@code it[i]}: the k covariates of step i on each side. */
    public static Matching match(double[][] pt, double[][] it) {
        return match(pt, it, DEFAULT_BINS);
    }

    /** Matching with {@code bins} quantile bins per covariate. */
    public static Matching match(double[][] pt, double[][] it, int bins) {
        if (bins < 1) {
            throw new IllegalArgumentException("bins must be >= 1, got " + bins);
        }
        if (pt.length == 0 || it.length == 0) {
            throw new IllegalArgumentException("both sides need at least one step (PT " + pt.length + ", IT " + it.length + ")");
        }
        int k = pt[0].length;
        checkRows("PT", pt, k);
        checkRows("IT", it, k);
        long cellsL = 1;
        for (int c = 0; c < k; c++) {
            cellsL *= bins;
            if (cellsL > (1 << 24)) {
                throw new IllegalArgumentException(bins + "^" + k + " cells is too many");
            }
        }
        int cells = (int) cellsL;

        double[][] cuts = new double[k][];
        for (int c = 0; c < k; c++) {
            double[] pooled = new double[pt.length + it.length];
            for (int i = 0; i < pt.length; i++) {
                pooled[i] = pt[i][c];
            }
            for (int i = 0; i < it.length; i++) {
                pooled[pt.length + i] = it[i][c];
            }
            Arrays.sort(pooled);
            cuts[c] = cutpoints(pooled, bins);
        }
        int[] ptCells = cellsOf(pt, cuts, bins);
        int[] itCells = cellsOf(it, cuts, bins);
        int[] nPt = new int[cells];
        int[] nIt = new int[cells];
        for (int cell : ptCells) {
            nPt[cell]++;
        }
        for (int cell : itCells) {
            nIt[cell]++;
        }
        double[] ptW = weights(ptCells, nPt, nIt);
        double[] itW = weights(itCells, nIt, nPt);
        long matched = 0;
        int used = 0;
        for (int c = 0; c < cells; c++) {
            if (nPt[c] > 0 && nIt[c] > 0) {
                matched += Math.min(nPt[c], nIt[c]);
                used++;
            }
        }
        double[] smd = new double[k];
        double maxSmd = 0;
        for (int c = 0; c < k; c++) {
            smd[c] = smd(pt, ptW, it, itW, c);
            maxSmd = Double.isNaN(smd[c]) || Double.isNaN(maxSmd) ? Double.NaN : Math.max(maxSmd, Math.abs(smd[c]));
        }
        return new Matching(bins, cuts, ptCells, itCells, ptW, itW, matched,
                2.0 * matched / (pt.length + it.length), matched / (double) pt.length, matched / (double) it.length,
                used, smd, maxSmd);
    }

    /** The bins−1 interior cut points Q(j/bins) of sorted data. */
    public static double[] cutpoints(double[] sorted, int bins) {
        double[] cuts = new double[bins - 1];
        for (int j = 1; j < bins; j++) {
            cuts[j - 1] = ClusterBootstrap.quantile(sorted, j / (double) bins);
        }
        return cuts;
    }

    /** The bin of x: the number of cut points strictly below x (0 … cuts.length). */
    public static int bin(double x, double[] cuts) {
        int b = 0;
        while (b < cuts.length && cuts[b] < x) {
            b++;
        }
        return b;
    }

    /** Cell ids of rows under given cut points: Σ_c bin_c · bins^c. */
    static int[] cellsOf(double[][] rows, double[][] cuts, int bins) {
        int[] out = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            int cell = 0;
            int radix = 1;
            for (int c = 0; c < cuts.length; c++) {
                cell += bin(rows[i][c], cuts[c]) * radix;
                radix *= bins;
            }
            out[i] = cell;
        }
        return out;
    }

    private static double[] weights(int[] cellsOfSide, int[] nSide, int[] nOther) {
        double[] w = new double[cellsOfSide.length];
        for (int i = 0; i < w.length; i++) {
            int c = cellsOfSide[i];
            w[i] = nOther[c] == 0 ? 0.0 : Math.min(nSide[c], nOther[c]) / (double) nSide[c];
        }
        return w;
    }

    private static double smd(double[][] pt, double[] ptW, double[][] it, double[] itW, int c) {
        double[] a = column(pt, c);
        double[] b = column(it, c);
        for (double x : a) {
            if (!Double.isFinite(x)) {
                return Double.NaN;
            }
        }
        for (double x : b) {
            if (!Double.isFinite(x)) {
                return Double.NaN;
            }
        }
        double sd = Math.sqrt((variance(a) + variance(b)) / 2);
        double diff = weighted(b, itW) - weighted(a, ptW);
        if (Double.isNaN(diff) || Double.isNaN(sd)) {
            return Double.NaN;
        }
        if (sd == 0) {
            return diff == 0 ? 0.0 : Math.copySign(Double.POSITIVE_INFINITY, diff);
        }
        return diff / sd;
    }

    private static double[] column(double[][] rows, int c) {
        double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i][c];
        }
        return out;
    }

    private static double variance(double[] x) {
        if (x.length < 2) {
            return Double.NaN;
        }
        double m = 0;
        for (double v : x) {
            m += v;
        }
        m /= x.length;
        double s = 0;
        for (double v : x) {
            s += (v - m) * (v - m);
        }
        return s / (x.length - 1);
    }

    private static double weighted(double[] x, double[] w) {
        double s = 0;
        double n = 0;
        for (int i = 0; i < x.length; i++) {
            if (w[i] != 0) {
                s += w[i] * x[i];
                n += w[i];
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    private static void checkRows(String side, double[][] rows, int k) {
        if (k == 0) {
            throw new IllegalArgumentException("at least one covariate is needed");
        }
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != k) {
                throw new IllegalArgumentException(side + " step " + i + " has " + rows[i].length + " covariates, expected " + k);
            }
            for (int c = 0; c < k; c++) {
                if (Double.isNaN(rows[i][c])) {
                    throw new IllegalArgumentException(side + " step " + i + " covariate " + c + " is NaN");
                }
            }
        }
    }
}
