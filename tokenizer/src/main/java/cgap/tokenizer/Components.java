package cgap.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Normalizers, pre-tokenizers, post-processors and decoders of {@code tokenizer.json}, with the
 * semantics of the Rust {@code tokenizers} crate. Offsets are not tracked: only ids matter here.
 */
final class Components {
    private Components() {}

    // ------------------------------------------------------------------ helpers

    static String text(JsonNode node, String field, String where, String file) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new IllegalArgumentException(file + ": " + where + "." + field + " must be a string");
        return v.asText();
    }

    static String type(JsonNode node, String where, String file) {
        if (!node.isObject()) throw new IllegalArgumentException(file + ": " + where + " must be an object");
        String t = text(node, "type", where, file);
        if (t == null) throw new IllegalArgumentException(file + ": " + where + ".type is missing");
        return t;
    }

    /** A string-or-regex pattern: {"String": "..."} or {"Regex": "..."}. */
    static Pattern pattern(JsonNode node, String where, String file) {
        if (node == null || !node.isObject()) throw new IllegalArgumentException(file + ": " + where + " must be {\"String\"|\"Regex\": ...}");
        if (node.has("String")) return Pattern.compile(Pattern.quote(node.get("String").asText()));
        if (node.has("Regex")) {
            try {
                return Regexes.compile(node.get("Regex").asText());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": " + where + ".Regex: " + e.getMessage(), e);
            }
        }
        throw new IllegalArgumentException(file + ": " + where + " must have a String or Regex key");
    }

    // ------------------------------------------------------------------ byte level

    static final char[] BYTE_TO_CHAR = new char[256];
    static final Map<Character, Integer> CHAR_TO_BYTE = new java.util.HashMap<>();

    static {
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
        }
    }

    static String byteLevel(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
        return new String(out);
    }

    // ------------------------------------------------------------------ normalizers

    interface Normalizer {
        String normalize(String s);
    }

    static Normalizer normalizer(JsonNode node, String where, String file) {
        if (node == null || node.isNull()) return null;
        String t = type(node, where, file);
        switch (t) {
            case "Sequence": {
                JsonNode list = node.get("normalizers");
                if (list == null || !list.isArray()) throw new IllegalArgumentException(file + ": " + where + ".normalizers must be an array");
                List<Normalizer> parts = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    Normalizer p = normalizer(list.get(i), where + ".normalizers[" + i + "]", file);
                    if (p != null) parts.add(p);
                }
                return s -> {
                    for (Normalizer p : parts) s = p.normalize(s);
                    return s;
                };
            }
            case "Prepend": {
                String pre = text(node, "prepend", where, file);
                if (pre == null) throw new IllegalArgumentException(file + ": " + where + ".prepend is missing");
                return s -> s.isEmpty() ? s : pre + s;
            }
            case "Append": {
                String app = text(node, "append", where, file);
                return s -> s.isEmpty() ? s : s + app;
            }
            case "Replace": {
                Pattern p = pattern(node.get("pattern"), where + ".pattern", file);
                String content = text(node, "content", where, file);
                if (content == null) throw new IllegalArgumentException(file + ": " + where + ".content is missing");
                String rep = Matcher.quoteReplacement(content);
                return s -> p.matcher(s).replaceAll(rep);
            }
            case "NFC": return s -> java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFC);
            case "NFD": return s -> java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFD);
            case "NFKC": return s -> java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFKC);
            case "NFKD": return s -> java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFKD);
            case "Lowercase": return s -> s.toLowerCase(java.util.Locale.ROOT);
            case "Strip": {
                boolean left = !node.has("strip_left") || node.get("strip_left").asBoolean();
                boolean right = !node.has("strip_right") || node.get("strip_right").asBoolean();
                return s -> {
                    int a = 0, b = s.length();
                    if (left) while (a < b && isWhitespace(s.codePointAt(a))) a += Character.charCount(s.codePointAt(a));
                    if (right) while (b > a && isWhitespace(s.codePointBefore(b))) b -= Character.charCount(s.codePointBefore(b));
                    return s.substring(a, b);
                };
            }
            case "StripAccents":
                return s -> s.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK)
                        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
            case "ByteLevel": return Components::byteLevel;
            default:
                throw new IllegalArgumentException(file + ": unsupported " + where + ".type '" + t + "'");
        }
    }

    static boolean isWhitespace(int cp) {
        // Rust char::is_whitespace: the Unicode White_Space property
        return switch (cp) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }

    static boolean isNumeric(int cp) {
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    // ------------------------------------------------------------------ pre-tokenizers

    /** A piece of pre-tokenized text; {@code atStart} is true when it begins at offset 0 of the input. */
    record Piece(String text, boolean atStart) {}

    interface PreTokenizer {
        void apply(List<Piece> in, List<Piece> out);
    }

    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    static Behavior behavior(String s, String where, String file) {
        if (s == null) return Behavior.ISOLATED;
        return switch (s) {
            case "Removed" -> Behavior.REMOVED;
            case "Isolated" -> Behavior.ISOLATED;
            case "MergedWithPrevious" -> Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> Behavior.MERGED_WITH_NEXT;
            case "Contiguous" -> Behavior.CONTIGUOUS;
            default -> throw new IllegalArgumentException(file + ": unknown " + where + ".behavior '" + s + "'");
        };
    }

    /**
     * NormalizedString::split: {@code bounds} holds alternating [start,end) ranges covering the
     * whole string, {@code isMatch} whether each is a match of the pattern.
     */
    static void split(Piece p, int[] starts, int[] ends, boolean[] isMatch, int count, Behavior b, List<Piece> out) {
        String s = p.text();
        List<int[]> ranges = new ArrayList<>();
        switch (b) {
            case ISOLATED -> {
                for (int i = 0; i < count; i++) ranges.add(new int[] {starts[i], ends[i]});
            }
            case REMOVED -> {
                for (int i = 0; i < count; i++) if (!isMatch[i]) ranges.add(new int[] {starts[i], ends[i]});
            }
            case MERGED_WITH_PREVIOUS -> {
                boolean prevMatch = false;
                for (int i = 0; i < count; i++) {
                    if (isMatch[i] && !prevMatch && !ranges.isEmpty()) ranges.get(ranges.size() - 1)[1] = ends[i];
                    else ranges.add(new int[] {starts[i], ends[i]});
                    prevMatch = isMatch[i];
                }
            }
            case MERGED_WITH_NEXT -> {
                // Rust walks backwards: a match is glued to the piece that follows it
                boolean nextMatch = false;
                for (int i = count - 1; i >= 0; i--) {
                    if (isMatch[i] && !nextMatch && !ranges.isEmpty()) ranges.get(ranges.size() - 1)[0] = starts[i];
                    else ranges.add(new int[] {starts[i], ends[i]});
                    nextMatch = isMatch[i];
                }
                java.util.Collections.reverse(ranges);
            }
            case CONTIGUOUS -> {
                boolean prevMatch = false;
                for (int i = 0; i < count; i++) {
                    if (isMatch[i] && prevMatch && !ranges.isEmpty()) ranges.get(ranges.size() - 1)[1] = ends[i];
                    else ranges.add(new int[] {starts[i], ends[i]});
                    prevMatch = isMatch[i];
                }
            }
        }
        for (int[] r : ranges) {
            if (r[1] > r[0]) out.add(new Piece(s.substring(r[0], r[1]), p.atStart() && r[0] == 0));
        }
    }

    /** Splits by regex matches (Pattern for &SysRegex in Rust). */
    static void splitRegex(Piece p, Pattern pat, Behavior b, boolean invert, List<Piece> out) {
        String s = p.text();
        if (s.isEmpty()) return;
        int cap = 16;
        int[] st = new int[cap], en = new int[cap];
        boolean[] m = new boolean[cap];
        int n = 0, prev = 0;
        Matcher mt = pat.matcher(s);
        while (mt.find()) {
            int a = mt.start(), e = mt.end();
            if (n + 2 >= cap) { cap *= 2; st = java.util.Arrays.copyOf(st, cap); en = java.util.Arrays.copyOf(en, cap); m = java.util.Arrays.copyOf(m, cap); }
            if (prev != a) { st[n] = prev; en[n] = a; m[n] = false; n++; }
            st[n] = a; en[n] = e; m[n] = true; n++;
            prev = e;
        }
        if (prev != s.length()) {
            if (n + 1 >= cap) { cap *= 2; st = java.util.Arrays.copyOf(st, cap); en = java.util.Arrays.copyOf(en, cap); m = java.util.Arrays.copyOf(m, cap); }
            st[n] = prev; en[n] = s.length(); m[n] = false; n++;
        }
        if (invert) for (int i = 0; i < n; i++) m[i] = !m[i];
        split(p, st, en, m, n, b, out);
    }

    /** Splits by a per-code-point predicate (Pattern for Fn(char) -> bool in Rust). */
    static void splitChars(Piece p, java.util.function.IntPredicate pred, Behavior b, List<Piece> out) {
        String s = p.text();
        if (s.isEmpty()) return;
        int len = s.length();
        int[] st = new int[len + 1], en = new int[len + 1];
        boolean[] m = new boolean[len + 1];
        int n = 0, last = 0;
        for (int i = 0; i < len; ) {
            int cp = s.codePointAt(i);
            int e = i + Character.charCount(cp);
            if (pred.test(cp)) {
                if (last < i) { st[n] = last; en[n] = i; m[n] = false; n++; }
                st[n] = i; en[n] = e; m[n] = true; n++;
                last = e;
            }
            i = e;
        }
        if (last < len) { st[n] = last; en[n] = len; m[n] = false; n++; }
        split(p, st, en, m, n, b, out);
    }

    static PreTokenizer preTokenizer(JsonNode node, String where, String file) {
        if (node == null || node.isNull()) return null;
        String t = type(node, where, file);
        switch (t) {
            case "Sequence": {
                JsonNode list = node.get("pretokenizers");
                if (list == null || !list.isArray()) throw new IllegalArgumentException(file + ": " + where + ".pretokenizers must be an array");
                List<PreTokenizer> parts = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    PreTokenizer p = preTokenizer(list.get(i), where + ".pretokenizers[" + i + "]", file);
                    if (p != null) parts.add(p);
                }
                return (in, out) -> {
                    List<Piece> cur = in;
                    for (PreTokenizer p : parts) {
                        List<Piece> next = new ArrayList<>(cur.size() * 2);
                        p.apply(cur, next);
                        cur = next;
                    }
                    out.addAll(cur);
                };
            }
            case "Split": {
                Pattern pat = pattern(node.get("pattern"), where + ".pattern", file);
                Behavior b = behavior(text(node, "behavior", where, file), where, file);
                boolean invert = node.has("invert") && node.get("invert").asBoolean();
                return (in, out) -> { for (Piece p : in) splitRegex(p, pat, b, invert, out); };
            }
            case "ByteLevel": {
                boolean addPrefix = node.has("add_prefix_space") && node.get("add_prefix_space").asBoolean();
                boolean useRegex = !node.has("use_regex") || node.get("use_regex").asBoolean();
                return (in, out) -> {
                    List<Piece> tmp = new ArrayList<>();
                    for (Piece p : in) {
                        Piece q = p;
                        if (addPrefix && !p.text().startsWith(" ")) q = new Piece(" " + p.text(), p.atStart());
                        if (useRegex) splitRegex(q, Regexes.GPT2, Behavior.ISOLATED, false, tmp);
                        else if (!q.text().isEmpty()) tmp.add(q);
                    }
                    for (Piece p : tmp) out.add(new Piece(byteLevel(p.text()), p.atStart()));
                };
            }
            case "Digits": {
                boolean individual = node.has("individual_digits") && node.get("individual_digits").asBoolean();
                Behavior b = individual ? Behavior.ISOLATED : Behavior.CONTIGUOUS;
                return (in, out) -> { for (Piece p : in) splitChars(p, Components::isNumeric, b, out); };
            }
            case "Punctuation": {
                Behavior b = behavior(text(node, "behavior", where, file), where, file);
                return (in, out) -> { for (Piece p : in) splitChars(p, Components::isPunctuation, b, out); };
            }
            case "Whitespace": {
                Pattern pat = Regexes.compile("\\w+|[^\\w\\s]+");
                return (in, out) -> { for (Piece p : in) splitRegex(p, pat, Behavior.REMOVED, true, out); };
            }
            case "WhitespaceSplit":
                return (in, out) -> { for (Piece p : in) splitChars(p, Components::isWhitespace, Behavior.REMOVED, out); };
            case "Metaspace": {
                String rep = text(node, "replacement", where, file);
                if (rep == null || rep.codePointCount(0, rep.length()) != 1) throw new IllegalArgumentException(file + ": " + where + ".replacement must be one character");
                String scheme = text(node, "prepend_scheme", where, file);
                if (scheme == null) scheme = node.has("add_prefix_space") && !node.get("add_prefix_space").asBoolean() ? "never" : "always";
                if (!scheme.equals("always") && !scheme.equals("first") && !scheme.equals("never"))
                    throw new IllegalArgumentException(file + ": unknown " + where + ".prepend_scheme '" + scheme + "'");
                boolean splitOn = !node.has("split") || node.get("split").asBoolean();
                String sch = scheme;
                int repCp = rep.codePointAt(0);
                return (in, out) -> {
                    for (Piece p : in) {
                        String s = p.text().replace(" ", rep);
                        if (!s.startsWith(rep) && (sch.equals("always") || (sch.equals("first") && p.atStart()))) s = rep + s;
                        Piece q = new Piece(s, p.atStart());
                        if (splitOn) splitChars(q, cp -> cp == repCp, Behavior.MERGED_WITH_NEXT, out);
                        else if (!s.isEmpty()) out.add(q);
                    }
                };
            }
            default:
                throw new IllegalArgumentException(file + ": unsupported " + where + ".type '" + t + "'");
        }
    }

    static boolean isPunctuation(int cp) {
        if (cp < 128) return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
        int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
                || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION
                || t == Character.FINAL_QUOTE_PUNCTUATION || t == Character.OTHER_PUNCTUATION;
    }

    // ------------------------------------------------------------------ post-processors

    /** Adds special tokens around an encoded sequence (single-sequence case). */
    interface PostProcessor {
        int[] process(int[] ids, boolean addSpecialTokens);
    }

    static PostProcessor postProcessor(JsonNode node, String where, String file, java.util.function.ToIntFunction<String> lookup) {
        if (node == null || node.isNull()) return null;
        String t = type(node, where, file);
        switch (t) {
            case "Sequence": {
                JsonNode list = node.get("processors");
                if (list == null || !list.isArray()) throw new IllegalArgumentException(file + ": " + where + ".processors must be an array");
                List<PostProcessor> parts = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    PostProcessor p = postProcessor(list.get(i), where + ".processors[" + i + "]", file, lookup);
                    if (p != null) parts.add(p);
                }
                return (ids, add) -> {
                    for (PostProcessor p : parts) ids = p.process(ids, add);
                    return ids;
                };
            }
            case "ByteLevel":
                return (ids, add) -> ids; // only adjusts offsets
            case "TemplateProcessing": {
                JsonNode single = node.get("single");
                if (single == null || !single.isArray()) throw new IllegalArgumentException(file + ": " + where + ".single must be an array");
                JsonNode specials = node.get("special_tokens");
                List<int[]> before = new ArrayList<>(), after = new ArrayList<>();
                boolean seenA = false;
                for (int i = 0; i < single.size(); i++) {
                    JsonNode piece = single.get(i);
                    if (piece.has("Sequence")) { seenA = true; continue; }
                    if (!piece.has("SpecialToken")) throw new IllegalArgumentException(file + ": " + where + ".single[" + i + "] must be a Sequence or SpecialToken");
                    String id = piece.get("SpecialToken").path("id").asText();
                    JsonNode sp = specials == null ? null : specials.get(id);
                    if (sp == null || !sp.has("ids")) throw new IllegalArgumentException(file + ": " + where + ".special_tokens lacks '" + id + "'");
                    int[] ids = new int[sp.get("ids").size()];
                    for (int k = 0; k < ids.length; k++) ids[k] = sp.get("ids").get(k).asInt();
                    (seenA ? after : before).add(ids);
                }
                int[] pre = concat(before), post = concat(after);
                return (ids, add) -> add ? concat(List.of(pre, ids, post)) : ids;
            }
            case "RobertaProcessing", "BertProcessing": {
                int cls = specialPair(node, "cls", where, file), sep = specialPair(node, "sep", where, file);
                return (ids, add) -> add ? concat(List.of(new int[] {cls}, ids, new int[] {sep})) : ids;
            }
            default:
                throw new IllegalArgumentException(file + ": unsupported " + where + ".type '" + t + "'");
        }
    }

    private static int specialPair(JsonNode node, String f, String where, String file) {
        JsonNode v = node.get(f);
        if (v == null || !v.isArray() || v.size() != 2) throw new IllegalArgumentException(file + ": " + where + "." + f + " must be [token, id]");
        return v.get(1).asInt();
    }

    static int[] concat(List<int[]> parts) {
        int n = 0;
        for (int[] p : parts) n += p.length;
        int[] out = new int[n];
        int k = 0;
        for (int[] p : parts) { System.arraycopy(p, 0, out, k, p.length); k += p.length; }
        return out;
    }

    // ------------------------------------------------------------------ decoders

    /** Decoder::decode_chain: token strings in, strings out (joined at the end). */
    interface Decoder {
        List<String> decodeChain(List<String> tokens);
    }

    static Decoder decoder(JsonNode node, String where, String file) {
        if (node == null || node.isNull()) return null;
        String t = type(node, where, file);
        switch (t) {
            case "Sequence": {
                JsonNode list = node.get("decoders");
                if (list == null || !list.isArray()) throw new IllegalArgumentException(file + ": " + where + ".decoders must be an array");
                List<Decoder> parts = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    Decoder d = decoder(list.get(i), where + ".decoders[" + i + "]", file);
                    if (d != null) parts.add(d);
                }
                return toks -> {
                    for (Decoder d : parts) toks = d.decodeChain(toks);
                    return toks;
                };
            }
            case "Replace": {
                Pattern p = pattern(node.get("pattern"), where + ".pattern", file);
                String content = text(node, "content", where, file);
                if (content == null) throw new IllegalArgumentException(file + ": " + where + ".content is missing");
                String rep = Matcher.quoteReplacement(content);
                return toks -> toks.stream().map(s -> p.matcher(s).replaceAll(rep)).toList();
            }
            case "ByteFallback":
                return Components::byteFallback;
            case "Fuse":
                return toks -> List.of(String.join("", toks));
            case "Strip": {
                String content = text(node, "content", where, file);
                int cc = content == null || content.isEmpty() ? ' ' : content.codePointAt(0);
                int start = node.path("start").asInt(0), stop = node.path("stop").asInt(0);
                return toks -> toks.stream().map(s -> strip(s, cc, start, stop)).toList();
            }
            case "ByteLevel":
                return toks -> {
                    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    for (String tok : toks) {
                        byte[] b = new byte[tok.length()];
                        boolean ok = true;
                        for (int i = 0; i < tok.length(); i++) {
                            Integer v = CHAR_TO_BYTE.get(tok.charAt(i));
                            if (v == null) { ok = false; break; }
                            b[i] = (byte) (int) v;
                        }
                        if (ok) bytes.writeBytes(b);
                        else bytes.writeBytes(tok.getBytes(StandardCharsets.UTF_8));
                    }
                    return List.of(bytes.toString(StandardCharsets.UTF_8));
                };
            case "Metaspace": {
                String rep0 = text(node, "replacement", where, file);
                String rep = rep0 == null ? "\u2581" : rep0;
                String scheme = text(node, "prepend_scheme", where, file);
                if (scheme == null) scheme = node.has("add_prefix_space") && !node.get("add_prefix_space").asBoolean() ? "never" : "always";
                boolean strip = !scheme.equals("never");
                // As in Rust: every replacement char of the first token is dropped (not only a
                // leading one) unless prepend_scheme is never; elsewhere it becomes a space.
                return toks -> {
                    List<String> out = new ArrayList<>(toks.size());
                    for (int i = 0; i < toks.size(); i++) {
                        out.add(toks.get(i).replace(rep, i == 0 && strip ? "" : " "));
                    }
                    return out;
                };
            }
            case "WordPiece": {
                String prefix = node.path("prefix").asText("##");
                return toks -> {
                    List<String> out = new ArrayList<>(toks.size());
                    for (int i = 0; i < toks.size(); i++) {
                        String s = toks.get(i);
                        if (i != 0) s = s.startsWith(prefix) ? s.substring(prefix.length()) : " " + s;
                        out.add(s);
                    }
                    return out;
                };
            }
            case "BPEDecoder": {
                String suffix = node.path("suffix").asText("</w>");
                return toks -> {
                    List<String> out = new ArrayList<>(toks.size());
                    for (int i = 0; i < toks.size(); i++) {
                        out.add(toks.get(i).replace(suffix, i == toks.size() - 1 ? "" : " "));
                    }
                    return out;
                };
            }
            default:
                throw new IllegalArgumentException(file + ": unsupported " + where + ".type '" + t + "'");
        }
    }

    private static String strip(String s, int content, int start, int stop) {
        int[] cps = s.codePoints().toArray();
        int a = 0;
        for (int i = 0; i < start && i < cps.length; i++) { if (cps[i] == content) a = i + 1; else break; }
        int b = cps.length;
        for (int i = 0; i < stop; i++) {
            int idx = cps.length - 1 - i;
            if (idx < 0) break;
            if (cps[idx] == content) b = idx; else break;
        }
        if (b < a) return "";
        return new String(cps, a, b - a);
    }

    private static int byteOf(String tok) {
        if (tok.length() == 6 && tok.startsWith("<0x") && tok.endsWith(">")) {
            try {
                return Integer.parseInt(tok.substring(3, 5), 16);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return -1;
    }

    private static List<String> byteFallback(List<String> toks) {
        List<String> out = new ArrayList<>(toks.size());
        ByteArrayOutputStream pending = new ByteArrayOutputStream();
        for (String tok : toks) {
            int b = byteOf(tok);
            if (b >= 0) {
                pending.write(b);
                continue;
            }
            flushBytes(pending, out);
            out.add(tok);
        }
        flushBytes(pending, out);
        return out;
    }

    private static void flushBytes(ByteArrayOutputStream pending, List<String> out) {
        if (pending.size() == 0) return;
        byte[] b = pending.toByteArray();
        pending.reset();
        var dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        try {
            out.add(dec.decode(java.nio.ByteBuffer.wrap(b)).toString());
        } catch (java.nio.charset.CharacterCodingException e) {
            for (int i = 0; i < b.length; i++) out.add("\uFFFD");
        }
    }
}
