package cgap.diagnostics.metrics;

/**
 * Streaming computation of {@link StepMetrics} for one token step.
 *
 * <p>Input: {@code logits[l][v]}, the readout logits of every layer l = 0 … L−1 for this step (row L−1 is the
 * model's own final distribution p_L, unless separate final logits are given: see
 * {@link #compute(float[][], float[], float[][], boolean[])}), optionally {@code resid[l][i]} (the residual stream h_l, for cosine
 * commitment) and an optional vocabulary mask. Cost per layer: a scan for the maximum and top-1
 * ({@link MetricKernels#scan}), one exponential per id ({@link MetricKernels#expRow}), one pass for KL in both
 * directions against p_L ({@link MetricKernels#klSums}) and one for JS against the next layer (two logarithms per id,
 * {@link MetricKernels#js}); vectorised, everything accumulated in double. Working memory is three double rows of V
 * (p_L, p_l, p_l+1) plus O(L): never L×V doubles.
 *
 * <p>An instance keeps its working row between calls (reused while V is unchanged), so it is not thread-safe;
 * use one instance per thread, or the static {@link #compute} conveniences.
 */
public final class Metrics {
    private double[] finalProbs = new double[0];
    private double[] cur = new double[0];
    private double[] next = new double[0];
    private final double[] scratch = new double[3];

    /** Streaming metrics without a vocabulary mask. */
    public static StepMetrics compute(float[][] logits, float[][] resid) {
        return new Metrics().step(logits, resid, null);
    }

    /**
     * Streaming metrics.
     *
     * @param logits [L][V] readout logits, not modified
     * @param resid  [L][d] residual stream, or {@code null} (then no cosine commitment)
     * @param masked {@code null} or [V]: {@code masked[v]} forces id v to −∞ before every softmax
     */
    public static StepMetrics compute(float[][] logits, float[][] resid, boolean[] masked) {
        return new Metrics().step(logits, resid, masked);
    }

    /**
     * Streaming metrics against a separately given final distribution: for a readout whose row L−1 is not the
     * model's output (the paper code's tuned lens has a probe on the last block too). p_L = softmax of
     * {@code finalLogits} (the model's own output logits, masked like the rows); KL at L−1 is then generally
     * non-zero, top-1 commitment compares with argmax p_L, and the endpoint covariates come from p_L.
     * Adjacent JS and flips stay between readout rows. {@code finalLogits == null} means "row L−1".
     */
    public static StepMetrics compute(float[][] logits, float[] finalLogits, float[][] resid, boolean[] masked) {
        return new Metrics().step(logits, finalLogits, resid, masked);
    }

    /** As {@link #compute(float[][], float[][], boolean[])}, reusing this instance's working memory. */
    public StepMetrics step(float[][] logits, float[][] resid, boolean[] masked) {
        return step(logits, null, resid, masked);
    }

    /** As {@link #compute(float[][], float[], float[][], boolean[])}, reusing this instance's working memory. */
    public StepMetrics step(float[][] logits, float[] finalLogits, float[][] resid, boolean[] masked) {
        int layers = validate(logits, resid, masked);
        int vocab = logits[0].length;
        if (finalLogits != null && finalLogits.length != vocab) {
            throw new IllegalArgumentException("final logits have length " + finalLogits.length + ", rows have " + vocab);
        }
        double[] max = new double[layers];
        int[] top1 = new int[layers];
        double finalTop1Logit = 0;
        double finalTop2Logit = 0;
        for (int l = 0; l < layers; l++) {
            try {
                top1[l] = MetricKernels.scan(logits[l], masked, scratch);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("layer " + l + ": " + e.getMessage(), e);
            }
            max[l] = scratch[1];
            finalTop1Logit = scratch[1];
            finalTop2Logit = scratch[2];
        }
        int last = layers - 1;
        float[] fin = logits[last];
        double finMax = max[last];
        int finalTop1 = top1[last];
        if (finalLogits != null) {
            fin = finalLogits;
            try {
                finalTop1 = MetricKernels.scan(fin, masked, scratch);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("final logits: " + e.getMessage(), e);
            }
            finMax = scratch[1];
            finalTop1Logit = scratch[1];
            finalTop2Logit = scratch[2];
        }
        if (finalProbs.length != vocab) {
            finalProbs = new double[vocab];
            cur = new double[vocab];
            next = new double[vocab];
        }
        double sumF = MetricKernels.expRow(fin, finMax, masked, finalProbs);
        double lseF = finMax + Math.log(sumF);
        double entropy = MetricKernels.normalize(finalProbs, 1.0 / sumF, fin, lseF);
        double top1Prob = Math.exp(finalTop1Logit - lseF);
        double margin = finalTop1Logit - finalTop2Logit;

        double[] klF = new double[layers];
        double[] klR = new double[layers];
        double[] js = new double[layers - 1];
        // p_l in pc, p_l+1 in pn; each layer's row is exponentiated once. Without separate final logits row L−1 is p_L,
        // already in finalProbs (the same row, shift, mask and kernels, so the same bits): it is not exponentiated again.
        boolean lastIsFinal = finalLogits == null;
        double[] lse = new double[layers];
        double[] pc = lastIsFinal && last == 0 ? finalProbs : rowProbs(logits, 0, max, masked, lse, cur);
        double[] pn = next;
        for (int l = 0; l < last; l++) {
            pn = lastIsFinal && l + 1 == last ? finalProbs : rowProbs(logits, l + 1, max, masked, lse, pn);
            MetricKernels.klSums(logits[l], lse[l], pc, fin, lseF, finalProbs, scratch);
            klF[l] = scratch[0];
            klR[l] = scratch[1];
            js[l] = MetricKernels.js(pc, pn);
            double[] t = pc;
            pc = pn;
            pn = t;
        }
        if (!lastIsFinal) {
            // row L−1 (now in pc) against a separate p_L
            MetricKernels.klSums(logits[last], lse[last], pc, fin, lseF, finalProbs, scratch);
            klF[last] = scratch[0];
            klR[last] = scratch[1];
        }
        // otherwise klF[last] = klR[last] = 0: p_L against itself, exactly.

        double[] remaining = new double[layers];
        int[] flips = new int[layers];
        for (int l = last - 1; l >= 0; l--) {
            remaining[l] = remaining[l + 1] + js[l];
            flips[l] = flips[l + 1] + (top1[l] != top1[l + 1] ? 1 : 0);
        }

        int k = StepMetrics.KL_THRESHOLDS.size();
        int[] commitF = new int[k];
        int[] commitR = new int[k];
        for (int t = 0; t < k; t++) {
            double tau = StepMetrics.KL_THRESHOLDS.get(t);
            commitF[t] = commitBelow(klF, tau);
            commitR[t] = commitBelow(klR, tau);
        }
        int top1Commit = last;
        for (int l = last; l >= 0 && top1[l] == finalTop1; l--) {
            top1Commit = l;
        }

        double[] cos = null;
        int[] cosCommit = null;
        if (resid != null) {
            cos = new double[layers];
            for (int l = 0; l < layers; l++) {
                cos[l] = MetricKernels.cosine(resid[l], resid[last]);
            }
            cosCommit = new int[StepMetrics.COSINE_THRESHOLDS.size()];
            for (int t = 0; t < cosCommit.length; t++) {
                double tau = StepMetrics.COSINE_THRESHOLDS.get(t);
                int c = last;
                for (int l = last; l >= 0 && cos[l] >= tau; l--) {
                    c = l;
                }
                cosCommit[t] = c;
            }
        }
        return new StepMetrics(layers, masked != null, finalLogits != null, klF, klR, js, top1, entropy, top1Prob,
                margin, finalTop1, commitF, commitR, top1Commit, cos, cosCommit, remaining, flips);
    }

