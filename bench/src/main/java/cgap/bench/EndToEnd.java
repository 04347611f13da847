package cgap.bench;

import cgap.engine.testing.LlamaCppReference;

import cgap.engine.Activations;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Session;
import cgap.engine.cpu.CpuBackend;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;

/**
 * End-to-end prefill and decode speed of cgap and llama.cpp on the same synthetic Llama, measured in one run.
 *
 * <pre>
 * ./bench/e2e [--layers 16] [--hidden 1024] [--heads H] [--kv-heads K] [--intermediate I] [--vocab 32000]
 *             [--prompt 128] [--decode 64] [--runs 5] [--threads 2] [--dtypes bf16,f32] [--seed 1]
 *             [--cache DIR] [--out FILE.md]
 * </pre>
 *
 * For each dtype it writes the model ({@link SyntheticLlama}, cached under {@code --cache}, default
 * {@code ~/.cache/cgap/bench}), converts it with {@code tools/llamacpp/hf_to_gguf.py} to a GGUF of the same dtype
 * (F32 → F32, BF16 → BF16 weights; norms F32 in both), then alternates the engines {@code --runs} times:
 * <ul>
 * <li>cgap: one worker JVM per dtype ({@code EndToEnd --worker}, the same JVM flags as {@code bench/jmh}, after
 *     {@code CGAP_JAVA_OPTS} if set) loads the model on {@code CpuBackend(threads)}, does one untimed-for-the-median
 *     warm-up run (reported as "first run"), then one timed run per round on a fresh {@link Session}.</li>
 * <li>llama.cpp: {@code tools/llamacpp/build/cgap_llama_bench}, a fresh process per round: load, one warm-up run
 *     (reported as "first run"), one timed run (F32 KV cache, flash attention off, threads = n_threads_batch).</li>
 * </ul>
 * A run is: the prompt's token ids in one forward pass plus the argmax of the last row's logits (prefill), then
 * {@code --decode} greedy single-token steps, each with its own logits and argmax (decode), timed regardless of the
 * tokens chosen. The order of the two engines alternates from round to round. Rates are tokens / wall time;
 * medians and min–max over the rounds; ratios are cgap's median over llama.cpp's. Peak RSS: cgap's worker
 * {@code VmHWM}, llama.cpp's {@code getrusage} maxrss (both include the resident pages of the mapped weights).
 */
public final class EndToEnd {
    private EndToEnd() {
    }

    /** One engine × dtype: the timed rounds and the first (warm-up) run. */
    public record Row(String engine, String dtype, double[] prefillTps, double[] decodeTps, double firstPrefillTps,
                      double firstDecodeTps, long peakRssKb) {
        public double prefillMedian() {
            return median(prefillTps);
        }

        public double decodeMedian() {
            return median(decodeTps);
        }
    }

