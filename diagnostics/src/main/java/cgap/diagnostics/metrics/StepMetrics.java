package cgap.diagnostics.metrics;

import java.util.List;

/**
 * Every SPEC §3 metric of one token step (one decoding position), computed from the per-layer readout
 * logits of that step by {@link Metrics} (streaming) or {@link MetricsReference} (plain reference).
 *
 * <p>Layers are indexed 0 … L−1. The final distribution p_L is, by default, the readout row L−1 itself (the
 * raw lens at L−1 is the model's own output); for a readout whose row L−1 is not the model's output (a tuned
 * lens with a probe on the last block, as in the paper's code) the model's own final logits are passed
 * separately ({@link #separateFinal()}). All divergences are in nats. The arrays are owned by the record and
 * returned without copying: treat them as read-only.
 *
 * @param layers          L, the number of decoder layers (rows of the logits)
 * @param masked          whether a vocabulary mask (ids forced to −∞ before the softmax) was applied
 * @param separateFinal   whether p_L came from separate final logits rather than readout row L−1
 * @param klForward       [L] KL(p_l ‖ p_L) (the paper's convergence gap); exactly 0 at L−1 unless separateFinal
 * @param klReverse       [L] KL(p_L ‖ p_l) (the discovery-curve code's direction); exactly 0 at L−1 unless
 *                        separateFinal
 * @param adjacentJs      [L−1] JS(p_j, p_{j+1}), j = 0 … L−2
 * @param top1            [L] argmax p_l (lowest id on ties; masked ids never win)
 * @param finalEntropy    entropy of p_L, −Σ p log p
 * @param finalTop1Prob   max p_L
 * @param finalTop1Margin log p_L(top-1) − log p_L(top-2) (= the logit difference; 0 on a tie for first,
 *                        +∞ when only one id has non-zero probability)
 * @param finalTop1       argmax p_L (= top1[L−1] unless separateFinal)
 * @param klCommitForward [{@link #KL_THRESHOLDS}.size()] commitment layer for KL(p_l‖p_L) &lt; τ
 * @param klCommitReverse [{@link #KL_THRESHOLDS}.size()] commitment layer for KL(p_L‖p_l) &lt; τ (an extra,
 *                        the SPEC's condition is the forward one)
 * @param top1Commit      commitment layer for argmax p_l = argmax p_L ("top-1 no flip-back")
 * @param cosineToFinal   [L] cosine(h_l, h_{L−1}) of the residual stream, or {@code null} when no residuals
 *                        were given; {@code NaN} where a vector has zero norm
 * @param cosineCommit    [{@link #COSINE_THRESHOLDS}.size()] commitment layer for cosine ≥ τ, or {@code null}
 * @param remainingJs     [L] Σ_{j=l}^{L−2} JS(p_j, p_{j+1}) from each layer l (0 at L−1)
 * @param futureFlips     [L] #{j ∈ [l, L−2] : argmax p_j ≠ argmax p_{j+1}} from each layer l (0 at L−1)
 */
