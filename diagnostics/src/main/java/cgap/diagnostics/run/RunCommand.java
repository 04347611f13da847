package cgap.diagnostics.run;

import cgap.diagnostics.cli.Args;
import cgap.diagnostics.data.Prompt;
import cgap.diagnostics.data.PromptQuery;
import cgap.diagnostics.data.PromptSets;
import cgap.diagnostics.pairs.PairRegistry;
import cgap.diagnostics.report.Report;
import cgap.engine.Model;
import cgap.engine.ModelLoadException;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.lens.TunedLens;
import cgap.engine.lens.TunedLensLibraryImport;
import cgap.engine.model.ModelConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code cgap run}: the discovery run of SPEC §1–§5.1 on a PT/IT pair. Both models generate greedily in their native
 * regime on every prompt; at every token step every layer is read through the raw lens and the step's metrics are
 * written to {@code steps/} as the run goes; the summary, figures and report come from those files. A killed run
 * started again with the same command resumes after the last finished prompt.
 */
public final class RunCommand {
    public static final String USAGE = """
            usage: cgap run [--pair NAME [--models-dir DIR] | --pt DIR --it DIR] [options]
              With no model arguments, runs the embedded default (a synthetic tiny pair, see its report).
              --pair NAME            a pair of models.yaml, resolved from --models-dir or the Hugging Face cache
              --pt DIR --it DIR      checkpoint folders of the pretrained and instruction-tuned model
              --prompts FILE         paper JSONL (formats.B), plain JSONL {"id","prompt"}, or text (one per line);
                                     default: the built-in prompt set
              --limit N  --sample N --seed S  --where FIELD=VALUE (repeatable)
              --max-new-tokens N     greedy generation cap (default 512; 24 for the embedded default)
              --it-format chat|raw   IT prompting (default chat)     --pt-format raw|chat (default raw)
              --chat-template FILE   IT chat template when its folder has none (or to override)
              --template-arg K=V     extra chat-template argument (repeatable), e.g. enable_thinking=false
              --stop-token TEXT      a further token that ends generation (repeatable), besides EOS and models.yaml's
              --skip-first-steps N   token steps dropped at the start of each generation (default 1, the paper code's)
              --bootstrap N          bootstrap resamples (default 2000)   --bootstrap-seed S (default 0)
              --lens raw|tuned       readout (default raw); tuned also reads every step through a tuned lens per
                                     model and reports every metric for both readouts side by side
              --pt-lens DIR --it-lens DIR
                                     tuned lenses (from cgap tune-lens, or the tuned-lens library's
                                     config.json + params.pt); each must belong to its model (head hash)
              --batch N              prompts generated together, one forward pass per step for all (default 8);
                                     results are the same bits whatever N, so N may change on resume
              --threads N            CPU threads (default: all cores)
              --out DIR              output folder (default runs/<pair>)""";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private RunCommand() {
    }

