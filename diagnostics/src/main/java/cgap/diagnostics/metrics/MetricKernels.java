package cgap.diagnostics.metrics;

/**
 * The inner loops of {@link Metrics}: every loop over the vocabulary lives here, so a faster implementation
 * (e.g. on the Vector API) can replace exactly these methods and be checked against {@link MetricsReference}
 * by the same differential test. Scalar double-precision code; no allocation.
 *
 * <p>Conventions shared by every method: {@code masked} is {@code null} (no mask) or has one entry per id,
 * {@code true} meaning "forced to −∞ before the softmax" (the id is skipped: probability 0). A term
 * p·(log p − log q) with p = 0 (underflow, −∞ logit, masked id) contributes exactly 0.
 */
public final class MetricKernels {
    static final double LN2 = Math.log(2.0);

    private MetricKernels() {
    }

    /**
     * One online pass over a row of logits: the running maximum and a rescaled sum give log Σ exp(x) in
     * double; the top-1 id and the top-2 logit come for free.
     *
     * @param out receives {@code out[0] = logSumExp}, {@code out[1] = top-1 logit}, {@code out[2] = top-2 logit}
     *            (the second-largest entry counting ties, −∞ when there is none)
     * @return the top-1 id (the lowest id among ties)
     * @throws IllegalArgumentException on a NaN or +∞ logit, or when every id is masked or −∞
     */
    public static int scan(float[] row, boolean[] masked, double[] out) {
        double m1 = Double.NEGATIVE_INFINITY;
        double m2 = Double.NEGATIVE_INFINITY;
        double s = 0.0;
        int arg = -1;
        for (int v = 0; v < row.length; v++) {
            if (masked != null && masked[v]) {
                continue;
            }
            float xf = row[v];
            if (!(xf < Float.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException("logit at id " + v + " is " + xf);
            }
            if (xf == Float.NEGATIVE_INFINITY) {
                continue;
            }
            double x = xf;
            if (x > m1) {
                s = s * Math.exp(m1 - x) + 1.0; // exp(-inf) = 0 on the first id
                m2 = m1;
                m1 = x;
                arg = v;
            } else {
                s += Math.exp(x - m1);
                if (x > m2) {
                    m2 = x;
                }
            }
        }
        if (arg < 0) {
            throw new IllegalArgumentException("every id of the row is masked or -inf");
        }
        out[0] = m1 + Math.log(s);
        out[1] = m1;
        out[2] = m2;
        return arg;
    }

    /**
     * Fills {@code probs[v] = p(v) = exp(row[v] − lse)} (0 for masked ids) and returns the entropy −Σ p log p.
     */
    public static double probsAndEntropy(float[] row, double lse, boolean[] masked, double[] probs) {
        double h = 0.0;
        for (int v = 0; v < row.length; v++) {
            if (masked != null && masked[v]) {
                probs[v] = 0.0;
                continue;
            }
            double lp = row[v] - lse;
            double p = Math.exp(lp);
            probs[v] = p;
            if (p > 0.0) {
                h -= p * lp;
            }
        }
        return h;
    }

    /**
     * The fused per-layer pass: with x = layer l, f = the final layer (its probabilities precomputed in
     * {@code finalProbs}) and n = layer l+1,
     * {@code out[0] = KL(p_x ‖ p_f)}, {@code out[1] = KL(p_f ‖ p_x)}, {@code out[2] = JS(p_x, p_n)}.
     * log m = log ½(p_x + p_n) is computed in log space as max + log1p(exp(min − max)) − ln 2.
     * Tiny negative KL/JS sums from rounding are clamped to 0; JS is not clamped above (≤ ln 2 up to rounding).
     */
    public static void layerSums(float[] x, double lseX, float[] f, double lseF, double[] finalProbs,
                                 float[] n, double lseN, boolean[] masked, double[] out) {
        double klF = 0.0;
        double klR = 0.0;
        double js = 0.0;
        for (int v = 0; v < x.length; v++) {
            if (masked != null && masked[v]) {
                continue;
            }
            double a = x[v] - lseX;
            double b = f[v] - lseF;
            double c = n[v] - lseN;
            double pa = Math.exp(a);
            double pb = finalProbs[v];
            double pc = Math.exp(c);
            if (pa > 0.0) {
                klF += pa * (a - b);
            }
            if (pb > 0.0) {
                klR += pb * (b - a);
            }
            if (pa > 0.0 || pc > 0.0) {
                double hi = Math.max(a, c);
                double lo = Math.min(a, c);
                double lm = hi + Math.log1p(Math.exp(lo - hi)) - LN2;
                if (pa > 0.0) {
                    js += pa * (a - lm);
                }
                if (pc > 0.0) {
                    js += pc * (c - lm);
                }
            }
        }
        out[0] = Math.max(0.0, klF);
        out[1] = Math.max(0.0, klR);
        out[2] = Math.max(0.0, 0.5 * js);
    }

    /**
     * JS(p_x, p_y) of two rows with known log-sum-exps, m in log space as in {@link #layerSums}; clamped at 0
     * from below.
     */
    public static double js(float[] x, double lseX, float[] y, double lseY, boolean[] masked) {
        double js = 0.0;
        for (int v = 0; v < x.length; v++) {
            if (masked != null && masked[v]) {
                continue;
            }
            double a = x[v] - lseX;
            double c = y[v] - lseY;
            double pa = Math.exp(a);
            double pc = Math.exp(c);
            if (pa > 0.0 || pc > 0.0) {
                double hi = Math.max(a, c);
                double lo = Math.min(a, c);
                double lm = hi + Math.log1p(Math.exp(lo - hi)) - LN2;
                if (pa > 0.0) {
                    js += pa * (a - lm);
                }
                if (pc > 0.0) {
                    js += pc * (c - lm);
                }
            }
        }
        return Math.max(0.0, 0.5 * js);
    }

    /** cosine(a, b) in double; {@code NaN} when either vector has zero norm. */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors of length " + a.length + " and " + b.length);
        }
        double dot = 0.0;
        double na = 0.0;
        double nb = 0.0;
        for (int i = 0; i < a.length; i++) {
            double x = a[i];
            double y = b[i];
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        if (na == 0.0 || nb == 0.0) {
            return Double.NaN;
        }
        return dot / (Math.sqrt(na) * Math.sqrt(nb));
    }
}
