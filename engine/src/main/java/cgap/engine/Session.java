package cgap.engine;

import cgap.engine.backend.KvCache;

import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * The token state of one sequence on one model: its KV cache and position. Feed tokens with {@link #forward}
 * (a whole prompt in one batched pass, or one token at a time), or run {@link #generate} for greedy decoding.
 */
public final class Session implements AutoCloseable {
    private final Model model;
    private final KvCache cache;

    Session(Model model) {
        this.model = model;
        this.cache = model.backend().kvCache(model.numLayers(), model.config().kvDim(), 256);
    }

    public Model model() {
        return model;
    }

    KvCache cache() {
        return cache;
    }

    /** Number of tokens consumed so far (the position of the next one). */
    public int position() {
        return cache.length();
    }

    /** Forgets every position at and after {@code length}. */
    public void rewind(int length) {
        cache.truncate(length);
    }

    /** Feeds tokens at the next positions; returns what {@code capture} asked for and the final residual rows. */
    public Activations forward(int[] tokens, Capture capture) {
        return forward(tokens, capture, null);
    }

    /** As {@link #forward(int[], Capture)}, with the MLPs of some layers replaced. */
    public Activations forward(int[] tokens, Capture capture, MlpEdit edit) {
        if (tokens.length == 0) throw new IllegalArgumentException("forward needs at least one token");
        return model.forward(this, tokens, capture, edit);
    }

    /** Index of the largest value (the first one on ties, as torch.argmax). */
    public static int argmax(float[] v, int from, int n) {
        int best = 0;
        float bv = v[from];
        for (int i = 1; i < n; i++) {
            if (v[from + i] > bv) {
                bv = v[from + i];
                best = i;
            }
        }
        return best;
    }

    /** Called after each decoding step with the captured activations and the logits that chose the token. */
    public interface StepListener {
        void step(int index, Activations acts, float[] logits, int chosen);
    }

    /**
     * Greedy decoding: feeds the prompt in one pass, then appends the argmax token until {@code stop} accepts one
     * (it is kept as the last generated token) or {@code maxNew} tokens were made. Each step's distribution comes
     * from the last row; {@code capture} (forced to last-row) and {@code listener} see every step.
     */
    public int[] generate(int[] prompt, int maxNew, IntPredicate stop, Capture capture, MlpEdit edit, StepListener listener) {
        Capture cap = new Capture(capture.points(), capture.layers(), true);
        int[] out = new int[maxNew];
        int n = 0;
        int[] feed = prompt;
        while (n < maxNew) {
            Activations a = forward(feed, cap, edit);
            float[] logits = model.unembed(a.finalResid(), 1);
            int next = argmax(logits, 0, logits.length);
            if (listener != null) listener.step(n, a, logits, next);
            out[n++] = next;
            if (stop != null && stop.test(next)) break;
            feed = new int[]{next};
        }
        return Arrays.copyOf(out, n);
    }

    @Override
    public void close() {
        cache.close();
    }
}