    /** What a run was asked to do; a resumed run must ask for the same. */
    record Resolved(String pairName, String description, Path ptDir, Path itDir, Map<String, int[]> windows,
                    String chatTemplate, Map<String, Object> templateArgs, List<String> stopTokens, boolean embedded) {
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args a = new Args("run", argv, Set.of(),
                Set.of("pair", "models-dir", "pt", "it", "prompts", "limit", "sample", "seed", "where", "max-new-tokens",
                        "it-format", "pt-format", "chat-template", "template-arg", "skip-first-steps", "bootstrap",
                        "bootstrap-seed", "threads", "out", "stop-token", "batch", "lens", "pt-lens", "it-lens"));
        Path repoRoot = Path.of(System.getenv().getOrDefault("CGAP_ROOT", ".")).toAbsolutePath().normalize();
        Resolved r = resolve(a, repoRoot);
        int maxNew = a.getInt("max-new-tokens", r.embedded() ? 24 : 512);
        int skipFirst = a.getInt("skip-first-steps", 1);
        int resamples = a.getInt("bootstrap", 2000);
        long bootSeed = a.getInt("bootstrap-seed", 0);
        Prompting.Format itFormat = Prompting.Format.parse(a.get("it-format") == null ? "chat" : a.get("it-format"), "--it-format");
        Prompting.Format ptFormat = Prompting.Format.parse(a.get("pt-format") == null ? "raw" : a.get("pt-format"), "--pt-format");
        Map<String, Object> targs = new LinkedHashMap<>(r.templateArgs());
        targs.putAll(a.keyValues("template-arg"));
        List<String> stopTokens = new ArrayList<>(r.stopTokens());
        stopTokens.addAll(a.all("stop-token"));
        String templateSpec = a.get("chat-template") != null ? a.get("chat-template") : r.chatTemplate();

        PromptQuery q = PromptQuery.all();
        for (String w : a.all("where")) q = q.where(w);
        if (a.get("sample") != null) q = q.sample(a.getInt("sample", 0), a.getInt("seed", 0));
        if (a.get("limit") != null) q = q.limit(a.getInt("limit", 0));
        String promptSource = a.get("prompts") == null ? "built-in prompt set (" + PromptSets.DEFAULT_RESOURCE + ")" : a.get("prompts");
        List<Prompt> prompts = a.get("prompts") == null ? q.apply(PromptSets.loadDefault(), promptSource)
                : PromptSets.load(Path.of(a.get("prompts")), q);
        if (prompts.isEmpty()) throw new Args.UsageException("run: no prompts left after the filters");
        List<String> ids = prompts.stream().map(Prompt::id).toList();

        Path outDir = Path.of(a.get("out") != null ? a.get("out") : "runs/" + r.pairName());
        Files.createDirectories(outDir);
        ObjectNode settings = JSON.createObjectNode();
        settings.put("pair", r.pairName());
        settings.put("description", r.description());
        settings.put("pt", r.ptDir().toString());
        settings.put("it", r.itDir().toString());
        settings.put("prompts", promptSource);
        settings.set("prompt_ids", JSON.valueToTree(ids));
        settings.put("max_new_tokens", maxNew);
        settings.put("pt_format", ptFormat.name().toLowerCase());
        settings.put("it_format", itFormat.name().toLowerCase());
        settings.set("template_args", JSON.valueToTree(targs));
        settings.set("stop_tokens", JSON.valueToTree(stopTokens));
        String lensMode = a.get("lens") == null ? "raw" : a.get("lens");
        if (!lensMode.equals("raw") && !lensMode.equals("tuned")) throw new Args.UsageException("run: --lens must be raw or tuned, got '" + lensMode + "'");
        boolean tunedLens = lensMode.equals("tuned");
        if (tunedLens && (a.get("pt-lens") == null || a.get("it-lens") == null)) {
            throw new Args.UsageException("run: --lens tuned needs --pt-lens DIR and --it-lens DIR (train them with cgap tune-lens)");
        }
        if (!tunedLens && (a.get("pt-lens") != null || a.get("it-lens") != null)) {
            throw new Args.UsageException("run: --pt-lens/--it-lens are read only with --lens tuned");
        }
        settings.put("readout", tunedLens ? "raw+tuned" : "raw");
        if (tunedLens) {
            settings.put("pt_lens", Path.of(a.get("pt-lens")).toAbsolutePath().normalize().toString());
            settings.put("it_lens", Path.of(a.get("it-lens")).toAbsolutePath().normalize().toString());
            // the lenses' content, so that a lens retrained in the same folder is not mixed into a resumed run
            settings.put("pt_lens_sha256", lensFileHash(Path.of(a.get("pt-lens")), "--pt-lens"));
            settings.put("it_lens_sha256", lensFileHash(Path.of(a.get("it-lens")), "--it-lens"));
        }
        // the kernels' accumulation order and vector width fix the last bits: a run resumed elsewhere must match
        settings.put("numerics", CpuBackend.numerics());
        settings.put("decoding", "greedy");
        settings.put("vocab_mask", false);
        Path runJson = outDir.resolve("run.json");
        if (Files.isRegularFile(runJson)) {
            JsonNode prev = JSON.readTree(runJson.toFile());
            if (!prev.equals(settings)) {
                throw new Args.UsageException("run: " + outDir + " holds a run with other settings (" + runJson + "); resume it with the same "
                        + "command, or choose another --out");
            }
        } else {
            writeAtomically(runJson, JSON.writeValueAsString(settings));
        }

        StepStore store = new StepStore(outDir);
        int threads = a.getInt("threads", Runtime.getRuntime().availableProcessors());
        try (CpuBackend be = new CpuBackend(threads);
             Model pt = Model.load(r.ptDir(), be);
             Model it = Model.load(r.itDir(), be)) {
            checkPair(pt.config(), it.config());
            TunedLens ptLens = tunedLens ? loadLens(Path.of(a.get("pt-lens")), pt, "--pt-lens") : null;
            TunedLens itLens = tunedLens ? loadLens(Path.of(a.get("it-lens")), it, "--it-lens") : null;
            List<Side> sides = List.of(
                    new Side("pt", pt, Prompting.load(r.ptDir(), ptFormat, templateSpec, targs, stopTokens, pt.config().eosTokenIds()),
                            ptLens == null ? null : ptLens::translate, be.parallel()),
                    new Side("it", it, Prompting.load(r.itDir(), itFormat, templateSpec, targs, stopTokens, it.config().eosTokenIds()),
                            itLens == null ? null : itLens::translate, be.parallel()));
            err.println("cgap run: " + r.description());
            err.println("cgap run: " + prompts.size() + " prompts, up to " + maxNew + " new tokens, " + be.name() + ", output " + outDir);
            int batch = a.getInt("batch", 8);
            if (batch < 1) throw new Args.UsageException("run: --batch must be at least 1, got " + batch);
            Progress progress = new Progress(err, prompts.size());
            int resumed = 0;
            for (int i = 0; i < prompts.size() && store.has("pt", i) && store.has("it", i); i++) resumed = i + 1;
            if (resumed > 0) progress.prompt(resumed, 0, 0, true);
            // Prompts in order, `batch` at a time; each side generates the batch's unfinished prompts together.
            for (int from = 0; from < prompts.size(); from += batch) {
                int to = Math.min(prompts.size(), from + batch);
                long steps = 0;
                boolean done = true;
                int fresh = 0;
                for (Side s : sides) {
                    List<Integer> todo = new ArrayList<>();
                    for (int i = from; i < to; i++) if (!store.has(s.name(), i)) todo.add(i);
                    if (todo.isEmpty()) continue;
                    done = false;
                    fresh = Math.max(fresh, todo.size());
                    List<Side.Result> res = s.run(todo.stream().map(i -> prompts.get(i).userMessage()).toList(), maxNew);
                    for (int t = 0; t < todo.size(); t++) {
                        int i = todo.get(t);
                        Side.Result r0 = res.get(t);
                        store.write(new StepStore.PromptRecord(prompts.get(i).id(), i, s.name(), r0.promptTokens(), r0.generated(), r0.text(), r0.stop()), r0.steps(), r0.tunedSteps());
                        steps += r0.steps().size();
                    }
                }
                if (!done || to > resumed) progress.prompt(to, fresh, steps, done);
            }
            progress.finish();
            Summarizer summarizer = new Summarizer(pt.numLayers(), skipFirst, resamples, bootSeed);
            List<Summarizer.Result> results = summarizer.summarize(store, ids, tunedLens ? List.of("raw", "tuned") : List.of("raw"));
            Summarizer.Result sum = results.get(0);
            Summarizer.Result tuned = tunedLens ? results.get(1) : null;
            ObjectNode summary = Report.summaryJson(sum, tuned, settings, r, pt.config(), it.config(), skipFirst, resamples, bootSeed);
            if (tunedLens) {
                ObjectNode lenses = summary.putObject("lenses");
                lenses.set("pt", lensInfo(ptLens, Path.of(a.get("pt-lens"))));
                lenses.set("it", lensInfo(itLens, Path.of(a.get("it-lens"))));
            }
            writeAtomically(outDir.resolve("summary.json"), JSON.writeValueAsString(summary));
            writeAtomically(outDir.resolve("summary.csv"), Report.summaryCsv(sum, tuned));
            Report.write(outDir, sum, tuned, summary, store, ids, prompts);
            out.println(Report.headline(sum, outDir));
        }
        return 0;
    }

