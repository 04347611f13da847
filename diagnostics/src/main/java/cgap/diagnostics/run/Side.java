package cgap.diagnostics.run;

import cgap.diagnostics.metrics.Metrics;
import cgap.diagnostics.metrics.StepMetrics;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Point;
import cgap.engine.Session;
import cgap.engine.backend.Backend;
import cgap.engine.backend.Buf;
import cgap.engine.cpu.Parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * One model of a pair with its prompting: generates greedily on a prompt and computes, at every token step, the
 * raw-lens distribution of every layer and the SPEC §3 metrics of the step. Vocabulary-sized memory is per batch,
 * not per step: the step's [batch × layers, vocab] lens logits (twice with a tuned lens) and each sequence's
 * [layers][vocab] rows, reused every step; nothing of size [layers × steps × vocab] is ever held. Lower
 * {@code --batch} where batch × layers × vocab floats matter (a 42-layer, 256k-vocabulary model at batch 8 holds about
 * 0.7 GB of them, 1.4 GB with a tuned lens).
 */
public final class Side {
    private final String name;
    private final Model model;
    private final Prompting prompting;
    private final Translator tuned;
    private final Parallel par;

    /**
     * A second readout through per-layer translators (the tuned lens): layer l's residual rows are translated, then
     * unembedded with the model's own final norm and head.
     */
    public interface Translator {
        /** Translated rows of layer l ([n, hidden] in, [n, hidden] out). */
        float[] translate(int layer, float[] rows, int n);
    }

    /**
     * A side whose steps are also read through {@code tuned} (may be null: raw lens only), with the sequences' metrics
     * computed on {@code par}: the backend's own thread team ({@code CpuBackend.parallel()}), idle between its products.
     */
    public Side(String name, Model model, Prompting prompting, Translator tuned, Parallel par) {
        this.name = name;
        this.model = model;
        this.prompting = prompting;
        this.tuned = tuned;
        this.par = par;
    }

    public String name() {
        return name;
    }

    public Model model() {
        return model;
    }

    public Prompting prompting() {
        return prompting;
    }

    /** What one prompt produced. */
    public record Result(int[] promptTokens, int[] generated, String text, String stop, List<StepMetrics> steps,
                         List<StepMetrics> tunedSteps) {
    }

    public Result run(String userText, int maxNewTokens) {
        return run(List.of(userText), maxNewTokens).get(0);
    }

