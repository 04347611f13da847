package cgap.diagnostics.metrics;

/**
 * Direction of the per-layer KL divergence between a layer's readout p_l and the model's final
 * distribution p_L (SPEC §3).
 */
public enum Direction {
    /** KL(p_l ‖ p_L): the paper's convergence gap (the SPEC's primary definition). */
    FORWARD("KL(p_l||p_L)"),
    /** KL(p_L ‖ p_l): what the paper's discovery-curve code computed. */
    REVERSE("KL(p_L||p_l)");

    private final String label;

    Direction(String label) {
        this.label = label;
    }

    /** The label outputs must carry so that a reader knows which direction was computed. */
    public String label() {
        return label;
    }
}