    /** The tuned-lens library's parameter file. */
    private static final String LIBRARY_FILE = "params.pt";

    /**
     * The file that holds a lens folder's parameters: {@link TunedLens#TENSORS_FILE} of a cgap lens folder (one with
     * {@link TunedLens#JSON_FILE}), else the tuned-lens library's {@value #LIBRARY_FILE}. Loading and the content hash
     * both go through here, so they read the same lens and refuse the same folders with the same errors.
     */
    private static Path lensFile(Path dir, String flag) {
        if (!Files.isDirectory(dir)) throw new Args.UsageException("run: " + flag + " " + dir + " is not a folder");
        if (Files.isRegularFile(dir.resolve(TunedLens.JSON_FILE))) {
            Path f = dir.resolve(TunedLens.TENSORS_FILE);
            if (!Files.isRegularFile(f)) {
                throw new Args.UsageException("run: " + flag + " " + dir + " holds " + TunedLens.JSON_FILE + " but no " + TunedLens.TENSORS_FILE);
            }
            return f;
        }
        Path f = dir.resolve(LIBRARY_FILE);
        if (Files.isRegularFile(f)) return f;
        throw new Args.UsageException("run: " + flag + " " + dir + " holds neither " + TunedLens.JSON_FILE + " (cgap tune-lens) nor " + LIBRARY_FILE
                + " (tuned-lens library)");
    }

