package cgap.engine.lens;

import cgap.engine.Activations;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.ModelLoadException;
import cgap.engine.Point;
import cgap.engine.Session;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.cpu.Parallel;
import cgap.engine.safetensors.DType;
import cgap.engine.safetensors.SafeTensorFile;
import cgap.engine.safetensors.SafeTensorsWriter;
import cgap.engine.safetensors.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Trains a {@link TunedLens} on a frozen model (SPEC §2): loss Σ_l mean_positions KL(p_final ‖ p_probe_l) at every
 * position but 0, all probes trained jointly from shared forward passes (one forward of the frozen model captures
 * {@code resid_post} of every block and feeds every probe), SGD with Nesterov momentum 0.9, lr = lrScale × 0.1
 * decaying linearly to 0 without warm-up, global gradient-norm clip 1.0, optional weight decay, a step of at least
 * {@code tokensPerStep} tokens by gradient accumulation over whole sequences, validation KL every
 * {@code evalEvery} steps keeping the best lens, and a resumable checkpoint.
 *
 * <p>Weight decay adds wd·(θ − θ₀) to the gradient, θ₀ the identity initialisation (so it pulls W toward I and A,
 * b toward 0; for RESIDUAL this is torch's SGD weight decay exactly).
 *
 * <p>Work split: the model's forward runs on its own backend; per chunk of positions the target distribution is
 * computed once (vocabulary split over the pool), then the probes are spread over the pool, one layer per task, each
 * task with a workspace of at most [chunk × vocab] logits. Every layer's sums are made by one task in a fixed order,
 * so training is deterministic whatever the thread count: a resumed run is bit-identical to an uninterrupted one.
 *
 * <p>The out folder holds {@code checkpoint.safetensors} (parameters, momentum and the state as metadata, replaced
 * atomically) and the best lens so far ({@code lens.safetensors}, {@code lens.json}).
 */
public final class LensTrainer implements AutoCloseable {
    public static final String CHECKPOINT = "checkpoint.safetensors";
    static final float MOMENTUM = 0.9f;
    static final double CLIP = 1.0;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param steps           optimizer steps (the schedule's length; SPEC: 250)
     * @param tokensPerStep   tokens per step, by gradient accumulation over whole sequences (SPEC: 2^18)
     * @param lrScale         lr = lrScale × (1 − 0.9)
     * @param weightDecay     0 (paper code) or 1e-3 (library default)
     * @param evalEvery       validation (and best-lens check) every this many steps, and at the end
     * @param checkpointEvery the resumable checkpoint every this many steps, and at every evaluation and the end
     * @param chunk           positions per chunk (the logits workspace is [chunk × vocab] per thread)
     * @param threads         threads of the probe pool
     */
    public record Settings(TunedLens.Parameterisation param, int steps, long tokensPerStep, double lrScale, double weightDecay,
                           int evalEvery, int checkpointEvery, int chunk, int threads) {
        public Settings {
            if (steps <= 0) throw new IllegalArgumentException("steps must be positive, got " + steps);
            if (tokensPerStep <= 0) throw new IllegalArgumentException("tokens per step must be positive, got " + tokensPerStep);
            if (!(lrScale > 0)) throw new IllegalArgumentException("lr scale must be positive, got " + lrScale);
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
            if (evalEvery <= 0 || checkpointEvery <= 0 || chunk <= 0 || threads <= 0) {
                throw new IllegalArgumentException("eval-every, checkpoint-every, chunk and threads must be positive");
            }
        }

        /** SPEC defaults: 250 steps × 2^18 tokens, lr scale 1, no weight decay, eval every 50, chunk 32. */
        public static Settings defaults(TunedLens.Parameterisation p) {
            return new Settings(p, 250, 1L << 18, 1.0, 0.0, 50, 10, 32, Runtime.getRuntime().availableProcessors());
        }

        public double lr() {
            return lrScale * (1 - MOMENTUM);
        }

        /** What a resumed run must agree on (threads and checkpoint frequency may change). */
        public ObjectNode json() {
            ObjectNode j = JSON.createObjectNode();
            j.put("parameterisation", param.id());
            j.put("steps", steps);
            j.put("tokens_per_step", tokensPerStep);
            j.put("lr_scale", lrScale);
            j.put("weight_decay", weightDecay);
            j.put("eval_every", evalEvery);
            j.put("chunk", chunk);
            j.put("momentum", MOMENTUM);
            j.put("nesterov", true);
            j.put("grad_clip", CLIP);
            return j;
        }
    }

    /** One optimizer step's numbers: mean train KL per layer (NaN where no probe), tokens and time of the step. */
    public record StepStats(int step, int steps, long tokens, double seconds, double lr, double gradNorm, double[] trainKl) {
    }

    /** A validation: mean KL per layer of the lens and of the raw lens on the validation sequences. */
    public record Eval(int step, double[] lensKl, double[] rawKl, boolean best) {
        public double total() {
            double s = 0;
            for (double x : lensKl) s += x;
            return s;
        }
    }

    public interface Listener {
        default void resumed(int step) {
        }

        default void step(StepStats s) {
        }

        default void eval(Eval e) {
        }
    }

    /** The outcome: the best lens (by total validation KL) and where it came from. */
    public record Result(TunedLens best, int bestStep, Eval bestEval, double[] rawKl, int stepsDone, boolean finished) {
    }

    private final Model model;
    private final Settings s;
    private final List<int[]> train, validation;
    private final LensHead head;
    private final int layers, d;
    private final Parallel par;
    /** Whether {@link #par} was made here (and is closed here) rather than borrowed from the model's backend. */
    private final boolean ownsPar;
    private final ConcurrentLinkedDeque<ProbeLoss> workspaces = new ConcurrentLinkedDeque<>();
    private final String dataHash;
    private double[] rawKl;

    public LensTrainer(Model model, Settings settings, List<int[]> train, List<int[]> validation) {
        if (train.isEmpty()) throw new IllegalArgumentException("no training sequences");
        if (validation.isEmpty()) throw new IllegalArgumentException("no validation sequences");
        long trainTokens = 0;
        for (int[] t : train) trainTokens += t.length;
        if (trainTokens < 2) throw new IllegalArgumentException("the training sequences hold " + trainTokens + " tokens");
        this.model = model;
        this.s = settings;
        this.train = List.copyOf(train);
        this.validation = List.copyOf(validation);
        this.head = new LensHead(model);
        this.layers = model.numLayers();
        this.d = model.hiddenSize();
        // the probes run on the model's own CPU team when it has the threads asked for: one team, not two that spin on
        // the same cores in turn (Parallel's helpers poll after each job); the bodies make no backend calls
        if (model.backend() instanceof CpuBackend cb && cb.parallel().threads() == settings.threads()) {
            this.par = cb.parallel();
            this.ownsPar = false;
        } else {
            this.par = new Parallel(settings.threads());
            this.ownsPar = true;
        }
        this.dataHash = hashData(this.train, this.validation);
    }

    public Settings settings() {
        return s;
    }

    /** Tokens the whole schedule asks for divided by the tokens of the training sequences (> 1: the corpus is cycled). */
    public double epochs() {
        long t = 0;
        for (int[] x : train) t += x.length;
        return (double) s.steps() * s.tokensPerStep() / t;
    }

    private static String hashData(List<int[]> a, List<int[]> b) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (List<int[]> list : List.of(a, b)) {
                for (int[] seq : list) {
                    java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(seq.length * 4 + 4).putInt(seq.length);
                    for (int t : seq) buf.putInt(t);
                    md.update(buf.array());
                }
                md.update((byte) 0xff);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- forward passes and chunks

    private interface ChunkBody {
        void chunk(float[][] resid, int from, int rows, ProbeLoss.Target target);
    }

    private int forEachChunk(int[] tokens, ChunkBody body) {
        int n = tokens.length;
        if (n < 2) return 0;
        float[][] resid = new float[layers][];
        try (Session ss = model.newSession()) {
            Activations a = ss.forward(tokens, Capture.of(Point.RESID_POST));
            for (int l = 0; l < layers; l++) resid[l] = a.get(Point.RESID_POST, l);
        }
        for (int from = 1; from < n; from += s.chunk()) {
            int rows = Math.min(s.chunk(), n - from);
            float[] fin = slice(resid[layers - 1], from, rows);
            body.chunk(resid, from, rows, ProbeLoss.target(head, fin, rows, par));
        }
        return n - 1;
    }

    private float[] slice(float[] rows, int from, int n) {
        return java.util.Arrays.copyOfRange(rows, from * d, (from + n) * d);
    }

    private ProbeLoss borrow() {
        ProbeLoss w = workspaces.poll();
        return w != null ? w : new ProbeLoss(head, s.chunk());
    }

    // ---------------------------------------------------------------- evaluation

    /** Mean KL per layer on the validation sequences of {@code lens} (null: the raw lens) and of the raw lens. */
    public Eval evaluate(TunedLens lens, int step) {
        boolean needRaw = rawKl == null;
        double[] sum = new double[layers], raw = new double[layers];
        long positions = 0;
        for (int[] seq : validation) {
            positions += forEachChunk(seq, (resid, from, rows, target) -> par.forRange(layers, 1, (l0, l1) -> {
                ProbeLoss w = borrow();
                for (int l = l0; l < l1; l++) {
                    float[] h = slice(resid[l], from, rows);
                    if (lens != null) sum[l] += w.lossAndGrad(lens, l, h, target, null, null);
                    if (needRaw) raw[l] += w.lossAndGrad(null, l, h, target, null, null);
                }
                workspaces.push(w);
            }));
        }
        if (positions == 0) throw new IllegalArgumentException("the validation sequences have no position after the first");
        for (int l = 0; l < layers; l++) {
            sum[l] /= positions;
            raw[l] /= positions;
        }
        if (needRaw) rawKl = raw;
        return new Eval(step, lens == null ? rawKl.clone() : sum, rawKl.clone(), false);
    }

    /** Mean KL per layer of the raw lens on the validation sequences (computed once). */
    public double[] rawLensKl() {
        if (rawKl == null) evaluate(null, 0);
        return rawKl.clone();
    }

    // ---------------------------------------------------------------- training

    /** Trains to the end of the schedule; see {@link #train(Path, Listener, int)}. */
    public Result train(Path outDir, Listener listener) {
        return train(outDir, listener, s.steps());
    }

    /**
     * Trains, resuming from {@code outDir/checkpoint.safetensors} when one is there (refused when it was made with
     * other settings, data or model), and stops after step {@code stopAfter} (≤ steps; the schedule still spans
     * {@code steps}) as if killed there. Writes the best lens so far to outDir whenever it improves.
     */
    public Result train(Path outDir, Listener listener, int stopAfter) {
        Listener lis = listener == null ? new Listener() { } : listener;
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw new UncheckedIOException(outDir + ": cannot create: " + e.getMessage(), e);
        }
        TunedLens lens = TunedLens.identity(model, s.param());
        TunedLens initial = lens.copy();
        float[][] mw = new float[layers][], mb = new float[layers][];
        for (int l = 0; l < layers; l++) {
            if (!lens.hasProbe(l)) continue;
            mw[l] = new float[d * d];
            mb[l] = new float[d];
        }
        int step = 0;
        long cursor = 0;
        int bestStep = -1;
        Eval bestEval = null;
        TunedLens best = null;
        Path ckpt = outDir.resolve(CHECKPOINT);
        if (Files.isRegularFile(ckpt)) {
            JsonNode st = readCheckpoint(ckpt, lens, mw, mb);
            step = st.get("step").asInt();
            cursor = st.get("cursor").asLong();
            bestStep = st.get("best_step").asInt();
            rawKl = doubles(st.get("raw_kl"));
            bestEval = new Eval(bestStep, doubles(st.get("best_kl")), rawKl.clone(), true);
            best = TunedLens.load(outDir, model);
            lis.resumed(step);
        } else {
            Eval e0 = evaluate(lens, 0);
            bestEval = new Eval(0, e0.lensKl(), e0.rawKl(), true);
            bestStep = 0;
            best = lens.copy();
            best.save(outDir, trainingJson(bestEval, 0));
            lis.eval(bestEval);
            writeCheckpoint(ckpt, lens, mw, mb, 0, 0, bestStep, bestEval);
        }
        int probes = 0;
        for (int l = 0; l < layers; l++) if (lens.hasProbe(l)) probes++;
        int[] probeLayers = new int[probes];
        for (int l = 0, i = 0; l < layers; l++) if (lens.hasProbe(l)) probeLayers[i++] = l;
        float[][] gw = new float[layers][], gb = new float[layers][];
        for (int l : probeLayers) {
            gw[l] = new float[d * d];
            gb[l] = new float[d];
        }
        int end = Math.min(stopAfter, s.steps());
        final TunedLens cur = lens;
        while (step < end) {
            long t0 = System.nanoTime();
            for (int l : probeLayers) {
                java.util.Arrays.fill(gw[l], 0f);
                java.util.Arrays.fill(gb[l], 0f);
            }
            double[] loss = new double[layers];
            long tokens = 0, positions = 0;
            while (tokens < s.tokensPerStep()) {
                int[] seq = train.get((int) (cursor % train.size()));
                cursor++;
                tokens += seq.length;
                positions += forEachChunk(seq, (resid, from, rows, target) -> par.forRange(probeLayers.length, 1, (i0, i1) -> {
                    ProbeLoss w = borrow();
                    for (int i = i0; i < i1; i++) {
                        int l = probeLayers[i];
                        loss[l] += w.lossAndGrad(cur, l, slice(resid[l], from, rows), target, gw[l], gb[l]);
                    }
                    workspaces.push(w);
                }));
            }
            if (positions == 0) throw new IllegalArgumentException("a training step found no position after the first of any sequence");
            float inv = (float) (1.0 / positions);
            double sq = 0;
            for (int l : probeLayers) {
                for (int i = 0; i < gw[l].length; i++) {
                    gw[l][i] *= inv;
                    sq += (double) gw[l][i] * gw[l][i];
                }
                for (int i = 0; i < d; i++) {
                    gb[l][i] *= inv;
                    sq += (double) gb[l][i] * gb[l][i];
                }
            }
            double norm = Math.sqrt(sq);
            double coef = CLIP / (norm + 1e-6);
            if (coef < 1) {
                float c = (float) coef;
                for (int l : probeLayers) {
                    for (int i = 0; i < gw[l].length; i++) gw[l][i] *= c;
                    for (int i = 0; i < d; i++) gb[l][i] *= c;
                }
            }
            float lr = (float) (s.lr() * (1.0 - (double) step / s.steps()));
            float wd = (float) s.weightDecay();
            for (int l : probeLayers) {
                sgd(cur.weight(l), initial.weight(l), gw[l], mw[l], lr, wd);
                sgd(cur.bias(l), initial.bias(l), gb[l], mb[l], lr, wd);
            }
            step++;
            double[] trainKl = new double[layers];
            for (int l = 0; l < layers; l++) trainKl[l] = cur.hasProbe(l) ? loss[l] / positions : Double.NaN;
            lis.step(new StepStats(step, s.steps(), tokens, (System.nanoTime() - t0) / 1e9, lr, norm, trainKl));
            boolean evalNow = step % s.evalEvery() == 0 || step == s.steps();
            if (evalNow) {
                Eval e = evaluate(cur, step);
                boolean better = e.total() < bestEval.total();
                e = new Eval(step, e.lensKl(), e.rawKl(), better);
                if (better) {
                    bestEval = e;
                    bestStep = step;
                    best = cur.copy();
                    best.save(outDir, trainingJson(bestEval, step));
                }
                lis.eval(e);
            }
            if (evalNow || step % s.checkpointEvery() == 0 || step == end) writeCheckpoint(ckpt, cur, mw, mb, step, cursor, bestStep, bestEval);
        }
        return new Result(best, bestStep, bestEval, rawKl.clone(), step, step == s.steps());
    }

    /** One Nesterov SGD step of torch semantics: d = g + wd (θ − θ₀); buf = μ buf + d; θ −= lr (d + μ buf). */
    static void sgd(float[] p, float[] p0, float[] g, float[] buf, float lr, float wd) {
        for (int i = 0; i < p.length; i++) {
            float dp = wd == 0 ? g[i] : g[i] + wd * (p[i] - p0[i]);
            float b = MOMENTUM * buf[i] + dp;
            buf[i] = b;
            p[i] -= lr * (dp + MOMENTUM * b);
        }
    }

    private ObjectNode trainingJson(Eval e, int step) {
        ObjectNode j = s.json();
        j.put("best_step", step);
        j.set("validation_kl", JSON.valueToTree(e.lensKl()));
        j.set("raw_lens_validation_kl", JSON.valueToTree(e.rawKl()));
        j.put("data_sha256", dataHash);
        j.put("train_sequences", train.size());
        j.put("validation_sequences", validation.size());
        return j;
    }

    private static double[] doubles(JsonNode a) {
        double[] x = new double[a.size()];
        for (int i = 0; i < x.length; i++) x[i] = a.get(i).asDouble();
        return x;
    }

    // ---------------------------------------------------------------- checkpoint

    private ObjectNode state(int step, long cursor, int bestStep, Eval best) {
        ObjectNode j = JSON.createObjectNode();
        j.put("format", "cgap-tuned-lens-checkpoint");
        j.set("settings", s.json());
        j.put("model_sha256", TunedLens.unembeddingHash(model));
        j.put("data_sha256", dataHash);
        j.put("step", step);
        j.put("cursor", cursor);
        j.put("best_step", bestStep);
        j.set("best_kl", JSON.valueToTree(best.lensKl()));
        j.set("raw_kl", JSON.valueToTree(rawKl));
        return j;
    }

    private void writeCheckpoint(Path file, TunedLens lens, float[][] mw, float[][] mb, int step, long cursor, int bestStep, Eval best) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.metadata("state", state(step, cursor, bestStep, best).toString());
        for (int l = 0; l < layers; l++) {
            if (!lens.hasProbe(l)) continue;
            w.add("layers." + l + ".weight", DType.F32, new long[]{d, d}, lens.weight(l));
            w.add("layers." + l + ".bias", DType.F32, new long[]{d}, lens.bias(l));
            w.add("momentum." + l + ".weight", DType.F32, new long[]{d, d}, mw[l]);
            w.add("momentum." + l + ".bias", DType.F32, new long[]{d}, mb[l]);
        }
        try {
            w.write(file); // temp file beside, then an atomic move
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write checkpoint: " + e.getMessage(), e);
        }
    }

    private JsonNode readCheckpoint(Path file, TunedLens lens, float[][] mw, float[][] mb) {
        try (SafeTensorFile st = SafeTensorFile.open(file)) {
            String raw = st.metadata().get("state");
            if (raw == null) throw new ModelLoadException(file + ": no 'state' metadata; not a tuned-lens checkpoint");
            JsonNode j = JSON.readTree(raw);
            if (!j.path("settings").equals(JSON.readTree(s.json().toString()))) {
                throw new IllegalArgumentException(file + ": checkpoint was made with settings " + j.path("settings") + ", this run asks for "
                        + s.json() + "; resume with the same settings or use another output folder");
            }
            String mh = TunedLens.unembeddingHash(model);
            if (!mh.equals(j.path("model_sha256").asText())) {
                throw new IllegalArgumentException(file + ": checkpoint belongs to another model (expected unembedding sha256 "
                        + j.path("model_sha256").asText() + ", found " + mh + ")");
            }
            if (!dataHash.equals(j.path("data_sha256").asText())) {
                throw new IllegalArgumentException(file + ": checkpoint was trained on other token data (sha256 " + j.path("data_sha256").asText()
                        + ", this run's is " + dataHash + "); resume with the same text and settings or use another output folder");
            }
            for (int l = 0; l < layers; l++) {
                if (!lens.hasProbe(l)) continue;
                copy(st, file, "layers." + l + ".weight", lens.weight(l));
                copy(st, file, "layers." + l + ".bias", lens.bias(l));
                copy(st, file, "momentum." + l + ".weight", mw[l]);
                copy(st, file, "momentum." + l + ".bias", mb[l]);
            }
            return j;
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read checkpoint: " + e.getMessage(), e);
        }
    }

    private static void copy(SafeTensorFile st, Path file, String name, float[] into) {
        TensorInfo t = st.tensors().get(name);
        if (t == null) throw new ModelLoadException(file + ": missing tensor '" + name + "'");
        if (t.numel() != into.length || t.dtype() != DType.F32) {
            throw new ModelLoadException(file + ": tensor '" + name + "' is " + t.dtype() + " " + t.shapeString() + ", expected F32 with " + into.length + " values");
        }
        float[] v = t.toFloatArray();
        System.arraycopy(v, 0, into, 0, v.length);
    }

    /** Releases the probe pool when it is the trainer's own. */
    @Override
    public void close() {
        if (ownsPar) par.close();
    }
}
