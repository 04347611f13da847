package cgap.tokenizer.template;

/**
 * A chat template failed to parse or to render. The message names the template line and column
 * (1-based) where that is known; {@link #reason()} is the bare message (for {@code raise_exception}
 * it is exactly the text the template passed).
 */
public final class TemplateException extends RuntimeException {
  private final String reason;
  private final int line;
  private final int column;

  public TemplateException(String reason, int line, int column) {
    this(reason, line, column, null);
  }

  public TemplateException(String reason, int line, int column, Throwable cause) {
    super(format(reason, line, column), cause);
    this.reason = reason;
    this.line = line;
    this.column = column;
  }

  private static String format(String reason, int line, int column) {
    if (line <= 0) return reason;
    return "template line " + line + ", column " + column + ": " + reason;
  }

  /** The message without the location prefix. */
  public String reason() {
    return reason;
  }

  /** 1-based template line, or 0 if unknown. */
  public int line() {
    return line;
  }

  /** 1-based template column, or 0 if unknown. */
  public int column() {
    return column;
  }
}
