package cgap.bench;

import cgap.diagnostics.metrics.Metrics;
import cgap.diagnostics.report.Charts;
import cgap.engine.Activations;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Point;
import cgap.engine.Session;
import cgap.engine.cpu.CpuBackend;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import static cgap.bench.EndToEnd.d;
import static cgap.bench.EndToEnd.i;

/**
 * How the cost of a {@code cgap run} token step grows with the prompt length and with the vocabulary.
 *
 * <pre>
 * ./bench/scaling [--layers 8] [--hidden 512] [--heads 8] [--kv-heads 4] [--intermediate 1408] [--vocab 32000]
 *                 [--prompts 128,256,512,1024,2048,4096] [--vocabs 32000,64000,128256,256000] [--vocab-prompt 128]
 *                 [--steps 16] [--warmup 4] [--threads 2] [--seed 1] [--cache DIR] [--out-dir docs] [--md FILE]
 * </pre>
 *
 * Every configuration runs in a fresh worker JVM ({@code Scaling --worker}), so its peak resident set
 * ({@code VmHWM} of {@code /proc/self/status}, read by the worker at its end; the mapped BF16 weights' resident pages
 * included) is its own. A worker loads the {@link SyntheticLlama} (BF16, cached under {@code --cache}), warms the JIT
 * on a 32-token prompt and {@code --warmup} steps, then on a fresh session: the prompt's random ids in one forward
 * pass (prefill, timed alone), the lens step of its last row, then {@code --steps} greedy decode steps, each exactly
 * a step of {@code cgap run} at batch 1: the forward pass of one token capturing every layer's last-row
 * {@code resid_post}, the raw lens of all L rows ({@link Model#unembed(float[], int)}: final norm + head, [L, V]
 * logits) and {@link Metrics#step} over the [L][V] rows (top-1, log-softmax, KL both directions, JS); the next token
 * is the argmax of the last row. Reported: medians over the steps of the step, its forward part and its lens +
 * metrics part.
 *
 * <p>Writes {@code scaling.csv}, {@code scaling_prompt_length.png/.svg} and {@code scaling_vocab.png/.svg} into
 * {@code --out-dir} and prints a Markdown table (also written to {@code --md} when given).
 */
public final class Scaling {
    private Scaling() {
    }

    /** One configuration's measurements. */
    public record Row(String sweep, int prompt, int vocab, double loadMs, double prefillMs, double stepMs, double stepMinMs,
                         double stepMaxMs, double forwardMs, double lensMs, long peakRssKb, long weightBytes, long heapCommittedKb) {
    }

