package cgap.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The added tokens of {@code tokenizer.json} and their extraction from text, following
 * {@code AddedVocabulary::find_matches} of the Rust library: leftmost-longest matching, then the
 * {@code single_word}, {@code lstrip} and {@code rstrip} rules; special tokens are skipped when
 * {@code encode_special_tokens} (transformers' {@code split_special_tokens}) is on.
 */
final class AddedVocabulary {
    record AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                      boolean normalized, boolean special) {}

    /** A piece of input: either text ({@code id < 0}) or an added token. */
    record Segment(String text, int id, int start) {}

    private static final class Node {
        final Map<Character, Node> kids = new HashMap<>(4);
        AddedToken token;
    }

    final List<AddedToken> tokens = new ArrayList<>();
    final Map<Integer, AddedToken> byId = new HashMap<>();
    final Map<String, AddedToken> byContent = new HashMap<>();
    private final Node raw = new Node();
    private final Node normalized = new Node();
    private boolean hasNormalized;

    void add(AddedToken t, Components.Normalizer normalizer) {
        tokens.add(t);
        byId.put(t.id(), t);
        byContent.put(t.content(), t);
        if (t.content().isEmpty()) return;
        if (t.normalized() && normalizer != null) {
            String n = normalizer.normalize(t.content());
            if (!n.isEmpty()) { insert(normalized, n, t); hasNormalized = true; }
        } else if (t.normalized()) {
            insert(normalized, t.content(), t);
            hasNormalized = true;
        } else {
            insert(raw, t.content(), t);
        }
    }

    private static void insert(Node root, String s, AddedToken t) {
        Node n = root;
        for (int i = 0; i < s.length(); i++) n = n.kids.computeIfAbsent(s.charAt(i), k -> new Node());
        if (n.token == null) n.token = t;
    }

    boolean hasNormalized() {
        return hasNormalized;
    }

    List<Segment> splitRaw(String s, boolean skipSpecial) {
        return split(raw, s, skipSpecial);
    }

    List<Segment> splitNormalized(String s, boolean skipSpecial) {
        return split(normalized, s, skipSpecial);
    }

    private static List<Segment> split(Node root, String s, boolean skipSpecial) {
        List<Segment> out = new ArrayList<>();
        int n = s.length();
        int startOffset = 0;
        int i = 0;
        while (i < n) {
            Node node = root.kids.get(s.charAt(i));
            if (node == null) { i++; continue; }
            AddedToken best = node.token;
            int bestEnd = i + 1;
            int j = i + 1;
            while (j < n && (node = node.kids.get(s.charAt(j))) != null) {
                j++;
                if (node.token != null) { best = node.token; bestEnd = j; }
            }
            if (best == null) { i++; continue; }
            int start = i, stop = bestEnd;
            i = bestEnd; // the automaton resumes after the match whatever happens to it
            if (skipSpecial && best.special()) continue;
            if (best.singleWord()) {
                boolean startSpace = start == 0 || !isWordChar(s.codePointBefore(start));
                boolean stopSpace = stop == n || !isWordChar(s.codePointAt(stop));
                if (!startSpace || !stopSpace) continue;
            }
            if (best.lstrip()) {
                int ns = start;
                while (ns > 0 && Components.isWhitespace(s.codePointBefore(ns))) ns -= Character.charCount(s.codePointBefore(ns));
                start = Math.max(ns, startOffset);
            }
            if (best.rstrip()) {
                while (stop < n && Components.isWhitespace(s.codePointAt(stop))) stop += Character.charCount(s.codePointAt(stop));
            }
            if (start < startOffset) start = startOffset; // overlapping with an extended previous match
            if (startOffset < start) out.add(new Segment(s.substring(startOffset, start), -1, startOffset));
            out.add(new Segment(s.substring(start, stop), best.id(), start));
            startOffset = stop;
        }
        if (startOffset < n) out.add(new Segment(s.substring(startOffset), -1, startOffset));
        return out;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }
}