    /** A cgap lens folder (lens.json), or the tuned-lens library's (config.json + params.pt); refused on another model. */
    static TunedLens loadLens(Path dir, Model model, String flag) {
        boolean library = lensFile(dir, flag).getFileName().toString().equals(LIBRARY_FILE);
        try {
            return library ? TunedLensLibraryImport.load(dir, model) : TunedLens.load(dir, model);
        } catch (IllegalArgumentException | ModelLoadException e) {
            throw new IllegalArgumentException(flag + " " + e.getMessage(), e);
        }
    }

    /** SHA-256 of the lens's parameter file ({@link #lensFile}). */
    static String lensFileHash(Path dir, String flag) throws IOException {
        try (var in = Files.newInputStream(lensFile(dir, flag))) {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int r; (r = in.read(buf)) > 0; ) md.update(buf, 0, r);
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static ObjectNode lensInfo(TunedLens lens, Path dir) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("path", dir.toAbsolutePath().normalize().toString());
        n.put("parameterisation", lens.parameterisation().id());
        n.put("unembedding_sha256", lens.modelHash());
        Path json = dir.resolve(TunedLens.JSON_FILE);
        if (Files.isRegularFile(json)) {
            JsonNode t = JSON.readTree(json.toFile()).path("training");
            if (!t.isMissingNode()) n.set("training", t);
        }
        return n;
    }

    /** Seconds as "1h02m" or "3m07s", for progress lines. */
    public static String duration(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format("%dh%02dm", t / 3600, t / 60 % 60) : String.format("%dm%02ds", t / 60, t % 60);
    }

