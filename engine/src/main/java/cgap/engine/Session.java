package cgap.engine;

import cgap.engine.backend.Backend;
import cgap.engine.backend.Buf;
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
        this(model, 256);
    }

    Session(Model model, int capacity) {
        this.model = model;
        this.cache = model.backend().kvCache(model.numLayers(), model.config().kvDim(), capacity);
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
        return model.forward(new Session[]{this}, new int[][]{tokens}, capture, edit)[0];
    }

    /**
     * Feeds each session its tokens in one batched pass (sessions of one model, each at its own position). A
     * session's activations are the same bits as those of {@link #forward(int[], Capture, MlpEdit)} on it alone.
     */
    public static Activations[] forward(Session[] sessions, int[][] tokens, Capture capture, MlpEdit edit) {
        if (sessions.length == 0) return new Activations[0];
        return sessions[0].model.forward(sessions, tokens, capture, edit);
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

    /** Called after each decoding step of sequence {@code seq} of a batch. */
    public interface BatchListener {
        void step(int seq, int index, Activations acts, float[] logits, int chosen);
    }

    /**
     * Turns the step's activations of the sequences still generating into their next-token logits. The default
     * unembeds each final residual row; a caller that reads every layer through a lens anyway can return the last
     * layer's readout (the same bits) and save the second product.
     */
    public interface Decoder {
        float[][] logits(Model model, int[] seqs, Activations[] acts);

        /**
         * {@link Model#unembed(Buf, Buf)} of the stacked final rows, each sequence's logits read straight into an
         * array of its own (one copy off the backend; the array is the caller's to keep).
         */
        Decoder FINAL = (model, seqs, acts) -> {
            Backend be = model.backend();
            int n = acts.length;
            Buf h = be.alloc(n, model.hiddenSize()), logits = be.alloc(n, model.vocabSize());
            for (int i = 0; i < n; i++) be.writeRows(h, i, 1, acts[i].finalResid(), 0);
            model.unembed(h, logits);
            float[][] out = new float[n][];
            for (int i = 0; i < n; i++) out[i] = be.readRows(logits, i, 1);
            return out;
        };
    }

    /**
     * Greedy decoding: feeds the prompt in one pass, then appends the argmax token until {@code stop} accepts one
     * (it is kept as the last generated token) or {@code maxNew} tokens were made. Each step's distribution comes
     * from the last row; {@code capture} (forced to last-row) and {@code listener} see every step.
     */
    public int[] generate(int[] prompt, int maxNew, IntPredicate stop, Capture capture, MlpEdit edit, StepListener listener) {
        return generate(new Session[]{this}, new int[][]{prompt}, maxNew, stop, capture, edit, Decoder.FINAL,
                listener == null ? null : (seq, index, acts, logits, chosen) -> listener.step(index, acts, logits, chosen))[0];
    }

    /**
     * Greedy decoding of several sequences at once, one session each (all of one model): the prompts are fed in one
     * batched pass, then every step feeds the sequences still generating in one batched pass, so each weight is
     * read once per step for the whole batch. A sequence stops on its own (stop token or {@code maxNew}); its
     * tokens, activations and logits are the same bits as {@link #generate} on it alone (tested).
     */
    public static int[][] generate(Session[] sessions, int[][] prompts, int maxNew, IntPredicate stop, Capture capture, MlpEdit edit,
                                   Decoder decoder, BatchListener listener) {
        int b = sessions.length;
        if (prompts.length != b) throw new IllegalArgumentException(b + " sessions but " + prompts.length + " prompts");
        Capture cap = new Capture(capture.points(), capture.layers(), true);
        if (maxNew <= 0 || b == 0) return new int[b][0];
        int[][] out = new int[b][maxNew];
        int[] made = new int[b];
        int[] active = new int[b];
        for (int i = 0; i < b; i++) active[i] = i;
        int[][] feed = prompts.clone();
        while (active.length > 0) {
            Session[] ss = new Session[active.length];
            int[][] tk = new int[active.length][];
            for (int a = 0; a < active.length; a++) {
                ss[a] = sessions[active[a]];
                tk[a] = feed[active[a]];
            }
            Activations[] acts = ss[0].model.forward(ss, tk, cap, edit);
            float[][] logits = decoder.logits(ss[0].model, active, acts);
            int[] still = new int[active.length];
            int ns = 0;
            for (int a = 0; a < active.length; a++) {
                int seq = active[a];
                int next = argmax(logits[a], 0, logits[a].length);
                if (listener != null) listener.step(seq, made[seq], acts[a], logits[a], next);
                out[seq][made[seq]++] = next;
                if ((stop != null && stop.test(next)) || made[seq] >= maxNew) continue;
                feed[seq] = new int[]{next};
                still[ns++] = seq;
            }
            active = Arrays.copyOf(still, ns);
        }
        int[][] res = new int[b][];
        for (int i = 0; i < b; i++) res[i] = Arrays.copyOf(out[i], made[i]);
        return res;
    }

    @Override
    public void close() {
        cache.close();
    }
}
