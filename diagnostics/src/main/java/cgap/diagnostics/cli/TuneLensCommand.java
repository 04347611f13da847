package cgap.diagnostics.cli;

import cgap.diagnostics.lens.TrainingText;
import cgap.diagnostics.run.RunCommand;
import cgap.engine.Model;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.lens.LensTrainer;
import cgap.engine.lens.TunedLens;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code cgap tune-lens}: trains a tuned lens (SPEC §2) for one model on a text file and writes the best lens (by
 * validation KL) to --out. Re-run with the same command after a kill, it resumes from the checkpoint in --out;
 * with other settings it refuses.
 */
public final class TuneLensCommand {
    public static final String USAGE = """
            usage: cgap tune-lens --model DIR --text FILE --out DIR [options]
              Trains one affine translator per layer so that W_U·norm(T_l(h_l)) matches the model's final distribution
              (KL, every position but the first), and writes the best lens by validation KL to --out
              (lens.safetensors + lens.json; checkpoint.safetensors lets a killed run resume with the same command).
              --model DIR            Hugging Face model folder (config.json, safetensors, tokenizer.json)
              --text FILE            plain text (paragraphs, or lines when there is no blank line) or JSONL
              --text-field NAME      JSONL field holding the text (default text; dotted paths such as formats.B)
              --chat                 wrap each text as one user message in the model's chat template (IT lenses)
              --param affine|residual  W h + b, identity-initialised, probe on every block (default, paper code), or
                                     h + A h + b, zero-initialised, no probe on the last block (tuned-lens library)
              --steps N              optimizer steps (default 250)
              --tokens-per-step N    tokens per step by gradient accumulation (default 262144 = 2^18)
              --seq-len N            tokens per training sequence, documents packed (default 2048)
              --lr-scale X           lr = X * 0.1, Nesterov momentum 0.9, linear decay to 0 (default 1.0)
              --weight-decay X       toward the identity (default 0; the library's is 0.001)
              --val-fraction X       sequences held out for validation (default 0.05)
              --seed S               shuffling seed (default 0)
              --eval-every N         validation and best-lens check every N steps and at the end (default 50)
              --checkpoint-every N   resumable checkpoint every N steps (default 10)
              --chunk N              positions per logits chunk, memory [N x vocab] floats per thread (default 32)
              --threads N            CPU threads (default: all cores)""";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    public static final String SETTINGS_FILE = "tune.json";