public record StepMetrics(
        int layers,
        boolean masked,
        boolean separateFinal,
        double[] klForward,
        double[] klReverse,
        double[] adjacentJs,
        int[] top1,
        double finalEntropy,
        double finalTop1Prob,
        double finalTop1Margin,
        int finalTop1,
        int[] klCommitForward,
        int[] klCommitReverse,
        int top1Commit,
        double[] cosineToFinal,
        int[] cosineCommit,
        double[] remainingJs,
        int[] futureFlips) {

    /** SPEC §3 KL commitment thresholds τ (nats), in this order in {@link #klCommitForward()}. */
    public static final List<Double> KL_THRESHOLDS = List.of(0.05, 0.1, 0.2, 0.5, 1.0);
    /** SPEC §3 cosine commitment thresholds, in this order in {@link #cosineCommit()}. */
    public static final List<Double> COSINE_THRESHOLDS = List.of(0.8, 0.9, 0.95, 0.99);

    public StepMetrics {
        if (layers < 1) {
            throw new IllegalArgumentException("layers must be >= 1, got " + layers);
        }
        check("klForward", klForward.length, layers);
        check("klReverse", klReverse.length, layers);
        check("adjacentJs", adjacentJs.length, layers - 1);
        check("top1", top1.length, layers);
        check("klCommitForward", klCommitForward.length, KL_THRESHOLDS.size());
        check("klCommitReverse", klCommitReverse.length, KL_THRESHOLDS.size());
        check("remainingJs", remainingJs.length, layers);
        check("futureFlips", futureFlips.length, layers);
        if ((cosineToFinal == null) != (cosineCommit == null)) {
            throw new IllegalArgumentException("cosineToFinal and cosineCommit must both be present or both null");
        }
        if (cosineToFinal != null) {
            check("cosineToFinal", cosineToFinal.length, layers);
            check("cosineCommit", cosineCommit.length, COSINE_THRESHOLDS.size());
        }
    }

    private static void check(String name, int got, int want) {
        if (got != want) {
            throw new IllegalArgumentException(name + " has length " + got + ", expected " + want);
        }
    }

    /** The per-layer KL in the given direction ([L], not copied). */
    public double[] kl(Direction direction) {
        return direction == Direction.FORWARD ? klForward : klReverse;
    }

    /** Whether cosine commitment is available (residuals were given). */
    public boolean hasCosine() {
        return cosineToFinal != null;
    }

    /**
     * Late KL (SPEC §3, "final-20%"): mean of the per-layer KL over l ∈ [⌊0.8 L⌋, L−1], or [⌊0.8 L⌋, L−2]
     * when {@code excludeLast}; {@code NaN} if that window is empty.
     */
    public double lateKl(Direction direction, boolean excludeLast) {
        return LayerWindows.mean(kl(direction), LayerWindows.lateStart(layers),
                LayerWindows.lateEnd(layers, excludeLast));
    }

    /** Late KL including the last layer (the SPEC's default). */
    public double lateKl(Direction direction) {
        return lateKl(direction, false);
    }

    /** Mean of the per-layer KL over the final half l ∈ [⌊L/2⌋, L−1] of this step. */
    public double finalHalfKl(Direction direction) {
        return LayerWindows.mean(kl(direction), LayerWindows.finalHalfStart(layers), layers - 1);
    }

    /** Mean of {@link #remainingJs()} over the late pre-final layers [⌊0.8 L⌋, L−2]; {@code NaN} if empty. */
    public double lateRemainingJs() {
        return LayerWindows.mean(remainingJs, LayerWindows.lateStart(layers), LayerWindows.latePreFinalEnd(layers));
    }

    /** Mean of {@link #futureFlips()} over the late pre-final layers [⌊0.8 L⌋, L−2]; {@code NaN} if empty. */
    public double lateFutureFlips() {
        return LayerWindows.mean(futureFlips, LayerWindows.lateStart(layers), LayerWindows.latePreFinalEnd(layers));
    }

    /** The commitment layer for KL threshold {@code KL_THRESHOLDS.get(thresholdIndex)} in the given direction. */
    public int klCommit(Direction direction, int thresholdIndex) {
        return (direction == Direction.FORWARD ? klCommitForward : klCommitReverse)[thresholdIndex];
    }

    /** A layer as a fraction of depth, l / (L−1) (0 for a one-layer model). */
    public double depthFraction(int layer) {
        return layers == 1 ? 0.0 : layer / (double) (layers - 1);
    }

    /** {@link #klCommit} as a fraction of depth. */
    public double klCommitFraction(Direction direction, int thresholdIndex) {
        return depthFraction(klCommit(direction, thresholdIndex));
    }

    /** {@link #top1Commit()} as a fraction of depth. */
    public double top1CommitFraction() {
        return depthFraction(top1Commit);
    }

    /** Cosine commitment for threshold {@code COSINE_THRESHOLDS.get(i)} as a fraction of depth. */
    public double cosineCommitFraction(int thresholdIndex) {
        if (cosineCommit == null) {
            throw new IllegalStateException("no residuals were given: cosine commitment is unavailable");
        }
        return depthFraction(cosineCommit[thresholdIndex]);
    }
}
