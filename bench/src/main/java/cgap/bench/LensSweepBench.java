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
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * The raw-lens sweep of one token step of {@code cgap run} against its GEMM alone.
 *
 * <p>A step of a batch of B sequences reads all L layers of every sequence through the lens: the [B·L, d] residual
 * rows are final-normed and multiplied by the BF16 head [V, d] (one GEMM, [B·L, V] logits), then each sequence's
 * [L][V] rows go through {@link Metrics#step} (max/top-1 scan, one exp per id, KL in both directions against the
 * last layer, JS between adjacent layers). {@link #gemm} times {@code backend.matmul} alone on preallocated buffers;
 * {@link #sweep} times exactly what {@code cgap.diagnostics.run.Side}'s decoder does with the logits: the
 * {@code Model.unembed} steps (alloc, write, rmsNorm, matmul, read), the per-layer row copies, and one
 * {@link Metrics} per sequence in a parallel stream (one sequence per task, as Side does).
 *
 * <p>The head is random BF16 in an {@link Arena} (no model file). Shapes ({@code shape} = L-d-V-B):
 * {@code 16-1024-32000-8} (a 16-layer d 1024 Llama-2-vocabulary model, batch 8) and {@code 32-2048-128256-4}
 * (a Llama-3.2-style vocabulary, 32 layers, batch 4).
 *
 * <pre>
 * ./bench/lens-sweep                     (both shapes, prints the sweep / GEMM ratio)
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
        for (long i = 0; i < n; i++) seg.setAtIndex(ValueLayout.JAVA_SHORT, i, SyntheticLlama.bf16((float) (a * (2 * r.nextDouble() - 1))));
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
        backend.matmul(hn, head, null, logits);
        bh.consume(logits.data()[0]);
    }

    /** The whole sweep of one step: unembed of all B·L rows, then the metrics of every sequence. */
    @Benchmark
    public void sweep(Blackhole bh) {
        int rows = batch * layers;
        // Model.unembed(float[], rows)
        Buf h = backend.alloc(rows, d);
        backend.write(h, resid);
        Buf lg = backend.alloc(rows, vocab);
        Buf hNorm = backend.alloc(rows, d);
        backend.rmsNorm(h, norm, 0f, 1e-5, d, hNorm);
        backend.matmul(hNorm, head, null, lg);
        float[] all = backend.read(lg);
        // Side's decoder: per-layer rows of each sequence, one Metrics per sequence, sequences in parallel
        StepMetrics[] out = new StepMetrics[batch];
        IntStream.range(0, batch).parallel().forEach(a -> {
            float[][] perLayer = new float[layers][];
            float[][] res = new float[layers][];
            for (int l = 0; l < layers; l++) {
                perLayer[l] = Arrays.copyOfRange(all, (a * layers + l) * vocab, (a * layers + l + 1) * vocab);
                res[l] = Arrays.copyOfRange(resid, (a * layers + l) * d, (a * layers + l + 1) * d);
            }
            out[a] = metrics[a].step(perLayer, res, null);
        });
        bh.consume(out);
    }

    /** Runs both benchmarks for the given shapes (default: both) and prints time per step and the ratio. */
    public static void main(String[] args) throws Exception {
        String[] shapes = args.length > 0 ? args[0].split(",") : new String[]{"16-1024-32000-8", "32-2048-128256-4"};
        int wi = args.length > 1 ? Integer.parseInt(args[1]) : 3, mi = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        ChainedOptionsBuilder o = new OptionsBuilder().include(LensSweepBench.class.getName() + "\\.").param("shape", shapes)
                .warmupIterations(wi).measurementIterations(mi).warmupTime(TimeValue.seconds(2)).measurementTime(TimeValue.seconds(2));
        Collection<RunResult> res = new Runner(o.build()).run();
        Map<String, double[]> byShape = new LinkedHashMap<>();
        for (RunResult rr : res) {
            String sh = rr.getParams().getParam("shape");
            String bench = rr.getParams().getBenchmark();
            double[] v = byShape.computeIfAbsent(sh, k -> new double[4]);
            int at = bench.endsWith(".gemm") ? 0 : 2;
            v[at] = rr.getPrimaryResult().getScore();
            v[at + 1] = rr.getPrimaryResult().getScoreError();
        }
        System.out.println();
        System.out.println("| L | d | V | B | GEMM ms/step | sweep ms/step | sweep / GEMM | GEMM GFLOP/s |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (Map.Entry<String, double[]> e : byShape.entrySet()) {
            int[] s = Arrays.stream(e.getKey().split("-")).mapToInt(Integer::parseInt).toArray();
            double[] v = e.getValue();
            double gflop = 2.0 * s[0] * s[3] * s[1] * (double) s[2] / 1e9;
            System.out.printf(Locale.ROOT, "| %d | %d | %d | %d | %.2f ± %.2f | %.2f ± %.2f | **%.2f** | %.0f |%n", s[0], s[1], s[2], s[3],
                    v[0], v[1], v[2], v[3], v[2] / v[0], gflop / (v[0] / 1e3));
        }
    }
}