    private TuneLensCommand() {
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args a = new Args("tune-lens", argv, Set.of("chat"), Set.of("model", "text", "text-field", "out", "param", "steps", "tokens-per-step",
                "seq-len", "lr-scale", "weight-decay", "val-fraction", "seed", "eval-every", "checkpoint-every", "chunk", "threads"));
        if (!a.positional().isEmpty()) throw new Args.UsageException("tune-lens: unexpected argument '" + a.positional().getFirst() + "'");
        Path modelDir = Path.of(a.require("model")).toAbsolutePath().normalize();
        Path text = Path.of(a.require("text")).toAbsolutePath().normalize();
        Path outDir = Path.of(a.require("out"));
        TunedLens.Parameterisation param;
        try {
            param = TunedLens.Parameterisation.parse(a.get("param") == null ? "affine" : a.get("param"));
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException("tune-lens: --param " + e.getMessage());
        }
        int steps = (int) positive("steps", a.getInt("steps", 250));
        long tokensPerStep = positive("tokens-per-step", getLong(a, "tokens-per-step", 1L << 18));
        int seqLen = (int) positive("seq-len", a.getInt("seq-len", 2048));
        double lrScale = getDouble(a, "lr-scale", 1.0);
        double wd = getDouble(a, "weight-decay", 0.0);
        double valFraction = getDouble(a, "val-fraction", 0.05);
        long seed = getLong(a, "seed", 0);
        int evalEvery = (int) positive("eval-every", a.getInt("eval-every", 50));
        int ckptEvery = (int) positive("checkpoint-every", a.getInt("checkpoint-every", 10));
        int chunk = (int) positive("chunk", a.getInt("chunk", 32));
        int threads = (int) positive("threads", a.getInt("threads", Runtime.getRuntime().availableProcessors()));
        boolean chat = a.flag("chat");
        String field = a.get("text-field");
        if (!(lrScale > 0)) throw new Args.UsageException("tune-lens: --lr-scale must be positive, got " + lrScale);
        if (!(wd >= 0)) throw new Args.UsageException("tune-lens: --weight-decay must be >= 0, got " + wd);
        if (!(valFraction > 0 && valFraction < 1)) throw new Args.UsageException("tune-lens: --val-fraction must lie in (0, 1), got " + valFraction);

        LensTrainer.Settings settings = new LensTrainer.Settings(param, steps, tokensPerStep, lrScale, wd, evalEvery, ckptEvery, chunk, threads);
        // what a resumed run must agree on: the trainer's own settings, and the text and how it is cut
        ObjectNode recorded = JSON.createObjectNode();
        recorded.put("model", modelDir.toString());
        recorded.put("text", text.toString());
        recorded.put("text_field", field == null ? "text" : field);
        recorded.put("chat", chat);
        recorded.put("seq_len", seqLen);
        recorded.put("val_fraction", valFraction);
        recorded.put("seed", seed);
        recorded.setAll(settings.json());
        Files.createDirectories(outDir);
        Path settingsFile = outDir.resolve(SETTINGS_FILE);
        boolean resuming = Files.isRegularFile(settingsFile);
        if (resuming) {
            JsonNode prev = JSON.readTree(settingsFile.toFile());
            JsonNode now = JSON.readTree(recorded.toString());
            if (!prev.equals(now)) {
                StringBuilder diff = new StringBuilder();
                prev.fieldNames().forEachRemaining(k -> {
                    if (!prev.get(k).equals(now.get(k))) diff.append(diff.isEmpty() ? "" : ", ").append(k).append(' ').append(prev.get(k)).append(" -> ").append(now.get(k));
                });
                throw new Args.UsageException("tune-lens: " + outDir + " holds a lens training with other settings (" + settingsFile + ": " + diff
                        + "); resume it with the same command, or choose another --out");
            }
        }

        List<String> docs = TrainingText.documents(text, field);
        TrainingText.Corpus corpus = TrainingText.build(docs, TrainingText.encoder(modelDir, chat), seqLen, valFraction, seed);
        try (CpuBackend be = new CpuBackend(threads); Model model = Model.load(modelDir, be);
             LensTrainer trainer = new LensTrainer(model, settings, corpus.train(), corpus.validation())) {
            if (!resuming) { // recorded once the model and the text have loaded, so a failed start leaves no settings behind
                RunCommand.writeAtomically(settingsFile, JSON.writeValueAsString(recorded));
            }
            err.printf(Locale.ROOT, "cgap tune-lens: %s lens for %s (%d layers, d %d, vocab %d), %s%n", param.id(), modelDir, model.numLayers(),
                    model.hiddenSize(), model.vocabSize(), be.name());
            err.printf(Locale.ROOT, "cgap tune-lens: %s: %d documents%s -> %d training sequences (%d tokens), %d validation sequences (%d tokens), up to %d tokens each%n",
                    text, corpus.documents(), chat ? " wrapped in the chat template" : "", corpus.train().size(), corpus.trainTokens(),
                    corpus.validation().size(), corpus.validationTokens(), seqLen);
            double epochs = trainer.epochs();
            if (epochs > 1) {
                err.printf(Locale.ROOT, "cgap tune-lens: the corpus is too small for %d steps x %d tokens: it is cycled %.1f times%n", steps, tokensPerStep, epochs);
            }
            Progress progress = new Progress(err, model.numLayers(), steps);
            LensTrainer.Result r = trainer.train(outDir, progress);
            progress.finish();
            double[] best = r.bestEval().lensKl(), raw = r.rawKl();
            // per-layer validation KL, raw vs tuned: a table and a figure beside the lens
            StringBuilder csv = new StringBuilder("layer,raw_lens_validation_kl,tuned_lens_validation_kl\n");
            for (int l = 0; l < raw.length; l++) csv.append(l).append(',').append(raw[l]).append(',').append(best[l]).append('\n');
            Files.writeString(outDir.resolve("validation_kl.csv"), csv);
            cgap.diagnostics.report.Report.lensValidationFigure(outDir.resolve("validation_kl"),
                    "Validation KL per layer: raw vs tuned lens (" + modelDir.getFileName() + ")", List.of("raw lens", "tuned lens"),
                    new double[][]{raw, best});
            out.printf(Locale.ROOT, "tuned lens (step %d of %d, validation KL early/mid/late %s vs raw lens %s nats) written to %s (validation_kl.csv, validation_kl.png/.svg)%n",
                    r.bestStep(), steps, Progress.bands(best, model.numLayers()), Progress.bands(raw, model.numLayers()), outDir);
        }
        return 0;
    }

