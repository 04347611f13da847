package cgap.bench;

import cgap.diagnostics.metrics.Metrics;
import cgap.diagnostics.metrics.StepMetrics;
import cgap.engine.backend.Buf;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.cpu.CpuBuf;
import cgap.engine.cpu.CpuWeight;
import cgap.engine.safetensors.DType;
import org.openjdk.jmh.annotations.*;
import org.openjdk.jmh.infra.Blackhole;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The raw-lens sweep of one token step of {@code cgap run} against its GEMM alone.
 *
 * <p>A step of a batch of B sequences reads all L layers of every sequence through the lens: the [B·L, d] residual
 * rows are final-normed and multiplied by the BF16 head [V, d] (one GEMM, [B·L, V] logits), then each sequence's
 * [L][V] rows go through {@link Metrics#step} (max/top-1 scan, one exp per id, KL in both directions against the
 * last layer, JS between adjacent layers). {@link #gemm} times {@code backend.matmul} alone on preallocated buffers;
 * {@link #sweep} times exactly what {@code cgap.diagnostics.run.Side}'s decoder does with the logits: the
 * {@code Model.unembed} steps into reused buffers (write, rmsNorm, matmul), each row read into its sequence's reused
 * array, and one
 * {@link Metrics} per sequence on the backend's thread team ({@code Parallel.forRange}, one sequence per task, as
 * Side does).
 *
 * <p>The head is random BF16 in an {@link Arena} (no model file). Shapes ({@code shape} = L-d-V-B):
 * {@code 16-1024-32000-8} (a 16-layer d 1024 Llama-2-vocabulary model, batch 8) and {@code 32-2048-128256-4}
 * (a Llama-3.2-style vocabulary, 32 layers, batch 4).
 *
 * <pre>
 * ./bench/lens-sweep                     (both shapes, interleaved rounds in one JVM, prints the sweep / GEMM ratio)
 * ./bench/jmh LensSweepBench -p shape=16-1024-32000-8
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class LensSweepBench {
    @Param({"16-1024-32000-8", "32-2048-128256-4"})
    public String shape;
    @Param({"2"})
    public int threads;

    int layers, d, vocab, batch;
    CpuBackend backend;
    CpuWeight head, norm;
    float[] resid;
    CpuBuf hn, logits;
    Metrics[] metrics;
    float[][][] rowsOfSeq; // [B][L][V]: the logits of one GEMM, for the metrics-only timing

    @Setup(Level.Trial)
    public void setup() {
        int[] s = Arrays.stream(shape.split("-")).mapToInt(Integer::parseInt).toArray();
        layers = s[0];
        d = s[1];
        vocab = s[2];
        batch = s[3];
        backend = new CpuBackend(threads);
        SplittableRandom r = new SplittableRandom(1);
        long n = (long) vocab * d;
        MemorySegment seg = Arena.global().allocate(n * 2, 64);
        double a = 2 * Math.sqrt(3.0 / d); // std 2/sqrt(d), as SyntheticLlama's lm_head
        for (long i = 0; i < n; i++) seg.setAtIndex(ValueLayout.JAVA_SHORT, i, cgap.engine.safetensors.SafeTensorsWriter.toBf16((float) (a * (2 * r.nextDouble() - 1))));
        head = new CpuWeight("lm_head.weight", DType.BF16, vocab, d, seg);
        MemorySegment ns = Arena.global().allocate((long) d * 4, 64);
        for (int i = 0; i < d; i++) ns.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (1 + 0.1 * (2 * r.nextDouble() - 1)));
        norm = new CpuWeight("model.norm.weight", DType.F32, 1, d, ns);
        int rows = batch * layers;
        resid = new float[rows * d];
        // rows whose scale grows with depth, like a residual stream; the lens logits are then far from uniform late on
        for (int row = 0; row < rows; row++) {
            double scale = 1 + 4.0 * (row % layers) / layers;
            for (int i = 0; i < d; i++) resid[row * d + i] = (float) (scale * (2 * r.nextDouble() - 1));
        }
        hn = new CpuBuf(rows, d);
        backend.rmsNorm(new CpuBuf(resid.clone(), rows, d), norm, 0f, 1e-5, d, hn);
        logits = new CpuBuf(rows, vocab);
        metrics = new Metrics[batch];
        for (int i = 0; i < batch; i++) metrics[i] = new Metrics();
        backend.matmul(hn, head, null, logits);
        rowsOfSeq = new float[batch][layers][];
        for (int q = 0; q < batch; q++)
            for (int l = 0; l < layers; l++) rowsOfSeq[q][l] = Arrays.copyOfRange(logits.data(), (q * layers + l) * vocab, (q * layers + l + 1) * vocab);
        // the sweep's reused buffers, made here so that no timed sweep makes them
        sweepH = backend.alloc(rows, d);
        sweepNorm = backend.alloc(rows, d);
        sweepLogits = backend.alloc(rows, vocab);
        sweepRows = new float[batch][layers][vocab];
        residRows = new float[batch][layers][];
        for (int q = 0; q < batch; q++)
            for (int l = 0; l < layers; l++) residRows[q][l] = Arrays.copyOfRange(resid, (q * layers + l) * d, (q * layers + l + 1) * d);
        System.out.printf(Locale.ROOT, "%n# lens sweep L=%d d=%d V=%d B=%d, %d threads: head %.0f MB BF16, logits %.1f MB f32, %.2f GFLOP per GEMM%n",
                layers, d, vocab, batch, threads, n * 2 / 1e6, (double) rows * vocab * 4 / 1e6, 2.0 * rows * d * vocab / 1e9);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    /** The lens GEMM alone: [B·L, d] · head[V, d]ᵀ into preallocated logits. */
    @Benchmark
    public void gemm(Blackhole bh) {
        bh.consume(doGemm());
    }

    float doGemm() {
        backend.matmul(hn, head, null, logits);
        return logits.data()[0];
    }

    /** The metrics alone (every sequence's {@link Metrics#step} over ready [L][V] rows, sequences in parallel). */
    @Benchmark
    public void metrics(Blackhole bh) {
        bh.consume(doMetrics());
    }

    StepMetrics[] doMetrics() {
        StepMetrics[] out = new StepMetrics[batch];
        backend.parallel().forRange(batch, 1, (a0, a1) -> {
            for (int a = a0; a < a1; a++) out[a] = metrics[a].step(rowsOfSeq[a], null, null);
        });
        return out;
    }

    /** The whole sweep of one step: unembed of all B·L rows, then the metrics of every sequence. */
    @Benchmark
    public void sweep(Blackhole bh) {
        bh.consume(doSweep());
    }

    Buf sweepH, sweepNorm, sweepLogits;
    float[][][] residRows; // [B][L][d]: the residual rows per sequence and layer, as Activations holds them
    float[][][] sweepRows; // [B][L][V], reused every step as Side reuses its rows

    StepMetrics[] doSweep() {
        int rows = batch * layers;
        // Side's decoder: the step's residual rows into a reused device buffer, Model.unembed(Buf, Buf) (norm + head),
        // each sequence's rows read into its reused [L][V] arrays, one Metrics per sequence (with the residual rows the
        // activations already hold), sequences spread over the backend's own thread team as Side does
        backend.writeRows(sweepH, 0, rows, resid, 0);
        backend.rmsNorm(sweepH, norm, 0f, 1e-5, d, sweepNorm);
        backend.matmul(sweepNorm, head, null, sweepLogits);
        StepMetrics[] out = new StepMetrics[batch];
        backend.parallel().forRange(batch, 1, (a0, a1) -> {
            for (int a = a0; a < a1; a++) {
                for (int l = 0; l < layers; l++) backend.readRows(sweepLogits, a * layers + l, 1, sweepRows[a][l], 0);
                out[a] = metrics[a].step(sweepRows[a], residRows[a], null);
            }
        });
        return out;
    }

    /**
     * Interleaved timing in this JVM, for a shared machine: per shape, {@code warm} untimed rounds, then
     * {@code rounds} rounds each timing one GEMM and one sweep back to back (order alternating), so both see the
     * same load, then the metrics alone on ready rows; prints medians, min and the median of the per-round ratios. Args: [SHAPES [ROUNDS [WARM]]].
     * ({@code ./bench/jmh LensSweepBench} runs the same two methods under JMH, one after the other.)
     */
    public static void main(String[] args) {
        String[] shapes = args.length > 0 ? args[0].split(",") : new String[]{"16-1024-32000-8", "32-2048-128256-4"};
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 15, warm = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        StringBuilder md = new StringBuilder("| L | d | V | B | GEMM ms/step median (min) | sweep ms/step median (min) | sweep / GEMM median of rounds (of mins) | of which metrics ms | GEMM GFLOP/s | load before / after |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|\n");
        float sink = 0;
        for (String sh : shapes) {
            String before = EndToEnd.loadAvg();
            LensSweepBench b = new LensSweepBench();
            b.shape = sh;
            b.threads = 2;
            b.setup();
            double[] g = new double[rounds], sw = new double[rounds], me = new double[rounds], ratio = new double[rounds];
            for (int k = -warm; k < rounds; k++) {
                double tg = 0, ts = 0;
                for (int o = 0; o < 2; o++) {
                    boolean gemmNow = (o == 0) == (k % 2 == 0);
                    long t0 = System.nanoTime();
                    if (gemmNow) sink += b.doGemm();
                    else sink += b.doSweep().length;
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (gemmNow) tg = ms;
                    else ts = ms;
                }
                long t0 = System.nanoTime();
                sink += b.doMetrics().length;
                double tm = (System.nanoTime() - t0) / 1e6;
                if (k >= 0) {
                    g[k] = tg;
                    sw[k] = ts;
                    me[k] = tm;
                    ratio[k] = ts / tg;
                }
            }
            b.tearDown();
            double gm = EndToEnd.median(g), sm = EndToEnd.median(sw);
            double gmin = Arrays.stream(g).min().orElse(0), smin = Arrays.stream(sw).min().orElse(0);
            double gflop = 2.0 * b.batch * b.layers * b.d * (double) b.vocab / 1e9;
            String line = String.format(Locale.ROOT, "| %d | %d | %d | %d | %.1f (%.1f) | %.1f (%.1f) | **%.2f** (%.2f) | %.1f | %.0f | %s / %s |%n", b.layers, b.d, b.vocab, b.batch,
                    gm, gmin, sm, smin, EndToEnd.median(ratio), smin / gmin, EndToEnd.median(me), gflop / (gm / 1e3), before, EndToEnd.loadAvg());
            System.err.print(line);
            md.append(line);
        }
        System.out.print(md);
        if (sink == 42.4242f) System.out.println();
    }
}
