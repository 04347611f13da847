package cgap.diagnostics.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Selection applied to a loaded prompt set, in this order: (1) every {@code where} filter must hold; (2) if
 * {@code sample ≥ 0}, a uniform random subset of that many prompts without replacement, drawn with
 * {@code new SplittableRandom(seed)} by a partial Fisher–Yates shuffle of the indices (draw i picks
 * {@code i + nextInt(n − i)}), the chosen prompts kept in file order; (3) if {@code limit ≥ 0}, the first
 * {@code limit} prompts. A sample or limit larger than what is left keeps everything.
 *
 * @param where  conditions that must all hold
 * @param sample number of prompts to sample, −1 for no sampling
 * @param seed   seed of the sampling RNG
 * @param limit  maximum number of prompts, −1 for no limit
 */
public record PromptQuery(List<PromptFilter> where, int sample, long seed, int limit) {

    public PromptQuery {
        where = List.copyOf(where);
        if (sample < -1 || limit < -1) {
            throw new IllegalArgumentException("sample and limit must be >= 0 (or -1 for none)");
        }
    }

    /** Everything, in file order. */
    public static PromptQuery all() {
        return new PromptQuery(List.of(), -1, 0L, -1);
    }

    /** This query plus a filter parsed from {@code field=value} / {@code field!=value}. */
    public PromptQuery where(String expression) {
        List<PromptFilter> w = new ArrayList<>(where);
        w.add(PromptFilter.parse(expression));
        return new PromptQuery(w, sample, seed, limit);
    }

    /** This query with sampling of {@code n} prompts under {@code seed}. */
    public PromptQuery sample(int n, long seed) {
        if (n < 0) {
            throw new IllegalArgumentException("sample size must be >= 0, got " + n);
        }
        return new PromptQuery(where, n, seed, limit);
    }

    /** This query with a limit. */
    public PromptQuery limit(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("limit must be >= 0, got " + n);
        }
        return new PromptQuery(where, sample, seed, n);
    }

    /**
     * Applies the query. A filter on a field that no prompt of the set has is an error (most likely a typo),
     * reported with {@code source}.
     */
    public List<Prompt> apply(List<Prompt> prompts, String source) {
        for (PromptFilter f : where) {
            if (!prompts.isEmpty() && prompts.stream().noneMatch(p -> p.hasField(f.field()))) {
                throw new PromptSetException(source, 0, f.field(), "no prompt has this field (filter " + f + ")");
            }
        }
        List<Prompt> kept = prompts.stream().filter(p -> where.stream().allMatch(f -> f.test(p))).toList();
        if (sample >= 0 && sample < kept.size()) {
            int n = kept.size();
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = i;
            }
            SplittableRandom rng = new SplittableRandom(seed);
            for (int i = 0; i < sample; i++) {
                int j = i + rng.nextInt(n - i);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
            int[] chosen = Arrays.copyOf(idx, sample);
            Arrays.sort(chosen);
            List<Prompt> s = new ArrayList<>(sample);
            for (int i : chosen) {
                s.add(kept.get(i));
            }
            kept = s;
        }
        if (limit >= 0 && limit < kept.size()) {
            kept = kept.subList(0, limit);
        }
        return List.copyOf(kept);
    }
}
