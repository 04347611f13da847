package cgap.diagnostics.stats;

/**
 * A point estimate with its percentile-bootstrap confidence interval.
 *
 * @param value     the statistic on the original sample
 * @param lo        lower percentile bound, the ((1 − level)/2) quantile of the resampled statistics
 * @param hi        upper percentile bound, the ((1 + level)/2) quantile
 * @param level     nominal coverage, e.g. 0.95
 * @param resamples number of resamples whose statistic was finite and entered the percentiles (resamples
 *                  whose statistic was NaN, e.g. every drawn prompt had no token step, are left out)
 * @param seed      the seed of the resampling RNG
 */
public record Estimate(double value, double lo, double hi, double level, int resamples, long seed) {

    /** Whether {@code x} lies in the closed interval [lo, hi]. */
    public boolean covers(double x) {
        return lo <= x && x <= hi;
    }

    /** hi − lo. */
    public double width() {
        return hi - lo;
    }
}
