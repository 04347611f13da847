package cgap.diagnostics.metrics;

import java.util.Arrays;

/**
 * The plain, obviously-correct reference for {@link Metrics}: it materialises every layer's log-probabilities
 * as L×V doubles, uses the textbook formulas literally, and derives commitment by checking every later layer
 * (O(L²)). It exists to be compared against the streaming implementation (and any later vectorised one);
 * never use it on real vocabularies in a run.
 */
public final class MetricsReference {
    private MetricsReference() {
    }

    /** Reference metrics without a vocabulary mask. */
    public static StepMetrics compute(float[][] logits, float[][] resid) {
        return compute(logits, resid, null);
    }

    /** Reference metrics; same contract as {@link Metrics#compute(float[][], float[][], boolean[])}. */
    public static StepMetrics compute(float[][] logits, float[][] resid, boolean[] masked) {
        return compute(logits, null, resid, masked);
    }

    /**
     * Reference metrics against a separate final distribution; same contract as
     * {@link Metrics#compute(float[][], float[], float[][], boolean[])}.
     */
    public static StepMetrics compute(float[][] readouts, float[] finalLogits, float[][] resid, boolean[] masked) {
        Metrics.validate(readouts, resid, masked);
        int layers = readouts.length;
        int vocab = readouts[0].length;
        int last = layers - 1;
        if (finalLogits != null && finalLogits.length != vocab) {
            throw new IllegalArgumentException("final logits have length " + finalLogits.length + ", rows have " + vocab);
        }
        // rows 0..L-1 are the readouts; row L is p_L (a copy of row L-1 when no separate final is given)
        float[][] logits = java.util.Arrays.copyOf(readouts, layers + 1);
        logits[layers] = finalLogits != null ? finalLogits : readouts[last];
        int fin = layers;

        // log p_l(v) for every row: max, then log of the sum of exp(x - max).
        double[][] logp = new double[layers + 1][vocab];
        int[] top1All = new int[layers + 1];
        for (int l = 0; l <= layers; l++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                float x = logits[l][v];
                if (Float.isNaN(x) || x == Float.POSITIVE_INFINITY) {
                    throw new IllegalArgumentException("layer " + l + ": logit at id " + v + " is " + x);
                }
                if (!isMasked(masked, v) && x > max) {
                    max = x;
                    top1All[l] = v;
                }
            }
            if (max == Double.NEGATIVE_INFINITY) {
                throw new IllegalArgumentException("layer " + l + ": every id of the row is masked or -inf");
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                if (!isMasked(masked, v)) {
                    sum += Math.exp(logits[l][v] - max);
                }
            }
            double lse = max + Math.log(sum);
            for (int v = 0; v < vocab; v++) {
                logp[l][v] = isMasked(masked, v) ? Double.NEGATIVE_INFINITY : logits[l][v] - lse;
            }
        }

        int[] top1 = java.util.Arrays.copyOf(top1All, layers);
        int finalTop1 = top1All[fin];
        double[] klF = new double[layers];
        double[] klR = new double[layers];
        for (int l = 0; l < layers; l++) {
            klF[l] = kl(logp[l], logp[fin]);
            klR[l] = kl(logp[fin], logp[l]);
        }
        double[] js = new double[layers - 1];
        for (int j = 0; j < layers - 1; j++) {
            js[j] = js(logp[j], logp[j + 1]);
        }

        double entropy = 0;
        for (int v = 0; v < vocab; v++) {
            double p = Math.exp(logp[fin][v]);
            if (p > 0) {
                entropy -= p * logp[fin][v];
            }
        }
        double[] sorted = logp[fin].clone();
        Arrays.sort(sorted);
        double top1Prob = Math.exp(sorted[vocab - 1]);
        double margin = vocab >= 2 ? sorted[vocab - 1] - sorted[vocab - 2] : Double.POSITIVE_INFINITY;

        double[] remaining = new double[layers];
        int[] flips = new int[layers];
        for (int l = 0; l < layers; l++) {
            for (int j = l; j <= layers - 2; j++) {
                remaining[l] += js[j];
                if (top1[j] != top1[j + 1]) {
                    flips[l]++;
                }
            }
        }

