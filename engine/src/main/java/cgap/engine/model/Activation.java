package cgap.engine.model;

/** The gate nonlinearity of a gated MLP: out = act(gate(x)) * up(x). */
public enum Activation {
    /** x * sigmoid(x) (Llama, Mistral, Qwen, OLMo 2). */
    SILU,
    /** GELU with the tanh approximation, transformers' {@code gelu_pytorch_tanh} (Gemma). */
    GELU_TANH,
    /** Exact GELU with erf. */
    GELU;

    public static Activation parse(String name, String where) {
        if (name == null) return SILU;
        return switch (name) {
            case "silu", "swish" -> SILU;
            case "gelu_pytorch_tanh", "gelu_tanh", "gelu_new", "gelu_fast" -> GELU_TANH;
            case "gelu" -> GELU;
            default -> throw new cgap.engine.ModelLoadException(where + ": unsupported activation '" + name + "' (supported: silu, gelu_pytorch_tanh, gelu)");
        };
    }
}