    /** The rows and the Markdown report. */
    public record Report(List<Row> rows, String markdown) {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--worker")) {
            worker(args);
            return;
        }
        Report r = run(args, System.err);
        System.out.print(r.markdown());
    }

    // ---------------------------------------------------------------- options

    private static Map<String, String> parse(String[] args) {
        Map<String, String> d = new LinkedHashMap<>(MODEL_DEFAULTS);
        d.put("prompt", "128");
        d.put("decode", "64");
        d.put("runs", "5");
        d.put("threads", "2");
        d.put("dtypes", "bf16,f32");
        return withShape(options(args, d, List.of("heads", "kv-heads", "intermediate", "out", "llama-bench")));
    }

    /** The synthetic model's options and their defaults (heads, kv-heads and intermediate are derived, {@link #withShape}). */
    static final Map<String, String> MODEL_DEFAULTS = Map.of("layers", "16", "hidden", "1024", "vocab", "32000", "seed", "1",
            "cache", Path.of(System.getProperty("user.home"), ".cache", "cgap", "bench").toString());

    /** {@code --name value} pairs over a copy of the defaults; a name neither in the defaults nor optional is refused. */
    static Map<String, String> options(String[] args, Map<String, String> defaults, List<String> optional) {
        Map<String, String> o = new LinkedHashMap<>(defaults);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length) throw new IllegalArgumentException("bad option " + a + " (options are --name value)");
            String k = a.substring(2);
            if (!defaults.containsKey(k) && !optional.contains(k)) throw new IllegalArgumentException("unknown option " + a);
            o.put(k, args[++i]);
        }
        return o;
    }

    /** o with the shape options not given derived from hidden as Llama's: head_dim 64, 4 query heads per KV head, 8/3·d. */
    static Map<String, String> withShape(Map<String, String> o) {
        int hidden = Integer.parseInt(o.get("hidden"));
        o.putIfAbsent("heads", Integer.toString(Math.max(1, hidden / 64)));
        o.putIfAbsent("kv-heads", Integer.toString(Math.max(1, Integer.parseInt(o.get("heads")) / 4)));
        // Llama's 8/3·d rounded up to a multiple of 256 (d = 1024 -> 2816)
        o.putIfAbsent("intermediate", Integer.toString((8 * hidden / 3 + 255) / 256 * 256));
        return o;
    }

    /** The synthetic Llama of {@link #withShape}d options, in dtype (F32 or BF16). */
    static SyntheticLlama spec(Map<String, String> o, String dtype) {
        return new SyntheticLlama(i(o, "layers"), i(o, "hidden"), i(o, "heads"), i(o, "kv-heads"), i(o, "intermediate"), i(o, "vocab"),
                dtype.toUpperCase(Locale.ROOT), Long.parseLong(o.get("seed")));
    }

    public static Path llamaBench() {
        return LlamaCppReference.toolDir().resolve("build/cgap_llama_bench");
    }

    /** What the llama.cpp side needs and lacks, or null. */
    public static String missing() {
        Path tools = LlamaCppReference.toolDir();
        List<String> m = new ArrayList<>();
        if (!Files.isExecutable(llamaBench())) m.add(llamaBench() + " (run tools/llamacpp/setup.sh)");
        if (!Files.isDirectory(tools.resolve("build/llama.cpp/gguf-py"))) m.add(tools.resolve("build/llama.cpp/gguf-py") + " (run tools/llamacpp/setup.sh)");
        if (!Files.isRegularFile(tools.resolve("hf_to_gguf.py"))) m.add(tools.resolve("hf_to_gguf.py").toString());
        if (!LlamaCppReference.pythonWithNumpy()) m.add("python3 with numpy");
        return m.isEmpty() ? null : String.join("; ", m);
    }

    // ---------------------------------------------------------------- driver

    public static Report run(String[] args, PrintStream log) throws IOException, InterruptedException {
        Map<String, String> o = parse(args);
        String miss = missing();
        if (miss != null && !o.containsKey("llama-bench")) throw new IllegalStateException("llama.cpp side not available: " + miss);
        Path llamaBin = o.containsKey("llama-bench") ? Path.of(o.get("llama-bench")) : llamaBench();
        int layers = i(o, "layers"), hidden = i(o, "hidden"), heads = i(o, "heads"), kvHeads = i(o, "kv-heads"),
                inter = i(o, "intermediate"), vocab = i(o, "vocab"), prompt = i(o, "prompt"), decode = i(o, "decode"),
                runs = i(o, "runs"), threads = i(o, "threads");
        long seed = Long.parseLong(o.get("seed"));
        if (runs < 1 || prompt < 1 || decode < 1) throw new IllegalArgumentException("--runs, --prompt and --decode must be >= 1");
        List<String> dtypes = Arrays.stream(o.get("dtypes").split(",")).map(s -> s.trim().toUpperCase(Locale.ROOT)).toList();
        Path cache = Path.of(o.get("cache"));
        int[] tokens = new int[prompt];
        SplittableRandom tr = new SplittableRandom(seed + 7);
        for (int k = 0; k < prompt; k++) tokens[k] = 3 + tr.nextInt(vocab - 3);
        String csv = csv(tokens);

        String started = utcMinute();
        String loadBefore = loadAvg();
        List<Row> rows = new ArrayList<>();
        SyntheticLlama first = null;
        for (String dt : dtypes) {
            SyntheticLlama spec = spec(o, dt);
            if (first == null) first = spec;
            Path dir = ensureModel(spec, cache, log, "e2e");
            Path gguf = ensureGguf(dir, log);
            log.printf("e2e: %s: %d runs of prompt %d + decode %d, %d threads%n", dt, runs, prompt, decode, threads);
            try (Worker w = new Worker(dir, threads, csv, decode, log)) {
                double[] cp = new double[runs], cd = new double[runs], lp = new double[runs], ld = new double[runs];
                double lFirstP = 0, lFirstD = 0;
                long lRss = 0;
                for (int r = 0; r < runs; r++) {
                    for (int side = 0; side < 2; side++) {
                        boolean cgapNow = (side == 0) == (r % 2 == 0);
                        if (cgapNow) {
                            Map<String, String> m = w.run();
                            cp[r] = prompt / (d(m, "prefill_ms") / 1e3);
                            cd[r] = decode / (d(m, "decode_ms") / 1e3);
                            log.printf("e2e:   round %d cgap      prefill %8.1f tok/s  decode %7.2f tok/s%n", r + 1, cp[r], cd[r]);
                        } else {
                            Map<String, String> m = llama(llamaBin, gguf, csv, decode, threads);
                            lp[r] = prompt / (d(m, "prefill_ms") / 1e3);
                            ld[r] = decode / (d(m, "decode_ms") / 1e3);
                            if (r == 0) {
                                lFirstP = prompt / (d(m, "warm_prefill_ms") / 1e3);
                                lFirstD = decode / (d(m, "warm_decode_ms") / 1e3);
                            }
                            lRss = Math.max(lRss, Long.parseLong(m.get("peak_rss_kb")));
                            log.printf("e2e:   round %d llama.cpp prefill %8.1f tok/s  decode %7.2f tok/s%n", r + 1, lp[r], ld[r]);
                        }
                    }
                }
                long cRss = w.finish();
                rows.add(new Row("cgap", dt, cp, cd, prompt / (w.coldPrefillMs / 1e3), decode / (w.coldDecodeMs / 1e3), cRss));
                rows.add(new Row("llama.cpp", dt, lp, ld, lFirstP, lFirstD, lRss));
            }
        }
        String loadAfter = loadAvg();

        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "Synthetic Llama: %d layers, d %d, %d heads / %d KV heads (head_dim %d), intermediate %d, vocab %d "
                        + "(%.0f M parameters); prompt %d tokens, decode %d tokens, %d threads, %d rounds.%n%n",
                layers, hidden, heads, kvHeads, first.headDim(), inter, vocab, first.parameters() / 1e6, prompt, decode, threads, runs));
        md.append("| engine | dtype | prefill tok/s median (min–max) | decode tok/s median (min–max) | first run prefill / decode tok/s | peak RSS |\n");
        md.append("|---|---|---|---|---|---|\n");
        for (int k = 0; k < rows.size(); k += 2) {
            Row c = rows.get(k), l = rows.get(k + 1);
            for (Row r : List.of(c, l)) {
                md.append(String.format(Locale.ROOT, "| %s | %s | %s (%s–%s) | %s (%s–%s) | %s / %s | %d MB |%n", r.engine(), r.dtype(),
                        f(r.prefillMedian()), f(min(r.prefillTps())), f(max(r.prefillTps())),
                        f(r.decodeMedian()), f(min(r.decodeTps())), f(max(r.decodeTps())),
                        f(r.firstPrefillTps()), f(r.firstDecodeTps()), r.peakRssKb() / 1024));
            }
            md.append(String.format(Locale.ROOT, "| **cgap / llama.cpp** | %s | **%.2f×** (per round: %.2f×) | **%.2f×** (per round: %.2f×) | %.2f× / %.2f× | %.2f× |%n",
                    c.dtype(), c.prefillMedian() / l.prefillMedian(), pairedRatio(c.prefillTps(), l.prefillTps()),
                    c.decodeMedian() / l.decodeMedian(), pairedRatio(c.decodeTps(), l.decodeTps()),
                    c.firstPrefillTps() / l.firstPrefillTps(), c.firstDecodeTps() / l.firstDecodeTps(),
                    (double) c.peakRssKb() / l.peakRssKb()));
        }
        md.append('\n');
        md.append("Ratios: cgap's median over llama.cpp's; \"per round\": the median over rounds of the ratio within a round (the two engines ran "
                + "back to back, so a slow patch of a shared machine hits both). First run: cgap's warm-up run in a fresh JVM (JIT compiling), "
                + "llama.cpp's warm-up run after loading (first round's process). Timed cgap runs reuse one warm JVM per dtype; every llama.cpp round "
                + "is a fresh process.\n\n");
        md.append(footer(started, ", " + Runtime.getRuntime().availableProcessors() + " cores. JDK: " + System.getProperty("java.vm.vendor")
                        + ' ' + Runtime.version() + ". llama.cpp: " + llamaVersion(),
                ".\nLoad average (1/5/15 min) before: " + loadBefore + "; after: " + loadAfter + ".\n", "e2e", args));
        String text = md.toString();
        if (o.containsKey("out")) {
            Path out = Path.of(o.get("out"));
            if (out.getParent() != null) Files.createDirectories(out.getParent());
            Files.writeString(out, text);
        }
        return new Report(rows, text);
    }

    /** cache/spec.id(), written there first unless a finished copy is there; progress on log, each line led by "tag: ". */
    static Path ensureModel(SyntheticLlama spec, Path cache, PrintStream log, String tag) throws IOException {
        Path dir = cache.resolve(spec.id());
        if (Files.isRegularFile(dir.resolve("complete"))) return dir;
        log.printf("%s: writing %s (%.0f M parameters) to %s%n", tag, spec.id(), spec.parameters() / 1e6, dir);
        long t0 = System.nanoTime();
        spec.write(dir);
        Files.writeString(dir.resolve("complete"), "");
        log.printf("%s:   %.1f s%n", tag, (System.nanoTime() - t0) / 1e9);
        return dir;
    }

    private static Path ensureGguf(Path dir, PrintStream log) throws IOException, InterruptedException {
        Path gguf = dir.resolve("llama.cpp.gguf");
        if (Files.isRegularFile(gguf)) return gguf;
        log.printf("e2e: converting to %s%n", gguf);
        long t0 = System.nanoTime();
        Path conv = LlamaCppReference.toolDir().resolve("hf_to_gguf.py");
        // converted under a temporary name and moved into place: a killed conversion is not taken for a finished one
        Path tmp = dir.resolve("llama.cpp.gguf.tmp");
        Process p = new ProcessBuilder("python3", conv.toString(), dir.toString(), tmp.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException("hf_to_gguf.py failed:\n" + out);
        Files.move(tmp, gguf, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        log.printf("e2e:   %.1f s%n", (System.nanoTime() - t0) / 1e9);
        return gguf;
    }

    private static Map<String, String> llama(Path bin, Path gguf, String csv, int decode, int threads) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(bin.toString(), gguf.toString(), "--tokens", csv, "--decode", Integer.toString(decode),
                "--threads", Integer.toString(threads)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(bin + " failed (exit " + p.exitValue() + "): " + out);
        return kv(out.strip());
    }

    /** The cgap side: a JVM that holds the model and runs on request. */
    private static final class Worker implements AutoCloseable {
        final Process proc;
        final BufferedReader in;
        final PrintWriter out;
        final double coldPrefillMs, coldDecodeMs;

        Worker(Path dir, int threads, String csv, int decode, PrintStream log) throws IOException {
            List<String> cmd = workerCommand(EndToEnd.class, dir.toString(), Integer.toString(threads), csv, Integer.toString(decode));
            proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            in = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8));
            out = new PrintWriter(proc.getOutputStream(), true, StandardCharsets.UTF_8);
            Map<String, String> cold = read("cold");
            coldPrefillMs = d(cold, "prefill_ms");
            coldDecodeMs = d(cold, "decode_ms");
            log.printf("e2e:   cgap worker: load %.0f ms, first run prefill %.0f ms, decode %.0f ms (%s)%n", d(cold, "load_ms"),
                    coldPrefillMs, coldDecodeMs, cold.get("backend").replace('_', ' '));
        }

        Map<String, String> read(String tag) throws IOException {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("e2e " + tag + " ")) return kv(line.substring(5 + tag.length()));
            }
            throw new IllegalStateException("cgap worker ended before reporting '" + tag + "' (exit " + waitExit() + ")");
        }

        int waitExit() {
            try {
                return proc.waitFor(10, TimeUnit.SECONDS) ? proc.exitValue() : -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        Map<String, String> run() throws IOException {
            out.println("run");
            return read("run");
        }

        long finish() throws IOException {
            out.println("quit");
            return Long.parseLong(read("rss").get("peak_rss_kb"));
        }

        @Override
        public void close() {
            out.close();
            if (waitExit() == -1) proc.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------- cgap worker process

    /**
     * The command line of a worker JVM: this JVM's java, then the extra JVM options of env {@code CGAP_JAVA_OPTS} split
     * at whitespace (as bench/lib.sh passes them to the driver), the JVM flags of {@code bench/jmh}, this class path,
     * then {@code main --worker args…}.
     */
    static List<String> workerCommand(Class<?> main, String... args) {
        return workerCommand(System.getenv("CGAP_JAVA_OPTS"), main, args);
    }

    /** {@link #workerCommand(Class, String...)} with javaOpts (null or blank: none) in place of env CGAP_JAVA_OPTS. */
    static List<String> workerCommand(String javaOpts, Class<?> main, String... args) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java));
        if (javaOpts != null && !javaOpts.isBlank()) cmd.addAll(List.of(javaOpts.strip().split("\\s+")));
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), main.getName(), "--worker"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static void worker(String[] args) throws IOException {
        Path dir = Path.of(args[1]);
        int threads = Integer.parseInt(args[2]);
        int[] tokens = Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
        int decode = Integer.parseInt(args[4]);
        PrintStream out = System.out;
        long t0 = System.nanoTime();
        CpuBackend backend = new CpuBackend(threads);
        try (Model model = Model.load(dir, backend)) {
            double loadMs = (System.nanoTime() - t0) / 1e6;
            double[] cold = once(model, tokens, decode);
            out.printf(Locale.ROOT, "e2e cold load_ms=%.3f prefill_ms=%.3f decode_ms=%.3f backend=%s%n", loadMs, cold[0], cold[1],
                    backend.name().replace(' ', '_'));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.equals("run")) {
                    double[] t = once(model, tokens, decode);
                    out.printf(Locale.ROOT, "e2e run prefill_ms=%.3f decode_ms=%.3f first=%d last=%d%n", t[0], t[1], (int) t[2], (int) t[3]);
                } else if (line.equals("quit")) {
                    out.printf(Locale.ROOT, "e2e rss peak_rss_kb=%d%n", vmHwmKb());
                    out.flush();
                    break;
                }
                out.flush();
            }
        } finally {
            backend.close();
        }
    }

    /** {prefill ms, decode ms, first generated id, last generated id} on a fresh session. */
    static double[] once(Model model, int[] tokens, int decode) {
        try (Session s = model.newSession()) {
            long t0 = System.nanoTime();
            Activations a = s.forward(tokens, Capture.NONE);
            float[] logits = model.unembed(a.finalResid(), 1);
            int next = Session.argmax(logits, 0, logits.length);
            long t1 = System.nanoTime();
            int first = next;
            for (int k = 0; k < decode; k++) {
                a = s.forward(new int[]{next}, Capture.NONE);
                logits = model.unembed(a.finalResid(), 1);
                next = Session.argmax(logits, 0, logits.length);
            }
            long t2 = System.nanoTime();
            return new double[]{(t1 - t0) / 1e6, (t2 - t1) / 1e6, first, next};
        }
    }

    /** This process's peak resident set (VmHWM of /proc/self/status), in kB; -1 when unreadable. */
    static long vmHwmKb() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    // ---------------------------------------------------------------- helpers

    /** This minute in UTC, as the benchmarks date their output: "2025-01-31 22:45 UTC". */
    static String utcMinute() {
        return ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
    }

    /**
     * The provenance lines a benchmark's output ends with: {@code Date: date. Machine: <cpu model>machine} then
     * {@code between} (its own punctuation and any further notes), then {@code Command: `./bench/script args…`} and a
     * newline.
     */
    static String footer(String date, String machine, String between, String script, String[] args) {
        return "Date: " + date + ". Machine: " + cpuModel() + machine + between + "Command: `./bench/" + script + " " + String.join(" ", args) + "`\n";
    }

    static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).strip();
            }
        } catch (IOException e) {
            return System.getProperty("os.arch");
        }
        return System.getProperty("os.arch");
    }

    static String loadAvg() {
        try {
            String[] p = Files.readString(Path.of("/proc/loadavg")).split("\\s+");
            return p[0] + " / " + p[1] + " / " + p[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String llamaVersion() {
        try {
            Path pkg = LlamaCppReference.toolDir().resolve("node_modules/@node-llama-cpp/linux-x64/package.json");
            String s = Files.readString(pkg);
            int k = s.indexOf("\"version\"");
            String v = s.substring(s.indexOf('"', s.indexOf(':', k) + 1) + 1);
            v = v.substring(0, v.indexOf('"'));
            Path src = LlamaCppReference.toolDir().resolve("build/llama.cpp/.cgap-source");
            String head = Files.isRegularFile(src) ? Files.readString(src).strip() : "?";
            return "node-llama-cpp " + v + " prebuilt CPU libraries (source " + head.substring(0, Math.min(10, head.length())) + ")";
        } catch (IOException | RuntimeException e) {
            return "cgap_llama_bench (version unknown)";
        }
    }

    static Map<String, String> kv(String s) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String p : s.split("\\s+")) {
            int e = p.indexOf('=');
            if (e > 0) m.put(p.substring(0, e), p.substring(e + 1));
        }
        return m;
    }

    static double d(Map<String, String> m, String k) {
        String v = m.get(k);
        if (v == null) throw new IllegalStateException("missing '" + k + "' in " + m);
        return Double.parseDouble(v);
    }

    static int i(Map<String, String> o, String k) {
        return Integer.parseInt(o.get(k));
    }

    private static String csv(int[] t) {
        StringJoiner j = new StringJoiner(",");
        for (int x : t) j.add(Integer.toString(x));
        return j.toString();
    }

    /** Median over rounds of a[r] / b[r]. */
    static double pairedRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int k = 0; k < a.length; k++) r[k] = a[k] / b[k];
        return median(r);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    private static String f(double v) {
        if (v >= 100) return String.format(Locale.ROOT, "%.0f", v);
        if (v >= 10) return String.format(Locale.ROOT, "%.1f", v);
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
