package cgap.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of Hugging Face tokenizers ({@code models/bpe/model.rs}): a word is split into
 * characters (with byte fallback / unk fusing), then merged by a priority queue on merge rank
 * over a linked list of symbols, exactly as {@code Word::merge_all} does. Results are cached per
 * word.
 */
final class Bpe {
    final Map<String, Integer> vocab;
    final String[] idToToken;
    private final LongLongMap merges; // (left id, right id) -> (rank << 32 | new id)
    private final String unkToken;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final String prefix; // continuing_subword_prefix, null if none
    private final String suffix; // end_of_word_suffix, null if none
    private final int[] byteTokens = new int[256]; // id of <0xXX>, -1 if absent
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();
    private static final int CACHE_CAPACITY = 10_000;
    private static final int CACHE_MAX_WORD = 256;

    Bpe(Map<String, Integer> vocab, String[][] mergePairs, String unkToken, boolean fuseUnk,
        boolean byteFallback, boolean ignoreMerges, String prefix, String suffix, String file) {
        this.vocab = vocab;
        int max = -1;
        for (int id : vocab.values()) max = Math.max(max, id);
        idToToken = new String[max + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) idToToken[e.getValue()] = e.getKey();
        this.unkToken = unkToken;
        if (unkToken != null) {
            Integer u = vocab.get(unkToken);
            // Rust only fails when the unk token is actually needed; keep -1 and fail then.
            unkId = u == null ? -1 : u;
        } else {
            unkId = -1;
        }
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.prefix = prefix == null || prefix.isEmpty() ? null : prefix;
        this.suffix = suffix == null || suffix.isEmpty() ? null : suffix;
        int prefixLen = prefix == null ? 0 : prefix.length();
        merges = new LongLongMap(mergePairs.length * 2 + 16);
        for (int rank = 0; rank < mergePairs.length; rank++) {
            String a = mergePairs[rank][0], b = mergePairs[rank][1];
            Integer ia = vocab.get(a), ib = vocab.get(b);
            if (ia == null || ib == null) {
                throw new IllegalArgumentException(file + ": model.merges[" + rank + "] uses a token absent from model.vocab: "
                        + (ia == null ? a : b));
            }
            String merged = a + (prefixLen > 0 && b.startsWith(prefix) ? b.substring(prefixLen) : b);
            Integer im = vocab.get(merged);
            if (im == null) {
                throw new IllegalArgumentException(file + ": model.merges[" + rank + "] produces a token absent from model.vocab: " + merged);
            }
            merges.put(key(ia, ib), ((long) rank << 32) | im);
        }
        Arrays.fill(byteTokens, -1);
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.format("<0x%02X>", b));
            if (id != null) byteTokens[b] = id;
        }
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    int vocabSize() {
        return idToToken.length;
    }

    /** Tokenizes one pre-token. */
    int[] tokenize(String word) {
        if (word.isEmpty()) return new int[0];
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) return new int[] {id};
        }
        boolean cacheable = word.length() <= CACHE_MAX_WORD;
        if (cacheable) {
            int[] hit = cache.get(word);
            if (hit != null) return hit;
        }
        int[] ids = mergeWord(word);
        if (cacheable) {
            if (cache.size() >= CACHE_CAPACITY) cache.clear();
            cache.put(word, ids);
        }
        return ids;
    }

    private int[] mergeWord(String w) {
        int n = w.length();
        int[] sym = new int[n + 4];
        int count = 0;
        int pendingUnk = -1; // Rust keeps (unk_id, len); only the presence matters for ids
        int i = 0;
        while (i < n) {
            int cp = w.codePointAt(i);
            int end = i + Character.charCount(cp);
            boolean first = i == 0, last = end == n;
            String s = w.substring(i, end);
            if (!first && prefix != null) s = prefix + s;
            if (last && suffix != null) s = s + suffix;
            Integer id = vocab.get(s);
            if (id != null) {
                if (pendingUnk >= 0) { sym = push(sym, count++, pendingUnk); pendingUnk = -1; }
                sym = push(sym, count++, id);
            } else {
                boolean done = false;
                if (byteFallback) {
                    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
                    boolean all = true;
                    for (byte b : bytes) if (byteTokens[b & 0xff] < 0) { all = false; break; }
                    if (all) {
                        for (byte b : bytes) sym = push(sym, count++, byteTokens[b & 0xff]);
                        done = true;
                    }
                }
                if (!done && unkToken != null) {
                    if (unkId < 0) throw new IllegalStateException("unk_token " + unkToken + " is not in the vocabulary");
                    if (pendingUnk >= 0 && !fuseUnk) sym = push(sym, count++, pendingUnk);
                    pendingUnk = unkId;
                }
            }
            i = end;
        }
        if (pendingUnk >= 0) sym = push(sym, count++, pendingUnk);
        return mergeAll(sym, count);
    }

    private static int[] push(int[] a, int at, int v) {
        if (at == a.length) a = Arrays.copyOf(a, a.length * 2);
        a[at] = v;
        return a;
    }

    private int[] mergeAll(int[] c, int n) {
        if (n < 2) return Arrays.copyOf(c, n);
        int[] prev = new int[n], next = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
        Heap heap = new Heap(n);
        for (int i = 0; i + 1 < n; i++) {
            long m = merges.get(key(c[i], c[i + 1]));
            if (m != LongLongMap.MISSING) heap.push((int) (m >>> 32), i, (int) m);
        }
        int alive = n;
        while (heap.size > 0) {
            int rank = heap.topRank(), pos = heap.topPos(), newId = heap.topNew();
            heap.pop();
            if (dead[pos]) continue;
            int nx = next[pos];
            if (nx < 0) continue;
            long cur = merges.get(key(c[pos], c[nx]));
            if (cur == LongLongMap.MISSING || (int) cur != newId) continue;
            // merge right into pos
            c[pos] = newId;
            dead[nx] = true;
            alive--;
            int nn = next[nx];
            next[pos] = nn;
            if (nn >= 0) prev[nn] = pos;
            int pv = prev[pos];
            if (pv >= 0) {
                long m = merges.get(key(c[pv], c[pos]));
                if (m != LongLongMap.MISSING) heap.push((int) (m >>> 32), pv, (int) m);
            }
            if (nn >= 0) {
                long m = merges.get(key(c[pos], c[nn]));
                if (m != LongLongMap.MISSING) heap.push((int) (m >>> 32), pos, (int) m);
            }
        }
        int[] out = new int[alive];
        int k = 0;
        for (int i = 0; i < n; i++) if (!dead[i]) out[k++] = c[i];
        return out;
    }

    /** Min-heap on (rank, pos), carrying the merge's new id. */
    private static final class Heap {
        long[] keys; // rank << 32 | pos
        int[] news;
        int size;

        Heap(int cap) { keys = new long[Math.max(cap, 4)]; news = new int[keys.length]; }

        void push(int rank, int pos, int newId) {
            if (size == keys.length) { keys = Arrays.copyOf(keys, size * 2); news = Arrays.copyOf(news, size * 2); }
            long k = ((long) rank << 32) | (pos & 0xffffffffL);
            int i = size++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (keys[p] <= k) break;
                keys[i] = keys[p]; news[i] = news[p];
                i = p;
            }
            keys[i] = k; news[i] = newId;
        }

        int topRank() { return (int) (keys[0] >>> 32); }
        int topPos() { return (int) keys[0]; }
        int topNew() { return news[0]; }

        void pop() {
            size--;
            if (size == 0) return;
            long k = keys[size]; int v = news[size];
            int i = 0;
            while (true) {
                int l = 2 * i + 1;
                if (l >= size) break;
                int r = l + 1;
                int m = r < size && keys[r] < keys[l] ? r : l;
                if (keys[m] >= k) break;
                keys[i] = keys[m]; news[i] = news[m];
                i = m;
            }
            keys[i] = k; news[i] = v;
        }
    }

    /** Open-addressing long to long map. */
    static final class LongLongMap {
        static final long MISSING = Long.MIN_VALUE;
        private long[] ks;
        private long[] vs;
        private boolean[] used;
        private int mask;
        private int size;

        LongLongMap(int expected) {
            int cap = Integer.highestOneBit(Math.max(16, expected * 2) - 1) << 1;
            ks = new long[cap]; vs = new long[cap]; used = new boolean[cap]; mask = cap - 1;
        }

        private static int hash(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 29));
        }

        void put(long k, long v) {
            if ((size + 1) * 2 > ks.length) grow();
            int i = hash(k) & mask;
            while (used[i]) {
                if (ks[i] == k) { vs[i] = v; return; }
                i = (i + 1) & mask;
            }
            used[i] = true; ks[i] = k; vs[i] = v; size++;
        }

        long get(long k) {
            int i = hash(k) & mask;
            while (used[i]) {
                if (ks[i] == k) return vs[i];
                i = (i + 1) & mask;
            }
            return MISSING;
        }

        private void grow() {
            long[] oks = ks, ovs = vs; boolean[] ou = used;
            ks = new long[oks.length * 2]; vs = new long[oks.length * 2]; used = new boolean[oks.length * 2];
            mask = ks.length - 1; size = 0;
            for (int i = 0; i < oks.length; i++) if (ou[i]) put(oks[i], ovs[i]);
        }
    }

    static Map<String, Integer> newVocab(int n) {
        return new HashMap<>(Math.max(16, n * 4 / 3 + 1));
    }
}
