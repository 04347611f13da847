package cgap.diagnostics.stats;

import java.util.Arrays;

/**
 * One family's matched design ready for the cluster bootstrap: the {@link Matching} (its cut points and cell
 * ids), the prompt of every step on each side (PT and IT share a prompt index space: the same prompt id has
 * the same index on both sides), and the per-step outcome.
 *
 * <p>{@link #difference(int[])} recomputes the matched IT − PT difference for a resample of prompts: the cut
 * points stay those of the full sample, the cell populations are recounted with each prompt's multiplicity,
 * and the weights n_min/n_side are recomputed from them. With every count 1 it equals
 * {@link Matching#difference}. Per-(prompt, cell) sums are precomputed, so a resample costs
 * O(distinct (prompt, cell) pairs + cells), not O(steps).
 */
public final class MatchedFamily {
    private final Matching matching;
    private final int prompts;
    private final int cells;
    private final Side pt;
    private final Side it;

    private record Side(int[] prompt, int[] cell, long[] count, double[] sum) {
    }

    private MatchedFamily(Matching matching, int prompts, Side pt, Side it) {
        this.matching = matching;
        this.prompts = prompts;
        int k = matching.cutpoints().length;
        int c = 1;
        for (int i = 0; i < k; i++) {
            c *= matching.bins();
        }
        this.cells = c;
        this.pt = pt;
        this.it = it;
    }

    /**
     * @param matching  the matching of these very steps
     * @param prompts   the number of prompts (the resampling clusters)
     * @param ptPrompt  [n_PT] prompt index (0 … prompts−1) of each PT step
     * @param itPrompt  [n_IT] prompt index of each IT step
     * @param ptOutcome [n_PT] outcome per PT step (e.g. late KL)
     * @param itOutcome [n_IT] outcome per IT step
     */
    public static MatchedFamily of(Matching matching, int prompts, int[] ptPrompt, int[] itPrompt,
                                   double[] ptOutcome, double[] itOutcome) {
        return new MatchedFamily(matching, prompts,
                side("PT", matching.ptCells(), ptPrompt, ptOutcome, prompts),
                side("IT", matching.itCells(), itPrompt, itOutcome, prompts));
    }

    public Matching matching() {
        return matching;
    }

    public int prompts() {
        return prompts;
    }

    /** The matched IT − PT difference with prompt i counted {@code counts[i]} times. NaN when nothing matches. */
    public double difference(int[] counts) {
        if (counts.length != prompts) {
            throw new IllegalArgumentException("counts has " + counts.length + " prompts, expected " + prompts);
        }
        long[] nPt = new long[cells];
        long[] nIt = new long[cells];
        double[] sPt = new double[cells];
        double[] sIt = new double[cells];
        accumulate(pt, counts, nPt, sPt);
        accumulate(it, counts, nIt, sIt);
        double m = 0;
        double wIt = 0;
        double wPt = 0;
        for (int c = 0; c < cells; c++) {
            if (nPt[c] > 0 && nIt[c] > 0) {
                double min = Math.min(nPt[c], nIt[c]);
                m += min;
                wIt += min / nIt[c] * sIt[c];
                wPt += min / nPt[c] * sPt[c];
            }
        }
        return m == 0 ? Double.NaN : (wIt - wPt) / m;
    }

    private static void accumulate(Side s, int[] counts, long[] n, double[] sum) {
        for (int e = 0; e < s.prompt.length; e++) {
            int c = counts[s.prompt[e]];
            if (c != 0) {
                n[s.cell[e]] += c * s.count[e];
                sum[s.cell[e]] += c * s.sum[e];
            }
        }
    }

    private static Side side(String name, int[] cells, int[] prompt, double[] outcome, int prompts) {
        if (prompt.length != cells.length || outcome.length != cells.length) {
            throw new IllegalArgumentException(name + ": " + cells.length + " matched steps, " + prompt.length
                    + " prompt indices, " + outcome.length + " outcomes");
        }
        long[] keys = new long[cells.length];
        for (int i = 0; i < cells.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= prompts) {
                throw new IllegalArgumentException(name + " step " + i + ": prompt index " + prompt[i] + " outside 0.." + (prompts - 1));
            }
            keys[i] = ((long) prompt[i] << 32) | cells[i];
        }
        Integer[] order = new Integer[cells.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Long.compare(keys[x], keys[y]));
        int distinct = 0;
        for (int i = 0; i < order.length; i++) {
            if (i == 0 || keys[order[i]] != keys[order[i - 1]]) {
                distinct++;
            }
        }
        int[] p = new int[distinct];
        int[] c = new int[distinct];
        long[] n = new long[distinct];
        double[] s = new double[distinct];
        int e = -1;
        for (int i = 0; i < order.length; i++) {
            int step = order[i];
            if (i == 0 || keys[step] != keys[order[i - 1]]) {
                e++;
                p[e] = prompt[step];
                c[e] = cells[step];
            }
            n[e]++;
            s[e] += outcome[step];
        }
        return new Side(p, c, n, s);
    }
}
