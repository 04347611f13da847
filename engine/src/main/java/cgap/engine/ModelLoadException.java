package cgap.engine;

/**
 * A checkpoint, config or tensor that cannot be used as given. The message always names the file
 * (and the tensor or field), what was expected and what was found.
 */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
