package cgap.diagnostics.stats;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Percentile cluster bootstrap over prompts (SPEC §4).
 *
 * <p><b>Resampling.</b> The cluster is the prompt: all token steps of a prompt go in or out together.
 * Prompts are resampled with replacement <em>within each model</em> (each model keeps its own number of
 * prompts), and the whole statistic — e.g. the equal-weight mean over families — is recomputed on every
 * resample. For a PT/IT pair the two models share their prompt ids, and a resample draws prompt
 * <em>ids</em>, used jointly for PT and IT: the IT − PT gap is a paired statistic.
 *
 * <p><b>RNG, for reproducibility.</b> One {@link SplittableRandom} seeded with {@link #seed()}; draws happen
 * in the order resample r = 0 … B−1, then model (or pair) f in the order given, then draw d = 0 … n_f − 1,
 * each draw being {@code rng.nextInt(n_f)}. The same seed, sizes and order give bit-identical intervals.
 *
 * <p><b>Interval.</b> Percentile interval: the (1 − level)/2 and (1 + level)/2 quantiles of the resampled
 * statistics, with linear interpolation between order statistics (Hyndman–Fan type 7, numpy's default).
 * Resamples whose statistic is NaN are left out (counted in {@link Estimate#resamples()}).
 */
public final class ClusterBootstrap {
    /** SPEC §4: 2,000 resamples. */
    public static final int DEFAULT_RESAMPLES = 2000;
    /** 95% intervals. */
    public static final double DEFAULT_LEVEL = 0.95;

    /**
     * A statistic of a resample. {@code counts[f][i]} is how many times prompt i of model (pair) f was drawn;
     * all ones for the original sample. Returns k components (the same k every call).
     */
    @FunctionalInterface
    public interface Statistic {
        double[] apply(int[][] counts);
    }

    private final int resamples;
    private final long seed;
    private final double level;

    /** 2,000 resamples, 95% intervals. */
    public ClusterBootstrap(long seed) {
        this(DEFAULT_RESAMPLES, seed, DEFAULT_LEVEL);
    }

    public ClusterBootstrap(int resamples, long seed, double level) {
        if (resamples < 1) {
            throw new IllegalArgumentException("resamples must be >= 1, got " + resamples);
        }
        if (!(level > 0 && level < 1)) {
            throw new IllegalArgumentException("level must be in (0, 1), got " + level);
        }
        this.resamples = resamples;
        this.seed = seed;
        this.level = level;
    }

    public int resamples() {
        return resamples;
    }

    public long seed() {
        return seed;
    }

    public double level() {
        return level;
    }

    /**
     * The general engine: evaluates {@code statistic} on the original sample and on every resample of the
     * clusters ({@code clusters[f]} prompts in model f) and returns one estimate per component.
     */
    public Estimate[] run(int[] clusters, Statistic statistic) {
        int models = clusters.length;
        int[][] counts = new int[models][];
        for (int f = 0; f < models; f++) {
            if (clusters[f] < 1) {
                throw new IllegalArgumentException("model " + f + " has no prompts");
            }
            counts[f] = new int[clusters[f]];
            Arrays.fill(counts[f], 1);
        }
        double[] point = statistic.apply(counts);
        int k = point.length;
        double[][] draws = new double[k][resamples];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int r = 0; r < resamples; r++) {
            for (int f = 0; f < models; f++) {
                int n = clusters[f];
                Arrays.fill(counts[f], 0);
                for (int d = 0; d < n; d++) {
                    counts[f][rng.nextInt(n)]++;
                }
            }
            double[] s = statistic.apply(counts);
            if (s.length != k) {
                throw new IllegalStateException("statistic returned " + s.length + " components, then " + k);
            }
            for (int c = 0; c < k; c++) {
                draws[c][r] = s[c];
            }
        }
        Estimate[] out = new Estimate[k];
        for (int c = 0; c < k; c++) {
            double[] finite = Arrays.stream(draws[c]).filter(x -> !Double.isNaN(x)).sorted().toArray();
            double lo = quantile(finite, (1 - level) / 2);
            double hi = quantile(finite, (1 + level) / 2);
            out[c] = new Estimate(point[c], lo, hi, level, finite.length, seed);
        }
        return out;
    }

    /** The mean over prompts of one model's prompt means (NaN prompts left out), with its interval. */
    public Estimate mean(double[] promptMeans) {
        return equalWeightMean(List.of(promptMeans));
    }

    /**
     * The equal-weight mean over models (families) of each model's mean of prompt means; prompts resampled
     * within each model.
     */
    public Estimate equalWeightMean(List<double[]> promptMeansPerModel) {
        int[] clusters = promptMeansPerModel.stream().mapToInt(a -> a.length).toArray();
        return run(clusters, counts -> {
            double s = 0;
            for (int f = 0; f < counts.length; f++) {
                s += weightedMean(promptMeansPerModel.get(f), counts[f]);
            }
            return new double[] {s / counts.length};
        })[0];
    }

    /**
     * The IT − PT gap of scalar prompt means, per family the mean over prompts of IT minus the mean over
     * prompts of PT, then the equal-weight mean over families. <b>Paired</b>: each resample draws prompt ids
     * once per family and uses the same draw for PT and IT. Every sample must have width 1.
     */
    public Estimate pairedGap(List<PairedSample> families) {
        for (PairedSample p : families) {
            if (p.width() != 1) {
                throw new IllegalArgumentException("pairedGap needs one value per prompt, got width " + p.width());
            }
        }
        int[] clusters = families.stream().mapToInt(PairedSample::size).toArray();
        return run(clusters, counts -> {
            double s = 0;
            for (int f = 0; f < counts.length; f++) {
                PairedSample p = families.get(f);
                s += weightedMean(p.it(), 0, counts[f]) - weightedMean(p.pt(), 0, counts[f]);
            }
            return new double[] {s / counts.length};
        })[0];
    }

    /**
     * One family's IT − PT gap per component (per layer for a curve), each with its interval. <b>Paired</b>:
     * prompt ids are resampled jointly for PT and IT, and jointly for all layers (one draw per resample), so
     * the per-layer intervals come from the same resamples.
     */
    public Estimate[] pairedGapPerLayer(PairedSample family) {
        int k = family.width();
        return run(new int[] {family.size()}, counts -> {
            double[] g = new double[k];
            for (int c = 0; c < k; c++) {
                g[c] = weightedMean(family.it(), c, counts[0]) - weightedMean(family.pt(), c, counts[0]);
            }
            return g;
        });
    }

    /**
     * The endpoint-matched (CEM) IT − PT gap: per family, the matched weighted difference of the outcome with the
     * cells re-populated on each resample (cut points fixed at the full-sample deciles, see
     * {@link MatchedFamily#difference}), then the equal-weight mean over families. Paired resampling of prompt ids.
     */
    public Estimate matchedGap(List<MatchedFamily> families) {
        int[] clusters = families.stream().mapToInt(MatchedFamily::prompts).toArray();
        return run(clusters, counts -> {
            double s = 0;
            for (int f = 0; f < counts.length; f++) {
                s += families.get(f).difference(counts[f]);
            }
            return new double[] {s / counts.length};
        })[0];
    }

    /** Σ c_i x_i / Σ c_i over the non-NaN x_i; NaN when nothing is left. */
    static double weightedMean(double[] x, int[] counts) {
        double s = 0;
        long n = 0;
        for (int i = 0; i < x.length; i++) {
            if (counts[i] != 0 && !Double.isNaN(x[i])) {
                s += counts[i] * x[i];
                n += counts[i];
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    private static double weightedMean(double[][] rows, int component, int[] counts) {
        double s = 0;
        long n = 0;
        for (int i = 0; i < rows.length; i++) {
            double x = rows[i][component];
            if (counts[i] != 0 && !Double.isNaN(x)) {
                s += counts[i] * x;
                n += counts[i];
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    /**
     * Type-7 quantile of sorted data: h = (n − 1)·q, linear interpolation between the order statistics
     * around h. NaN for empty data. Infinite neighbours are returned as they are (no ∞ − ∞).
     */
    public static double quantile(double[] sorted, double q) {
        int n = sorted.length;
        if (n == 0) {
            return Double.NaN;
        }
        if (q <= 0) {
            return sorted[0];
        }
        if (q >= 1) {
            return sorted[n - 1];
        }
        double h = (n - 1) * q;
        int lo = (int) Math.floor(h);
        double frac = h - lo;
        if (lo + 1 >= n || frac == 0 || sorted[lo] == sorted[lo + 1] || Double.isInfinite(sorted[lo])) {
            return sorted[lo];
        }
        if (Double.isInfinite(sorted[lo + 1])) {
            return sorted[lo + 1];
        }
        return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
    }
}
