package cgap.tokenizer;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Translates the Oniguruma regular expressions found in {@code tokenizer.json} (Hugging Face
 * tokenizers compiles them with onig, Unicode mode) into {@link java.util.regex.Pattern}s with
 * the same matches.
 *
 * <p>Differences handled: {@code \s}/{@code \S} are Unicode White_Space (Java's default is
 * ASCII), {@code \d}, {@code \w}, {@code \h} are Unicode/onig flavoured, {@code .} excludes only
 * {@code \n}, {@code \p{Han}}-style script names become {@code \p{IsHan}}. {@code (?i:...)} keeps
 * Java's ASCII-only case folding, which is what transformers.js does as well. Possessive
 * quantifiers, atomic groups and look-arounds exist in Java with the same syntax.
 */
final class Regexes {
    private Regexes() {}

    static final String WS = "\\p{IsWhite_Space}";
    static final String WORD_IN_CLASS = "\\p{IsAlphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u00B2\\u00B3\\u00B9\\u00BC-\\u00BE";
    static final String HEX = "0-9A-Fa-f";

    private static final java.util.Set<String> CATEGORIES = java.util.Set.of(
            "L", "Lu", "Ll", "Lt", "Lm", "Lo", "LC", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No",
            "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So",
            "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co", "Cn");

    /** GPT-2's pre-tokenization pattern, used by the ByteLevel pre-tokenizer with use_regex. */
    static final Pattern GPT2 = compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");


    static Pattern compile(String onig) {
        String java = translate(onig);
        try {
            return Pattern.compile(java);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("cannot translate regex " + onig + ": " + e.getDescription(), e);
        }
    }

    static String translate(String re) {
        StringBuilder out = new StringBuilder(re.length() + 32);
        int depth = 0; // character-class nesting depth
        int n = re.length();
        for (int i = 0; i < n; i++) {
            char c = re.charAt(i);
            if (c == '\\' && i + 1 < n) {
                char e = re.charAt(i + 1);
                i++;
                switch (e) {
                    case 's' -> out.append(depth > 0 ? WS : "[" + WS + "]");
                    case 'S' -> out.append(depth > 0 ? "\\P{IsWhite_Space}" : "[^" + WS + "]");
                    case 'd' -> out.append("\\p{Nd}");
                    case 'D' -> out.append("\\P{Nd}");
                    case 'w' -> out.append(depth > 0 ? WORD_IN_CLASS : "[" + WORD_IN_CLASS + "]");
                    case 'W' -> out.append("[^" + WORD_IN_CLASS + "]");
                    case 'h' -> out.append(depth > 0 ? HEX : "[" + HEX + "]");
                    case 'H' -> out.append("[^" + HEX + "]");
                    case 'p', 'P' -> {
                        if (i + 1 < n && re.charAt(i + 1) == '{') {
                            int close = re.indexOf('}', i + 2);
                            if (close < 0) throw new IllegalArgumentException("unterminated \\p{ in regex " + re);
                            String name = re.substring(i + 2, close);
                            boolean neg = e == 'P';
                            if (name.startsWith("^")) { neg = !neg; name = name.substring(1); }
                            String javaName;
                            if (CATEGORIES.contains(name)) javaName = name;
                            else if (name.equals("White_Space") || name.equals("Alphabetic")) javaName = "Is" + name;
                            else javaName = "Is" + name;
                            out.append('\\').append(neg ? 'P' : 'p').append('{').append(javaName).append('}');
                            i = close;
                        } else {
                            out.append('\\').append(e);
                        }
                    }
                    case 'A' -> out.append("\\A");
                    case 'z' -> out.append("\\z");
                    case 'Z' -> out.append("(?=\\n?\\z)");
                    case 'a' -> out.append("\\x07");
                    case 'e' -> out.append("\\x1B");
                    default -> out.append('\\').append(e);
                }
                continue;
            }
            if (depth > 0) {
                if (c == '[') {
                    // onig allows nested classes like Java; also POSIX brackets [:alpha:]
                    if (i + 1 < n && re.charAt(i + 1) == ':') {
                        int close = re.indexOf(":]", i + 2);
                        if (close > 0) {
                            String name = re.substring(i + 2, close);
                            boolean neg = name.startsWith("^");
                            if (neg) name = name.substring(1);
                            String frag = switch (name) {
                                case "alpha" -> "\\p{IsAlphabetic}";
                                case "alnum" -> "\\p{IsAlphabetic}\\p{Nd}";
                                case "digit" -> "\\p{Nd}";
                                case "lower" -> "\\p{IsLowercase}";
                                case "upper" -> "\\p{IsUppercase}";
                                case "space" -> WS;
                                case "blank" -> "\\t\\p{Zs}";
                                case "punct" -> "\\p{P}\\p{S}";
                                case "cntrl" -> "\\p{Cc}";
                                case "word" -> WORD_IN_CLASS;
                                case "xdigit" -> HEX;
                                default -> throw new IllegalArgumentException("unsupported POSIX class [:" + name + ":] in regex " + re);
                            };
                            out.append(neg ? "[^" + frag + "]" : frag);
                            i = close + 1;
                            continue;
                        }
                    }
                    depth++;
                    out.append(c);
                    if (i + 1 < n && re.charAt(i + 1) == '^') { out.append('^'); i++; }
                    if (i + 1 < n && re.charAt(i + 1) == ']') { out.append("\\]"); i++; }
                    continue;
                }
                if (c == ']') { depth--; out.append(c); continue; }
                if (c == '&' && i + 1 < n && re.charAt(i + 1) == '&') { out.append("&&"); i++; continue; }
                out.append(c);
                continue;
            }
            switch (c) {
                case '[' -> {
                    depth++;
                    out.append(c);
                    if (i + 1 < n && re.charAt(i + 1) == '^') { out.append('^'); i++; }
                    if (i + 1 < n && re.charAt(i + 1) == ']') { out.append("\\]"); i++; }
                }
                case '.' -> out.append("[^\\n]");
                case '^' -> out.append("(?:(?<![\\s\\S])|(?<=\\n))");
                case '$' -> out.append("(?:(?=\\n)|(?![\\s\\S]))");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
