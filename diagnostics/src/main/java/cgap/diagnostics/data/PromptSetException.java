package cgap.diagnostics.data;

/**
 * A prompt file that cannot be used, with where: the file, the 1-based line number (0 when the problem is not
 * tied to a line) and the field (null when not tied to a field). The message reads
 * {@code file:line: field 'formats.B': missing}.
 */
public final class PromptSetException extends IllegalArgumentException {
    private final String source;
    private final int line;
    private final String field;

    public PromptSetException(String source, int line, String field, String problem) {
        super(source + (line > 0 ? ":" + line : "") + ": " + (field != null ? "field '" + field + "': " : "") + problem);
        this.source = source;
        this.line = line;
        this.field = field;
    }

    /** The file (or resource) name. */
    public String source() {
        return source;
    }

    /** The 1-based line number, 0 if none. */
    public int line() {
        return line;
    }

    /** The field, or null. */
    public String field() {
        return field;
    }
}
