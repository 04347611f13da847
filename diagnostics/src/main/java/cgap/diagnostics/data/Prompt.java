package cgap.diagnostics.data;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One prompt of a prompt set.
 *
 * <p>SPEC §1, native prompting regime: PT gets the raw text ({@code formats.B}, e.g.
 * {@code "Question: {q}\nAnswer:"}), and IT gets <em>the same text</em> as its one user message, rendered with
 * its chat template. So {@link #rawText()} and {@link #userMessage()} are the same string. The bare
 * {@link #question()} is kept for an alternative rendering ({@link UserMessage#QUESTION}) but is not what
 * the SPEC's regime uses.
 *
 * @param id       the prompt id (unique within its set; PT and IT results are paired by it)
 * @param text     the raw text: {@code formats.B} of the paper's files, {@code prompt} of plain JSONL, the
 *                 line of a text file
 * @param question the bare question: the line's {@code question} field when it has one; else the {@code …}
 *                 of a text of the form {@code "Question: …\nAnswer:"}; else the text itself
 * @param fields   every field of the JSONL line as parsed (nested objects as maps, arrays as lists);
 *                 for a text file {@code {"id": …, "prompt": …}}
 */
public record Prompt(String id, String text, String question, Map<String, Object> fields) {
    private static final Pattern QA = Pattern.compile("Question: (.*)\nAnswer:", Pattern.DOTALL);

    /** Which string becomes the IT model's user message. */
    public enum UserMessage {
        /** SPEC §1 (native regime): the same raw text PT gets, e.g. {@code "Question: …\nAnswer:"}. */
        RAW_TEXT,
        /** The bare question (not the SPEC's regime; offered for comparison). */
        QUESTION
    }

    public Prompt {
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("prompt id must be non-empty");
        }
        if (text == null) {
            throw new IllegalArgumentException("prompt " + id + ": text must not be null");
        }
        if (question == null) {
            question = deriveQuestion(text);
        }
        fields = fields == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(fields));
    }

    /** A prompt with no extra fields; the question is derived from the text. */
    public static Prompt of(String id, String text) {
        return new Prompt(id, text, null, Map.of("id", id, "prompt", text));
    }

    /** The bare question inside {@code "Question: …\nAnswer:"}, or the text itself when it has another form. */
    public static String deriveQuestion(String text) {
        Matcher m = QA.matcher(text);
        return m.matches() ? m.group(1) : text;
    }

    /** The text the PT model gets. */
    public String rawText() {
        return text;
    }

    /** The IT model's user message under the SPEC's native regime: the same text as {@link #rawText()}. */
    public String userMessage() {
        return text;
    }

    /** The IT model's user message under the given choice. */
    public String userMessage(UserMessage mode) {
        return mode == UserMessage.RAW_TEXT ? text : question;
    }

    /**
     * A field by dotted path ({@code "formats.B"}, {@code "metadata.expected_behavior"}); a numeric segment
     * indexes a list. Empty when any segment is missing.
     */
    public Optional<Object> field(String dottedPath) {
        return Optional.ofNullable(lookup(fields, dottedPath));
    }

    /**
     * A field's value as a string: strings as they are, numbers and booleans by {@code toString()}, JSON null
     * as {@code "null"}; {@code null} when the field is missing.
     */
    public String fieldString(String dottedPath) {
        if (!hasField(dottedPath)) {
            return null;
        }
        Object v = lookup(fields, dottedPath);
        return v == null ? "null" : v.toString();
    }

    /** Whether the dotted path exists (its value may be JSON null). */
    public boolean hasField(String dottedPath) {
        Object cur = fields;
        for (String seg : dottedPath.split("\\.", -1)) {
            if (cur instanceof Map<?, ?> m) {
                if (!m.containsKey(seg)) {
                    return false;
                }
                cur = m.get(seg);
            } else if (cur instanceof List<?> l && isIndex(seg, l.size())) {
                cur = l.get(Integer.parseInt(seg));
            } else {
                return false;
            }
        }
        return true;
    }

    static Object lookup(Map<String, Object> fields, String dottedPath) {
        Object cur = fields;
        for (String seg : dottedPath.split("\\.", -1)) {
            if (cur instanceof Map<?, ?> m) {
                cur = m.get(seg);
            } else if (cur instanceof List<?> l && isIndex(seg, l.size())) {
                cur = l.get(Integer.parseInt(seg));
            } else {
                return null;
            }
        }
        return cur;
    }

    private static boolean isIndex(String seg, int size) {
        if (seg.isEmpty() || seg.length() > 9) {
            return false;
        }
        for (int i = 0; i < seg.length(); i++) {
            if (!Character.isDigit(seg.charAt(i))) {
                return false;
            }
        }
        return Integer.parseInt(seg) < size;
    }
}