    /**
     * Generates on several prompts at once (one batched forward pass per step for all sequences still generating)
     * and reads every layer of every sequence through the raw lens in one product per step. The model's next-token
     * logits are the lens's last row (the same bits as the model's own head), so nothing is unembedded twice.
     * Each prompt's result is the same as {@link #run(String, int)} on it alone: the engine's kernels compute a row
     * the same way whatever the batch.
     */
    public List<Result> run(List<String> userTexts, int maxNewTokens) {
        int b = userTexts.size();
        int[][] ids = new int[b][];
        for (int i = 0; i < b; i++) {
            ids[i] = prompting.encode(userTexts.get(i));
            if (ids[i].length == 0) throw new IllegalArgumentException("prompt encodes to no tokens: '" + userTexts.get(i) + "'");
        }
        int layers = model.numLayers(), d = model.hiddenSize(), v = model.vocabSize();
        List<List<StepMetrics>> steps = new ArrayList<>(), tunedSteps = new ArrayList<>();
        // One Metrics per sequence for both readouts: the tuned readout is read against the raw step in the same instance
        // (stepAgainst leaves p_L and the step's figures alone and writes only working rows that every step writes before
        // it reads them), so no second set of [3 × vocab] doubles per sequence.
        Metrics[] metrics = new Metrics[b];
        for (int i = 0; i < b; i++) {
            steps.add(new ArrayList<>());
            tunedSteps.add(new ArrayList<>());
            metrics[i] = new Metrics();
        }
        // The step's metrics of each sequence still generating, computed where its lens rows are made.
        StepMetrics[] pending = new StepMetrics[b], pendingTuned = new StepMetrics[b];
        // Every vocabulary-sized array is allocated once per sequence (its [layers][vocab] lens rows) or once per batch
        // size (the device buffers of the lens product), not once per step: a step's garbage is O(layers × hidden).
        float[][][] raw = new float[b][layers][v], tunedRows = tuned == null ? null : new float[b][layers][v];
        Backend be = model.backend();
        Buf[] lens = new Buf[4]; // input and logits of the raw lens, then of the tuned lens, for the current row count
        Session.Decoder decoder = (m, seqs, acts) -> {
            int rows = seqs.length * layers;
            if (lens[0] == null || lens[0].rows() != rows) {
                lens[0] = be.alloc(rows, d);
                lens[1] = be.alloc(rows, v);
                if (tuned != null) {
                    lens[2] = be.alloc(rows, d);
                    lens[3] = be.alloc(rows, v);
                }
            }
            for (int a = 0; a < seqs.length; a++)
                for (int l = 0; l < layers; l++) be.writeRows(lens[0], a * layers + l, 1, acts[a].get(Point.RESID_POST, l), 0);
            m.unembed(lens[0], lens[1]);
            if (tuned != null) {
                // every sequence's row of layer l through translator l, then one product for all
                float[] in = new float[seqs.length * d];
                for (int l = 0; l < layers; l++) {
                    for (int a = 0; a < seqs.length; a++) System.arraycopy(acts[a].get(Point.RESID_POST, l), 0, in, a * d, d);
                    float[] t = tuned.translate(l, in, seqs.length);
                    for (int a = 0; a < seqs.length; a++) be.writeRows(lens[2], a * layers + l, 1, t, a * d);
                }
                m.unembed(lens[2], lens[3]);
            }
            float[][] next = new float[seqs.length][];
            // One sequence per index: the metric passes over [layers × vocab] are the step's largest cost after the
            // lens product, and each sequence's are independent (its own Metrics, so the same bits in any order). They run
            // on the backend's team, idle until the next product; the body's only backend calls are readRows (a copy) and
            // Metrics never calls it, so no team call nests here (one would run serially). A body's exception is rethrown.
            par.forRange(seqs.length, 1, (from, to) -> {
                for (int a = from; a < to; a++) {
                    int seq = seqs[a];
                    float[][] resid = new float[layers][];
                    for (int l = 0; l < layers; l++) {
                        be.readRows(lens[1], a * layers + l, 1, raw[seq][l], 0);
                        resid[l] = acts[a].get(Point.RESID_POST, l);
                    }
                    pending[seq] = metrics[seq].step(raw[seq], resid, null);
                    next[a] = raw[seq][layers - 1];
                    if (tuned != null) {
                        for (int l = 0; l < layers; l++) be.readRows(lens[3], a * layers + l, 1, tunedRows[seq][l], 0);
                        // against the model's own output distribution (a probe may sit on the last block too): p_L = the raw
                        // lens's last row with the same residuals, so its softmax, endpoint figures and cosines come from the
                        // raw step just computed (the same bits as step(tunedRows, next[a], resid, null))
                        pendingTuned[seq] = metrics[seq].stepAgainst(tunedRows[seq], metrics[seq]);
                    }
                }
            });
            return next;
        };
        Session[] sessions = new Session[b];
        try {
            // KV cache sized for the prompt and up to 512 new tokens up front (the paper's default generation: no doubling
            // and no copy); a longer generation grows it as it goes, so a sequence that stops early never holds more
            for (int i = 0; i < b; i++) sessions[i] = model.newSession(ids[i].length + Math.min(maxNewTokens, 512));
            int[][] gen = Session.generate(sessions, ids, maxNewTokens, prompting.stopIds()::contains, Capture.lastRow(Point.RESID_POST), null,
                    decoder, (seq, index, acts, logits, chosen) -> {
                        steps.get(seq).add(pending[seq]);
                        pending[seq] = null;
                        if (tuned != null) {
                            tunedSteps.get(seq).add(pendingTuned[seq]);
                            pendingTuned[seq] = null;
                        }
                    });
            List<Result> out = new ArrayList<>(b);
            for (int i = 0; i < b; i++) {
                boolean stopped = gen[i].length > 0 && prompting.stopIds().contains(gen[i][gen[i].length - 1]);
                out.add(new Result(ids[i], gen[i], prompting.tokenizer().decode(gen[i], true), stopped ? "stop_token" : "max_new_tokens", steps.get(i),
                        tuned == null ? null : tunedSteps.get(i)));
            }
            return out;
        } finally {
            for (Session s : sessions) if (s != null) s.close();
        }
    }
}