    /** p_l = softmax of row l into {@code into} (returned), its log-sum-exp into {@code lse[l]}. */
    private static double[] rowProbs(float[][] logits, int l, double[] max, boolean[] masked, double[] lse, double[] into) {
        double s = MetricKernels.expRow(logits[l], max[l], masked, into);
        lse[l] = max[l] + Math.log(s);
        MetricKernels.normalize(into, 1.0 / s, logits[l], lse[l]);
        return into;
    }

    /**
     * The same-history check of SPEC §5.3: two models (PT teacher-forced on IT's tokens, and IT) at the same
     * step, {@code JS(p^a_l, p^b_l)} at every layer l. Both logit arrays must have the same shape.
     *
     * @return [L] per-layer JS in nats, in [0, ln 2]
     */
    public static double[] sameLayerJs(float[][] a, float[][] b, boolean[] masked) {
        int layers = validate(a, null, masked);
        validate(b, null, masked);
        if (b.length != layers || b[0].length != a[0].length) {
            throw new IllegalArgumentException("logits of shape [" + layers + "][" + a[0].length + "] and ["
                    + b.length + "][" + b[0].length + "]");
        }
        int vocab = a[0].length;
        double[] sc = new double[3], pa = new double[vocab], pb = new double[vocab];
        double[] out = new double[layers];
        for (int l = 0; l < layers; l++) {
            MetricKernels.scan(a[l], masked, sc);
            double ma = sc[1];
            MetricKernels.scan(b[l], masked, sc);
            double mb = sc[1];
            double sa = MetricKernels.expRow(a[l], ma, masked, pa), sb = MetricKernels.expRow(b[l], mb, masked, pb);
            double la = ma + Math.log(sa), lb = mb + Math.log(sb);
            MetricKernels.normalize(pa, 1.0 / sa, a[l], la);
            MetricKernels.normalize(pb, 1.0 / sb, b[l], lb);
            out[l] = MetricKernels.js(pa, pb);
        }
        return out;
    }

    /** Earliest l with kl[j] &lt; tau for every j ≥ l; L−1 when the condition fails at L−1. */
    private static int commitBelow(double[] kl, double tau) {
        int c = kl.length - 1;
        for (int l = kl.length - 1; l >= 0 && kl[l] < tau; l--) {
            c = l;
        }
        return c;
    }

    /** Shape checks shared with {@link MetricsReference}; returns L. */
    static int validate(float[][] logits, float[][] resid, boolean[] masked) {
        if (logits == null || logits.length == 0) {
            throw new IllegalArgumentException("logits must have at least one layer");
        }
        int vocab = logits[0].length;
        if (vocab == 0) {
            throw new IllegalArgumentException("logits rows must not be empty");
        }
        for (int l = 0; l < logits.length; l++) {
            if (logits[l].length != vocab) {
                throw new IllegalArgumentException("logits row " + l + " has length " + logits[l].length
                        + ", row 0 has " + vocab);
            }
        }
        if (masked != null && masked.length != vocab) {
            throw new IllegalArgumentException("mask has length " + masked.length + ", vocabulary is " + vocab);
        }
        if (resid != null) {
            if (resid.length != logits.length) {
                throw new IllegalArgumentException("resid has " + resid.length + " layers, logits have " + logits.length);
            }
            int d = resid[0].length;
            for (int l = 0; l < resid.length; l++) {
                if (resid[l].length != d) {
                    throw new IllegalArgumentException("resid row " + l + " has length " + resid[l].length
                            + ", row 0 has " + d);
                }
            }
        }
        return logits.length;
    }
}