    /** Writes text to p through a sibling temporary file and an atomic move: a killed run leaves the old file or the new one. */
    public static void writeAtomically(Path p, String text) throws IOException {
        Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Refuses pairs whose vocabulary, width or depth differ. */
    static void checkPair(ModelConfig pt, ModelConfig it) {
        List<String> diffs = new ArrayList<>();
        if (pt.vocabSize() != it.vocabSize()) diffs.add("vocab_size " + pt.vocabSize() + " vs " + it.vocabSize());
        if (pt.hiddenSize() != it.hiddenSize()) diffs.add("hidden_size " + pt.hiddenSize() + " vs " + it.hiddenSize());
        if (pt.numLayers() != it.numLayers()) diffs.add("num_hidden_layers " + pt.numLayers() + " vs " + it.numLayers());
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException("not a PT/IT pair: " + pt.source() + " and " + it.source() + " differ in " + String.join(", ", diffs));
        }
    }

    static Resolved resolve(Args a, Path repoRoot) throws IOException {
        if (a.get("pt") != null || a.get("it") != null) {
            if (a.get("pt") == null || a.get("it") == null) throw new Args.UsageException("run: --pt and --it go together");
            if (a.get("pair") != null) throw new Args.UsageException("run: give --pair or --pt/--it, not both");
            Path pt = Path.of(a.get("pt")).toAbsolutePath().normalize(), it = Path.of(a.get("it")).toAbsolutePath().normalize();
            String name = pt.getFileName() + "_vs_" + it.getFileName();
            return new Resolved(name, "PT " + pt + " vs IT " + it, pt, it, Map.of(), "tokenizer_config", Map.of(), List.of(), false);
        }
        if (a.get("pair") != null) {
            PairRegistry reg = PairRegistry.load();
            PairRegistry.Pair p = reg.get(a.get("pair"));
            Path md = a.get("models-dir") == null ? null : Path.of(a.get("models-dir"));
            Path pt = PairRegistry.resolve(p.pt(), md, repoRoot, System.getenv()).toAbsolutePath().normalize();
            Path it = PairRegistry.resolve(p.it(), md, repoRoot, System.getenv()).toAbsolutePath().normalize();
            return new Resolved(p.name(), "pair " + p.name() + ": PT " + p.pt().id() + " vs IT " + p.it().id(), pt, it, p.windows(),
                    p.chatTemplate(), p.chatTemplateArgs(), p.stopTokens(), false);
        }
        Path base = Path.of(System.getProperty("user.home"), ".cache", "cgap", "default-pair");
        String cache = System.getenv("CGAP_CACHE");
        if (cache != null) base = Path.of(cache, "default-pair");
        DefaultPair.build(base);
        return new Resolved("default", DefaultPair.DESCRIPTION, base.resolve("pt"), base.resolve("it"), Map.of(), "tokenizer_config",
                Map.of(), List.of(), true);
    }

    /** A one-line progress display: prompts done, token steps per second, ETA. */
    static final class Progress {
        private final PrintStream err;
        private final int total;
        private final long start = System.nanoTime();
        private long steps;
        private int fresh;
        private final boolean tty = System.console() != null;

        Progress(PrintStream err, int total) {
            this.err = err;
            this.total = total;
        }

        void prompt(int done, int freshPrompts, long newSteps, boolean resumed) {
            steps += newSteps;
            fresh += freshPrompts;
            double secs = (System.nanoTime() - start) / 1e9;
            double rate = steps / Math.max(secs, 1e-9);
            double eta = fresh == 0 ? 0 : secs / fresh * (total - done);
            int width = 30, filled = (int) Math.round(width * (double) done / total);
            String line = String.format("[%s%s] %d/%d prompts  %.1f steps/s  ETA %s%s", "#".repeat(filled), ".".repeat(width - filled),
                    done, total, rate, duration(eta), resumed ? "  (resumed)" : "");
            if (tty) err.print("\r" + line);
            else if (done == total || done % Math.max(1, total / 10) == 0) err.println(line);
        }

        void finish() {
            if (tty) err.println();
        }
    }
}
