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
 * <p>A second readout of the same step against the same p_L (the tuned lens after the raw lens) takes p_L and the
 * residual cosines from the first instead of computing them again: {@link #stepAgainst}.
 *
 * <p>An instance keeps its working row between calls (reused while V is unchanged), so it is not thread-safe;
 * use one instance per thread, or the static {@link #compute} conveniences.
 */
public final class Metrics {
    private double[] finalProbs = new double[0];
    private double[] cur = new double[0];
    private double[] next = new double[0];
    private final double[] scratch = new double[3];
    /** p_L of the last {@link #step}, for {@link #stepAgainst}; {@code null} before the first. */
    private Final lastFinal;

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
        if (finalLogits != null) checkFinalLength(finalLogits, vocab);
        double[] max = new double[layers];
        int[] top1 = scanRows(logits, masked, max);
        double finalTop2Logit = scratch[2]; // row L−1's, left by scanRows
        int last = layers - 1;
        float[] fin = logits[last];
        double finMax = max[last]; // the maximum of p_L's row, which is its top-1 logit (scan: scratch[1])
        int finalTop1 = top1[last];
        if (finalLogits != null) {
            fin = finalLogits;
            try {
                finalTop1 = MetricKernels.scan(fin, masked, scratch);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("final logits: " + e.getMessage(), e);
            }
            finMax = scratch[1];
            finalTop2Logit = scratch[2];
        }
        rows(vocab);
        double sumF = MetricKernels.expRow(fin, finMax, masked, finalProbs);
        double lseF = finMax + Math.log(sumF);
        double entropy = MetricKernels.normalize(finalProbs, 1.0 / sumF, fin, lseF);
        double top1Prob = Math.exp(finMax - lseF);
        double margin = finMax - finalTop2Logit;

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
        Final f = new Final(fin, masked, lseF, finalProbs, finalTop1, entropy, top1Prob, margin, cos, cosCommit);
        StepMetrics m = readout(logits, max, top1, finalLogits == null, f);
        lastFinal = f;
        return m;
    }

    /**
     * A second readout of the step that {@code first} computed last (the tuned lens after the raw lens): the same
     * bits as {@code step(logits, f, resid, masked)} with f the final logits of that step (its row L−1, or its separate
     * final logits), and its residuals and mask. p_L, its log-sum-exp, the endpoint figures and the residual cosines are
     * taken from that step instead of computed again: the same row and residuals through the same kernels. The
     * arrays that step was given must not have changed since, and {@code first} must not have stepped again.
     * {@code first} may be this instance; the result has {@link StepMetrics#separateFinal()} set.
     *
     * @throws IllegalStateException when {@code first} has computed no step yet
     */
    public StepMetrics stepAgainst(float[][] logits, Metrics first) {
        Final f = first.lastFinal;
        if (f == null) {
            throw new IllegalStateException("the first readout has computed no step to read against");
        }
        int layers = validate(logits, null, f.masked);
        if (f.cos != null && f.cos.length != layers) {
            throw new IllegalArgumentException("resid has " + f.cos.length + " layers, logits have " + layers);
        }
        int vocab = logits[0].length;
        checkFinalLength(f.logits, vocab);
        double[] max = new double[layers];
        int[] top1 = scanRows(logits, f.masked, max);
        rows(vocab);
        // the cosines are copied: each StepMetrics owns its arrays
        Final own = new Final(f.logits, f.masked, f.lse, f.probs, f.top1, f.entropy, f.top1Prob, f.margin,
                f.cos == null ? null : f.cos.clone(), f.cosCommit == null ? null : f.cosCommit.clone());
        return readout(logits, max, top1, false, own);
    }

    /**
     * p_L and what depends on it alone: its logits, mask, log-sum-exp, probabilities (the {@code finalProbs} row of
     * the instance that computed it), top-1 id, entropy, top-1 probability and margin; and the residual cosines.
     */
    private record Final(float[] logits, boolean[] masked, double lse, double[] probs, int top1, double entropy,
                         double top1Prob, double margin, double[] cos, int[] cosCommit) {
    }

    /** Scans every row: top-1 ids returned, maxima into {@code max}; row L−1's top-1 and top-2 logits left in scratch. */
    private int[] scanRows(float[][] logits, boolean[] masked, double[] max) {
        int[] top1 = new int[logits.length];
        for (int l = 0; l < logits.length; l++) {
            try {
                top1[l] = MetricKernels.scan(logits[l], masked, scratch);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("layer " + l + ": " + e.getMessage(), e);
            }
            max[l] = scratch[1];
        }
        return top1;
    }

    /** The working rows sized for a vocabulary of V. */
    private void rows(int vocab) {
        if (finalProbs.length != vocab) {
            finalProbs = new double[vocab];
            cur = new double[vocab];
            next = new double[vocab];
        }
    }

    /**
     * The per-layer figures of a readout against p_L. {@code lastIsFinal}: row L−1 is p_L's own row (no separate
     * final logits), so its probabilities are {@code f.probs} and its KL to p_L is exactly 0.
     */
    private StepMetrics readout(float[][] logits, double[] max, int[] top1, boolean lastIsFinal, Final f) {
        int layers = logits.length;
        int last = layers - 1;
        boolean[] masked = f.masked;
        double[] klF = new double[layers];
        double[] klR = new double[layers];
        double[] js = new double[layers - 1];
        // p_l in pc, p_l+1 in pn; each layer's row is exponentiated once. Without separate final logits row L−1 is p_L,
        // already in f.probs (the same row, shift, mask and kernels, so the same bits): it is not exponentiated again.
        double[] lse = new double[layers];
        double[] pc = lastIsFinal && last == 0 ? f.probs : rowProbs(logits, 0, max, masked, lse, cur);
        double[] pn = next;
        for (int l = 0; l < last; l++) {
            pn = lastIsFinal && l + 1 == last ? f.probs : rowProbs(logits, l + 1, max, masked, lse, pn);
            MetricKernels.klSums(logits[l], lse[l], pc, f.logits, f.lse, f.probs, scratch);
            klF[l] = scratch[0];
            klR[l] = scratch[1];
            js[l] = MetricKernels.js(pc, pn);
            double[] t = pc;
            pc = pn;
            pn = t;
        }
        if (!lastIsFinal) {
            // row L−1 (now in pc) against a separate p_L
            MetricKernels.klSums(logits[last], lse[last], pc, f.logits, f.lse, f.probs, scratch);
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
        for (int l = last; l >= 0 && top1[l] == f.top1; l--) {
            top1Commit = l;
        }
        return new StepMetrics(layers, masked != null, !lastIsFinal, klF, klR, js, top1, f.entropy, f.top1Prob,
                f.margin, f.top1, commitF, commitR, top1Commit, f.cos, f.cosCommit, remaining, flips);
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
    /** The final logits must have one entry per id of the rows. */
    private static void checkFinalLength(float[] finalLogits, int vocab) {
        if (finalLogits.length != vocab) {
            throw new IllegalArgumentException("final logits have length " + finalLogits.length + ", rows have " + vocab);
        }
    }

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
