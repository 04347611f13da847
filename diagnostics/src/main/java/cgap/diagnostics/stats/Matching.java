package cgap.diagnostics.stats;

/**
 * The result of {@link CoarsenedExactMatching#match}: cells, weights and balance diagnostics for one model
 * pair and one readout. Arrays are owned by the record (read-only).
 *
 * @param bins        quantile bins per covariate (10: deciles)
 * @param cutpoints   [k][bins−1] interior cut points of each covariate over the pooled PT+IT steps
 * @param ptCells     [n_PT] cell id of each PT step (mixed-radix code of the k bin indices)
 * @param itCells     [n_IT] cell id of each IT step
 * @param ptWeights   [n_PT] n_min/n_PT of the step's cell, 0 where the cell has no IT step
 * @param itWeights   [n_IT] n_min/n_IT of the step's cell, 0 where the cell has no PT step
 * @param matched     Σ over cells of n_min = Σ ptWeights = Σ itWeights (the matched sample size per side)
 * @param retention   pooled weighted fraction kept, 2·matched / (n_PT + n_IT)
 * @param retentionPt matched / n_PT
 * @param retentionIt matched / n_IT
 * @param cellsUsed   number of cells holding both sides
 * @param smd         [k] post-match standardised mean difference of each covariate,
 *                    (weighted mean IT − weighted mean PT) / √((s²_PT + s²_IT)/2), the s² being the unweighted
 *                    pre-match sample variances (n − 1); NaN when a covariate has a non-finite value or no match
 * @param maxSmd      max |smd| (NaN if any smd is NaN)
 */
public record Matching(
        int bins,
        double[][] cutpoints,
        int[] ptCells,
        int[] itCells,
        double[] ptWeights,
        double[] itWeights,
        double matched,
        double retention,
        double retentionPt,
        double retentionIt,
        int cellsUsed,
        double[] smd,
        double maxSmd) {

    /** SPEC §5.2 quality gate: max SMD &lt; 0.1. */
    public static final double MAX_SMD_GATE = 0.1;
    /** SPEC §5.2 quality gate: retention ≥ 0.25. */
    public static final double MIN_RETENTION_GATE = 0.25;

    /** Both SPEC quality gates hold: max SMD &lt; 0.1 and (pooled) retention ≥ 0.25. */
    public boolean passesGates() {
        return maxSmd < MAX_SMD_GATE && retention >= MIN_RETENTION_GATE;
    }

    /** Σ w·y / Σ w over PT steps (NaN when nothing matched). */
    public double weightedMeanPt(double[] ptOutcome) {
        return weightedMean(ptWeights, ptOutcome, "PT");
    }

    /** Σ w·y / Σ w over IT steps (NaN when nothing matched). */
    public double weightedMeanIt(double[] itOutcome) {
        return weightedMean(itWeights, itOutcome, "IT");
    }

    /**
     * The matched IT − PT difference of a per-step outcome (late KL, remaining adjacent JS, future flips…):
     * weighted mean over IT steps minus weighted mean over PT steps, the same weights for every outcome.
     */
    public double difference(double[] ptOutcome, double[] itOutcome) {
        return weightedMeanIt(itOutcome) - weightedMeanPt(ptOutcome);
    }

    private static double weightedMean(double[] w, double[] y, String side) {
        if (w.length != y.length) {
            throw new IllegalArgumentException(side + " outcome has " + y.length + " steps, matching has " + w.length);
        }
        double s = 0;
        double n = 0;
        for (int i = 0; i < w.length; i++) {
            if (w[i] != 0) {
                s += w[i] * y[i];
                n += w[i];
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }
}