    private static long positive(String name, long v) {
        if (v <= 0) throw new Args.UsageException("tune-lens: --" + name + " must be positive, got " + v);
        return v;
    }

    static long getLong(Args a, String name, long def) {
        String v = a.get(name);
        if (v == null) return def;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new Args.UsageException("tune-lens: --" + name + " expects an integer, got '" + v + "'");
        }
    }

    static double getDouble(Args a, String name, double def) {
        String v = a.get(name);
        if (v == null) return def;
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new Args.UsageException("tune-lens: --" + name + " expects a number, got '" + v + "'");
        }
    }

    /** Progress on stderr: a bar, step, tokens/s, train and validation KL per layer band (early/mid/late thirds). */
    static final class Progress implements LensTrainer.Listener {
        private final PrintStream err;
        private final int layers, steps;
        private final boolean tty = System.console() != null;
        private final long start = System.nanoTime();
        private long tokens;
        private int stepsRun;
        private String val = "-";

        Progress(PrintStream err, int layers, int steps) {
            this.err = err;
            this.layers = layers;
            this.steps = steps;
        }

        /** Mean of the finite entries of each third of the layers, "early/mid/late". */
        static String bands(double[] kl, int layers) {
            StringBuilder sb = new StringBuilder();
            for (int b = 0; b < 3; b++) {
                int from = b * layers / 3, to = (b + 1) * layers / 3;
                double s = 0;
                int n = 0;
                for (int l = from; l < to; l++) {
                    if (Double.isFinite(kl[l])) {
                        s += kl[l];
                        n++;
                    }
                }
                if (b > 0) sb.append('/');
                sb.append(n == 0 ? "-" : String.format(Locale.ROOT, "%.3f", s / n));
            }
            return sb.toString();
        }

        @Override
        public void resumed(int step) {
            err.println("cgap tune-lens: resuming from the checkpoint at step " + step + " of " + steps);
        }

        @Override
        public void eval(LensTrainer.Eval e) {
            val = bands(e.lensKl(), layers);
            if (e.step() == 0) err.println("cgap tune-lens: step 0 validation KL early/mid/late " + val + " (the raw lens: " + bands(e.rawKl(), layers) + ")");
            else if (!tty) err.println("cgap tune-lens: step " + e.step() + " validation KL early/mid/late " + val + (e.best() ? "  (best so far, saved)" : ""));
        }

        @Override
        public void step(LensTrainer.StepStats s) {
            tokens += s.tokens();
            stepsRun++;
            double secs = (System.nanoTime() - start) / 1e9;
            double rate = tokens / Math.max(secs, 1e-9);
            double eta = secs / stepsRun * (steps - s.step());
            int width = 24, filled = (int) Math.round(width * (double) s.step() / steps);
            String line = String.format(Locale.ROOT, "[%s%s] step %d/%d  %.0f tokens/s  train KL %s  val KL %s  (early/mid/late)  ETA %s",
                    "#".repeat(filled), ".".repeat(width - filled), s.step(), steps, rate, bands(s.trainKl(), layers), val, RunCommand.duration(eta));
            if (tty) err.print("\r" + line);
            else if (s.step() == steps || s.step() % Math.max(1, steps / 25) == 0) err.println(line);
        }

        void finish() {
            if (tty) err.println();
            double secs = (System.nanoTime() - start) / 1e9;
            if (stepsRun > 0) {
                err.printf(Locale.ROOT, "cgap tune-lens: %d steps, %d tokens in %.1f s: %.0f tokens/s%n", stepsRun, tokens, secs, tokens / secs);
            }
        }
    }
}
