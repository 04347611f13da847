package cgap.engine.model;

/**
 * The model families the engine knows. Each is a recipe that turns a {@code config.json} into a
 * {@link ModelConfig}: which norms sit where, the tensor names of each role, biases, q/k norms, embedding scale.
 * Adding a dense family is adding a constant and its case in {@link ModelConfig#fromJson}.
 */
public enum Family {
    LLAMA("llama"), MISTRAL("mistral"), QWEN2("qwen2"), QWEN3("qwen3"), GEMMA3("gemma3"), OLMO2("olmo2");

    public final String id;

    Family(String id) {
        this.id = id;
    }

    /** Maps an HF {@code model_type} to a family, or null. */
    public static Family ofModelType(String modelType) {
        return switch (modelType) {
            case "llama" -> LLAMA;
            case "mistral" -> MISTRAL;
            case "qwen2" -> QWEN2;
            case "qwen3" -> QWEN3;
            case "gemma3", "gemma3_text" -> GEMMA3;
            case "olmo2" -> OLMO2;
            default -> null;
        };
    }
}