        int k = StepMetrics.KL_THRESHOLDS.size();
        int[] commitF = new int[k];
        int[] commitR = new int[k];
        for (int t = 0; t < k; t++) {
            double tau = StepMetrics.KL_THRESHOLDS.get(t);
            boolean[] okF = new boolean[layers];
            boolean[] okR = new boolean[layers];
            for (int l = 0; l < layers; l++) {
                okF[l] = klF[l] < tau;
                okR[l] = klR[l] < tau;
            }
            commitF[t] = commitment(okF);
            commitR[t] = commitment(okR);
        }
        boolean[] same = new boolean[layers];
        for (int l = 0; l < layers; l++) {
            same[l] = top1[l] == finalTop1;
        }
        int top1Commit = commitment(same);

        double[] cos = null;
        int[] cosCommit = null;
        if (resid != null) {
            cos = new double[layers];
            for (int l = 0; l < layers; l++) {
                double dot = 0;
                double a = 0;
                double b = 0;
                for (int i = 0; i < resid[l].length; i++) {
                    dot += (double) resid[l][i] * resid[last][i];
                    a += (double) resid[l][i] * resid[l][i];
                    b += (double) resid[last][i] * resid[last][i];
                }
                cos[l] = (a == 0 || b == 0) ? Double.NaN : dot / Math.sqrt(a * b);
            }
            cosCommit = new int[StepMetrics.COSINE_THRESHOLDS.size()];
            for (int t = 0; t < cosCommit.length; t++) {
                boolean[] ok = new boolean[layers];
                for (int l = 0; l < layers; l++) {
                    ok[l] = cos[l] >= StepMetrics.COSINE_THRESHOLDS.get(t);
                }
                cosCommit[t] = commitment(ok);
            }
        }
        return new StepMetrics(layers, masked != null, finalLogits != null, klF, klR, js, top1, entropy, top1Prob,
                margin, finalTop1, commitF, commitR, top1Commit, cos, cosCommit, remaining, flips);
    }

    /** Reference for {@link Metrics#sameLayerJs}: layer-wise JS between two models' readouts. */
    public static double[] sameLayerJs(float[][] a, float[][] b, boolean[] masked) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("different layer counts " + a.length + " and " + b.length);
        }
        double[] out = new double[a.length];
        for (int l = 0; l < a.length; l++) {
            StepMetrics m = compute(new float[][] {a[l], b[l]}, null, masked);
            out[l] = m.adjacentJs()[0];
        }
        return out;
    }

    /** KL(p ‖ q) = Σ_v p(v) (log p(v) − log q(v)), terms with p(v) = 0 contributing 0. */
    static double kl(double[] logp, double[] logq) {
        double s = 0;
        for (int v = 0; v < logp.length; v++) {
            double p = Math.exp(logp[v]);
            if (p > 0) {
                s += p * (logp[v] - logq[v]);
            }
        }
        return Math.max(0.0, s);
    }

    /** JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½ (p + q). */
    static double js(double[] logp, double[] logq) {
        double s = 0;
        for (int v = 0; v < logp.length; v++) {
            double p = Math.exp(logp[v]);
            double q = Math.exp(logq[v]);
            double m = 0.5 * (p + q);
            if (p > 0) {
                s += 0.5 * p * (logp[v] - Math.log(m));
            }
            if (q > 0) {
                s += 0.5 * q * (logq[v] - Math.log(m));
            }
        }
        return Math.max(0.0, s);
    }

    /** Earliest l such that ok[j] holds for every j ≥ l; L−1 if there is none. */
    static int commitment(boolean[] ok) {
        for (int l = 0; l < ok.length; l++) {
            boolean all = true;
            for (int j = l; j < ok.length; j++) {
                all &= ok[j];
            }
            if (all) {
                return l;
            }
        }
        return ok.length - 1;
    }

    private static boolean isMasked(boolean[] masked, int v) {
        return masked != null && masked[v];
    }
}