    /** The points and the Markdown table. */
    public record Result(List<Row> points, String markdown) {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--worker")) {
            worker(args);
            return;
        }
        Result r = run(args, System.err);
        System.out.print(r.markdown());
    }

    public static Result run(String[] args, PrintStream log) throws Exception {
        Map<String, String> defaults = new LinkedHashMap<>(Map.of("layers", "8", "hidden", "512", "heads", "8", "kv-heads", "4",
                "intermediate", "1408", "vocab", "32000", "vocab-prompt", "128", "steps", "16", "warmup", "4", "threads", "2"));
        defaults.putAll(Map.of("seed", "1", "prompts", "128,256,512,1024,2048,4096", "vocabs", "32000,64000,128256,256000",
                "cache", System.getProperty("user.home") + "/.cache/cgap/bench", "out-dir", "docs"));
        Map<String, String> o = EndToEnd.options(args, defaults, List.of("md"));
        int layers = i(o, "layers"), hidden = i(o, "hidden"), heads = i(o, "heads"), kvHeads = i(o, "kv-heads");
        int inter = i(o, "intermediate"), vocab = i(o, "vocab"), vocabPrompt = i(o, "vocab-prompt");
        int steps = i(o, "steps"), warmup = i(o, "warmup"), threads = i(o, "threads");
        long seed = Long.parseLong(o.get("seed"));
        int[] prompts = ints(o.get("prompts"));
        int[] vocabs = ints(o.get("vocabs"));
        Path cache = Path.of(o.get("cache"));
        Path outDir = Path.of(o.get("out-dir"));
        String load = EndToEnd.loadAvg();

        List<Row> pts = new ArrayList<>();
        for (int p : prompts) {
            SyntheticLlama m = new SyntheticLlama(layers, hidden, heads, kvHeads, inter, vocab, "BF16", seed);
            pts.add(measure("prompt", m, p, steps, warmup, threads, cache, log));
        }
        for (int v : vocabs) {
            SyntheticLlama m = new SyntheticLlama(layers, hidden, heads, kvHeads, inter, v, "BF16", seed);
            pts.add(measure("vocab", m, vocabPrompt, steps, warmup, threads, cache, log));
        }
        String loadAfter = EndToEnd.loadAvg();

        Files.createDirectories(outDir);
        StringBuilder csv = new StringBuilder("sweep,prompt,vocab,layers,hidden,load_ms,prefill_ms,prefill_tok_s,step_ms,step_min_ms,step_max_ms,"
                + "forward_ms,lens_metrics_ms,peak_rss_mb,weights_mb,heap_committed_mb\n");
        for (Row p : pts) {
            csv.append(String.format(Locale.ROOT, "%s,%d,%d,%d,%d,%.1f,%.2f,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%.1f,%.1f,%.1f%n", p.sweep(), p.prompt(), p.vocab(),
                    layers, hidden, p.loadMs(), p.prefillMs(), p.prompt() / (p.prefillMs() / 1e3), p.stepMs(), p.stepMinMs(), p.stepMaxMs(),
                    p.forwardMs(), p.lensMs(), p.peakRssKb() * 1.024e-3, p.weightBytes() / 1e6, p.heapCommittedKb() * 1.024e-3));
        }
        Files.writeString(outDir.resolve("scaling.csv"), csv);
        List<Row> byPrompt = pts.stream().filter(p -> p.sweep().equals("prompt")).toList();
        List<Row> byVocab = pts.stream().filter(p -> p.sweep().equals("vocab")).toList();
        if (!byPrompt.isEmpty()) {
            Charts.save(figure(String.format(Locale.ROOT, "cgap run step vs prompt length (BF16 Llama, %d layers, d %d, vocab %d, batch 1)", layers, hidden, vocab),
                    "prompt length (tokens)", byPrompt, true), outDir.resolve("scaling_prompt_length"));
        }
        if (!byVocab.isEmpty()) {
            Charts.save(figure(String.format(Locale.ROOT, "cgap run step vs vocabulary (BF16 Llama, %d layers, d %d, prompt %d, batch 1)", layers, hidden, vocabPrompt),
                    "vocabulary size", byVocab, false), outDir.resolve("scaling_vocab"));
        }

        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "Synthetic BF16 Llama: %d layers, d %d, %d heads / %d KV heads, intermediate %d; %d threads; "
                        + "%d decode steps (medians) after %d warm-up steps; one fresh JVM per row.%n%n", layers, hidden, heads, kvHeads, inter, threads,
                steps, warmup));
        md.append("| sweep | prompt | vocab | weights | prefill | prefill tok/s | step (min–max) | forward | lens + metrics | peak RSS | RSS − weights |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row p : pts) {
            md.append(String.format(Locale.ROOT, "| %s | %d | %d | %.0f MB | %.0f ms | %.0f | %.2f ms (%.2f–%.2f) | %.2f ms | %.2f ms | %.0f MB | %.0f MB |%n",
                    p.sweep(), p.prompt(), p.vocab(), p.weightBytes() / 1e6, p.prefillMs(), p.prompt() / (p.prefillMs() / 1e3), p.stepMs(), p.stepMinMs(),
                    p.stepMaxMs(), p.forwardMs(), p.lensMs(), p.peakRssKb() * 1024 / 1e6, (p.peakRssKb() * 1024 - p.weightBytes()) / 1e6));
        }
        md.append('\n').append(EndToEnd.footer(EndToEnd.utcMinute(), ", " + Runtime.getRuntime().availableProcessors() + " CPUs, JDK "
                + System.getProperty("java.runtime.version"), ". Load average before: " + load + "; after: " + loadAfter + ".\n", "scaling", args));
        if (o.containsKey("md")) Files.writeString(Path.of(o.get("md")), md);
        return new Result(pts, md.toString());
    }

    static Row measure(String sweep, SyntheticLlama m, int prompt, int steps, int warmup, int threads, Path cache, PrintStream log) throws Exception {
        Path dir = EndToEnd.ensureModel(m, cache, log, "scaling");
        List<String> cmd = EndToEnd.workerCommand(Scaling.class, dir.toString(), Integer.toString(prompt), Integer.toString(steps),
                Integer.toString(warmup), Integer.toString(threads));
        long t0 = System.nanoTime();
        Process proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Map<String, String> kv = null;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("scaling result ")) kv = EndToEnd.kv(line.substring("scaling result ".length()));
            }
        }
        int exit = proc.waitFor();
        if (kv == null || exit != 0) throw new IllegalStateException("scaling worker for " + dir.getFileName() + " prompt " + prompt + " failed (exit " + exit + ")");
        Row p = new Row(sweep, prompt, m.vocab(), d(kv, "load_ms"), d(kv, "prefill_ms"), d(kv, "step_ms"), d(kv, "step_min_ms"),
                d(kv, "step_max_ms"), d(kv, "forward_ms"), d(kv, "lens_ms"), Long.parseLong(kv.get("peak_rss_kb")),
                Files.size(dir.resolve("model.safetensors")), Long.parseLong(kv.get("heap_committed_kb")));
        log.printf(Locale.ROOT, "scaling: %s prompt %d vocab %d: prefill %.0f ms, step %.2f ms (forward %.2f, lens+metrics %.2f), peak RSS %.0f MB "
                        + "(%.1f s in all, load %s)%n", sweep, prompt, m.vocab(), p.prefillMs(), p.stepMs(), p.forwardMs(), p.lensMs(), p.peakRssKb() * 1.024e-3,
                (System.nanoTime() - t0) / 1e9, EndToEnd.loadAvg());
        return p;
    }

    // ---------------------------------------------------------------- worker

    private static void worker(String[] args) {
        Path dir = Path.of(args[1]);
        int prompt = Integer.parseInt(args[2]), steps = Integer.parseInt(args[3]), warmup = Integer.parseInt(args[4]), threads = Integer.parseInt(args[5]);
        long t0 = System.nanoTime();
        CpuBackend backend = new CpuBackend(threads);
        try (Model model = Model.load(dir, backend)) {
            double loadMs = (System.nanoTime() - t0) / 1e6;
            SplittableRandom r = new SplittableRandom(7);
            int v = model.vocabSize();
            Metrics metrics = new Metrics();
            // JIT warm-up on a short prompt, in its own session
            try (Session s = model.newSession()) {
                int next = lensStep(model, metrics, s.forward(r.ints(Math.min(32, prompt), 0, v).toArray(), Capture.lastRow(Point.RESID_POST)));
                for (int k = 0; k < warmup; k++) next = lensStep(model, metrics, s.forward(new int[]{next}, Capture.lastRow(Point.RESID_POST)));
            }
            double[] step = new double[steps], fwd = new double[steps], lens = new double[steps];
            double prefillMs;
            try (Session s = model.newSession()) {
                int[] ids = r.ints(prompt, 0, v).toArray();
                long a = System.nanoTime();
                Activations acts = s.forward(ids, Capture.lastRow(Point.RESID_POST));
                prefillMs = (System.nanoTime() - a) / 1e6;
                int next = lensStep(model, metrics, acts);
                for (int k = 0; k < steps; k++) {
                    long b0 = System.nanoTime();
                    acts = s.forward(new int[]{next}, Capture.lastRow(Point.RESID_POST));
                    long b1 = System.nanoTime();
                    next = lensStep(model, metrics, acts);
                    long b2 = System.nanoTime();
                    fwd[k] = (b1 - b0) / 1e6;
                    lens[k] = (b2 - b1) / 1e6;
                    step[k] = (b2 - b0) / 1e6;
                }
            }
            double[] sorted = step.clone();
            Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "scaling result load_ms=%.3f prefill_ms=%.3f step_ms=%.4f step_min_ms=%.4f step_max_ms=%.4f forward_ms=%.4f "
                            + "lens_ms=%.4f peak_rss_kb=%d heap_committed_kb=%d%n", loadMs, prefillMs, EndToEnd.median(step), sorted[0], sorted[steps - 1],
                    EndToEnd.median(fwd), EndToEnd.median(lens), EndToEnd.vmHwmKb(), Runtime.getRuntime().totalMemory() / 1024);
            System.out.flush();
        } finally {
            backend.close();
        }
    }

    /** The lens and metrics of one step at batch 1, as cgap run's Side does; returns the next token (argmax of the last row). */
    static int lensStep(Model model, Metrics metrics, Activations acts) {
        int layers = model.numLayers(), d = model.hiddenSize(), v = model.vocabSize();
        float[] stacked = new float[layers * d];
        float[][] resid = new float[layers][];
        for (int l = 0; l < layers; l++) {
            resid[l] = acts.get(Point.RESID_POST, l);
            System.arraycopy(resid[l], 0, stacked, l * d, d);
        }
        float[] all = model.unembed(stacked, layers);
        float[][] perLayer = new float[layers][];
        for (int l = 0; l < layers; l++) perLayer[l] = Arrays.copyOfRange(all, l * v, (l + 1) * v);
        metrics.step(perLayer, resid, null);
        return Session.argmax(perLayer[layers - 1], 0, v);
    }

    // ---------------------------------------------------------------- figure

    static JFreeChart figure(String title, String xLabel, List<Row> pts, boolean byPrompt) {
        XYSeriesCollection times = new XYSeriesCollection();
        XYSeries step = new XYSeries("decode step, total (ms)"), fwd = new XYSeries("forward pass (ms)"), lens = new XYSeries("lens + metrics (ms)");
        XYSeries prefill = new XYSeries("prefill per prompt token (ms)");
        XYSeries rss = new XYSeries("peak RSS (MB)"), weights = new XYSeries("weights file (MB)");
        for (Row p : pts) {
            double x = byPrompt ? p.prompt() : p.vocab();
            step.add(x, p.stepMs());
            fwd.add(x, p.forwardMs());
            lens.add(x, p.lensMs());
            prefill.add(x, p.prefillMs() / p.prompt());
            rss.add(x, p.peakRssKb() * 1024 / 1e6);
            weights.add(x, p.weightBytes() / 1e6);
        }
        times.addSeries(step);
        times.addSeries(fwd);
        times.addSeries(lens);
        times.addSeries(prefill);
        XYSeriesCollection mem = new XYSeriesCollection();
        mem.addSeries(rss);
        mem.addSeries(weights);
        ValueAxis x;
        if (byPrompt) {
            LogAxis lx = new LogAxis(xLabel);
            lx.setBase(2);
            lx.setNumberFormatOverride(new java.text.DecimalFormat("0"));
            x = lx;
        } else {
            NumberAxis nx = new NumberAxis(xLabel);
            nx.setAutoRangeIncludesZero(true);
            x = nx;
        }
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(x);
        plot.setGap(12);
        Color[] c = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0x9467bd)};
        XYPlot top = new XYPlot(times, null, new NumberAxis("milliseconds"), renderer(c));
        XYPlot bottom = new XYPlot(mem, null, new NumberAxis("megabytes"), renderer(new Color(0xd62728), new Color(0x7f7f7f)));
        for (XYPlot p : new XYPlot[]{top, bottom}) {
            p.setBackgroundPaint(Color.WHITE);
            p.setDomainGridlinePaint(new Color(0xdddddd));
            p.setRangeGridlinePaint(new Color(0xdddddd));
        }
        plot.add(top, 3);
        plot.add(bottom, 2);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT.deriveFont(13f), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static XYLineAndShapeRenderer renderer(Color... colors) {
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int k = 0; k < colors.length; k++) {
            r.setSeriesPaint(k, colors[k]);
            r.setSeriesStroke(k, new BasicStroke(2f));
        }
        return r;
    }

    // ---------------------------------------------------------------- helpers

    private static int[] ints(String s) {
        return s.isBlank() ? new int[0] : Arrays.stream(s.split(",")).mapToInt(x -> Integer.parseInt(x.strip())).toArray();
    }
}
