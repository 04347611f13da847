package cgap.diagnostics.stats;

import cgap.diagnostics.metrics.LayerWindows;

/**
 * The SPEC §4 averaging order, one level at a time:
 * <ol>
 *   <li>within a token step, over the layers of a window ({@link #stepWindowMean});</li>
 *   <li>over the token steps of a prompt ({@link #promptMean}), optionally skipping the first generated
 *       steps (the paper's code drops the first step in discovery curves, the first 5 in endpoint controls);</li>
 *   <li>over the prompts of a model ({@link #modelMean});</li>
 *   <li>with equal weight over families ({@link #equalWeightMean}).</li>
 * </ol>
 * Every prompt therefore weighs the same in its model whatever its number of token steps, and every family
 * the same whatever its number of prompts. A prompt left with no token step has mean {@code NaN} and is left
 * out of its model's mean (it has no value, not the value 0).
 */
public final class Aggregation {
    private Aggregation() {
    }

    /** Level 1: mean of {@code perLayer[from..toInclusive]} ({@code NaN} if the window is empty). */
    public static double stepWindowMean(double[] perLayer, int from, int toInclusive) {
        return LayerWindows.mean(perLayer, from, toInclusive);
    }

    /** Level 2: mean of {@code stepValues[skipFirst..]}; {@code NaN} when no step remains. */
    public static double promptMean(double[] stepValues, int skipFirst) {
        checkSkip(skipFirst);
        int n = stepValues.length - skipFirst;
        if (n <= 0) {
            return Double.NaN;
        }
        double s = 0;
        for (int i = skipFirst; i < stepValues.length; i++) {
            s += stepValues[i];
        }
        return s / n;
    }

    /**
     * Level 2 per layer: {@code stepValues[step][layer]} → mean over steps {@code skipFirst..} of each layer;
     * every component {@code NaN} when no step remains.
     */
    public static double[] promptMeanPerLayer(double[][] stepValues, int layers, int skipFirst) {
        checkSkip(skipFirst);
        double[] out = new double[layers];
        int n = stepValues.length - skipFirst;
        if (n <= 0) {
            java.util.Arrays.fill(out, Double.NaN);
            return out;
        }
        for (int i = skipFirst; i < stepValues.length; i++) {
            if (stepValues[i].length != layers) {
                throw new IllegalArgumentException("step " + i + " has " + stepValues[i].length + " layers, expected " + layers);
            }
            for (int l = 0; l < layers; l++) {
                out[l] += stepValues[i][l];
            }
        }
        for (int l = 0; l < layers; l++) {
            out[l] /= n;
        }
        return out;
    }

    /** Level 3: mean of the prompt means, {@code NaN} entries (prompts without steps) left out; NaN if none. */
    public static double modelMean(double[] promptMeans) {
        double s = 0;
        int n = 0;
        for (double v : promptMeans) {
            if (!Double.isNaN(v)) {
                s += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    /** Level 3 per layer: {@code promptMeans[prompt][layer]} → per-layer mean over prompts (NaN rows left out). */
    public static double[] modelMeanPerLayer(double[][] promptMeans, int layers) {
        double[] out = new double[layers];
        for (int l = 0; l < layers; l++) {
            double s = 0;
            int n = 0;
            for (double[] p : promptMeans) {
                if (!Double.isNaN(p[l])) {
                    s += p[l];
                    n++;
                }
            }
            out[l] = n == 0 ? Double.NaN : s / n;
        }
        return out;
    }

    /** Level 4: plain mean of the model (family) means; a NaN model mean propagates (a family without data is an error). */
    public static double equalWeightMean(double[] modelMeans) {
        if (modelMeans.length == 0) {
            return Double.NaN;
        }
        double s = 0;
        for (double v : modelMeans) {
            s += v;
        }
        return s / modelMeans.length;
    }

    /**
     * Levels 2–4 at once: {@code values[model][prompt][step]} holds one number per token step (already averaged
     * over the layers of a window). Returns the equal-weight mean over models of the mean over prompts of the
     * mean over steps (after skipping the first {@code skipFirst} steps of each prompt).
     */
    public static double hierarchicalMean(double[][][] values, int skipFirst) {
        double[] models = new double[values.length];
        for (int m = 0; m < values.length; m++) {
            double[] prompts = new double[values[m].length];
            for (int p = 0; p < prompts.length; p++) {
                prompts[p] = promptMean(values[m][p], skipFirst);
            }
            models[m] = modelMean(prompts);
        }
        return equalWeightMean(models);
    }

    private static void checkSkip(int skipFirst) {
        if (skipFirst < 0) {
            throw new IllegalArgumentException("skipFirst must be >= 0, got " + skipFirst);
        }
    }
}
