package cgap.diagnostics.data;

/**
 * A {@code where} condition on a prompt's fields: {@code field=value} or {@code field!=value}, the field a
 * dotted path ({@code split=GEN}, {@code metadata.expected_behavior=comply}). The field's value is compared
 * as a string ({@link Prompt#fieldString}); a prompt without the field does not satisfy {@code =} and does
 * satisfy {@code !=}.
 */
public record PromptFilter(String field, String value, boolean negated) {

    public PromptFilter {
        if (field == null || field.isEmpty()) {
            throw new IllegalArgumentException("filter field must be non-empty");
        }
        if (value == null) {
            throw new IllegalArgumentException("filter value must not be null");
        }
    }

    /** Parses {@code field=value} or {@code field!=value} (split at the first {@code =}). */
    public static PromptFilter parse(String expression) {
        int eq = expression.indexOf('=');
        if (eq <= 0 || (eq == 1 && expression.charAt(0) == '!')) {
            throw new IllegalArgumentException("filter '" + expression + "': expected field=value or field!=value");
        }
        boolean neg = expression.charAt(eq - 1) == '!';
        String field = expression.substring(0, neg ? eq - 1 : eq).strip();
        if (field.isEmpty()) {
            throw new IllegalArgumentException("filter '" + expression + "': empty field");
        }
        return new PromptFilter(field, expression.substring(eq + 1), neg);
    }

    public boolean test(Prompt p) {
        String v = p.fieldString(field);
        boolean eq = value.equals(v);
        return negated != eq;
    }

    @Override
    public String toString() {
        return field + (negated ? "!=" : "=") + value;
    }
}
