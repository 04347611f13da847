package cgap.bench;

import cgap.engine.backend.KvCache;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.cpu.CpuBuf;
import cgap.engine.cpu.CpuWeight;
import cgap.engine.safetensors.DType;
import org.openjdk.jmh.annotations.*;
import org.openjdk.jmh.infra.Blackhole;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The non-matmul parts of one layer through {@link CpuBackend}, at the shape of {@code ./bench/e2e}'s model
 * (d 1024, 16 heads / 4 KV heads of 64): RMSNorm of {@code rows} rows, and attention of {@code rows} new queries at
 * the end of a KV cache of {@code context} positions (rows = 1: a decode step; rows = context: a whole prefill).
 * Each trial prints the FLOPs and bytes of one call of each op, so that a score reads as a fraction of the ceilings
 * ({@code ./bench/ceilings}: FMA peak, read bandwidth).
 *
 * <pre>./bench/jmh LayerOpsBench</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LayerOpsBench {
    @Param({"1", "128"})
    public int rows;
    @Param({"192"})
    public int context;
    @Param({"2"})
    public int threads;

    static final int D = 1024, HEADS = 16, KV_HEADS = 4, HEAD_DIM = 64;

    CpuBackend backend;
    CpuBuf x, xn, q, att;
    CpuWeight norm;
    KvCache cache;
    int[] pos;

    @Setup(Level.Trial)
    public void setup() {
        backend = new CpuBackend(threads);
        Random r = new Random(1);
        x = new CpuBuf(gauss(r, rows * D), rows, D);
        xn = new CpuBuf(rows, D);
        q = new CpuBuf(gauss(r, rows * HEADS * HEAD_DIM), rows, HEADS * HEAD_DIM);
        att = new CpuBuf(rows, HEADS * HEAD_DIM);
        MemorySegment g = Arena.global().allocate(D * 4L, 64);
        for (int i = 0; i < D; i++) g.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f + 0.1f * (float) r.nextGaussian());
        norm = new CpuWeight("norm", DType.F32, 1, D, g);
        int kvDim = KV_HEADS * HEAD_DIM;
        cache = backend.kvCache(1, kvDim, context);
        int[] all = new int[context];
        for (int i = 0; i < context; i++) all[i] = i;
        backend.kvWrite(cache, 0, new CpuBuf(gauss(r, context * kvDim), context, kvDim), new CpuBuf(gauss(r, context * kvDim), context, kvDim), 0, all);
        pos = new int[rows];
        for (int i = 0; i < rows; i++) pos[i] = context - rows + i;
        long keys = 0; // Σ over the new rows of the keys each attends to (its position + 1, causal)
        for (int p : pos) keys += p + 1;
        System.out.printf("%n# rmsNorm rows=%d d=%d: %.3f MFLOP and %.3f MB (x read, out written, weight read) per call%n",
                rows, D, rmsNormFlops(rows) / 1e6, rmsNormBytes(rows) / 1e6);
        System.out.printf("# attention rows=%d context=%d: %.3f GFLOP (q·k and p·V, 4 per key and head dimension) and %.3f MB of"
                + " the KV cache (each KV head's keys and values read once) per call%n",
                rows, context, attentionFlops(keys) / 1e9, attentionBytes(context) / 1e6);
    }

    /** RMSNorm's arithmetic: a square-add per element for the mean square, then a scale and a weight multiply. */
    static double rmsNormFlops(int rows) {
        return 4.0 * rows * D;
    }

    /** RMSNorm's traffic: x read and out written (f32), the f32 weight read once. */
    static double rmsNormBytes(int rows) {
        return 8.0 * rows * D + 4.0 * D;
    }

    /**
     * Attention's multiply-adds, counted as 2 FLOPs each: q·k (headDim per key) and p·V (headDim per key), for each
     * query head over the keys its row attends to; the softmax's exponentials are not counted.
     */
    static double attentionFlops(long keys) {
        return 4.0 * keys * HEADS * HEAD_DIM;
    }

    /** The KV cache the call needs at least: keys and values of every KV head up to the last position, f32. */
    static double attentionBytes(int context) {
        return 2.0 * context * KV_HEADS * HEAD_DIM * 4;
    }

    private static float[] gauss(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.close();
        backend.close();
    }

    @Benchmark
    public void rmsNorm(Blackhole bh) {
        backend.rmsNorm(x, norm, 0f, 1e-5, D, xn);
        bh.consume(xn.data()[0]);
    }

    @Benchmark
    public void attention(Blackhole bh) {
        backend.attention(q, cache, 0, 0, pos, HEADS, KV_HEADS, HEAD_DIM, 1 / Math.sqrt(HEAD_DIM), 0, 0, att);
        bh.consume(att.data()[0]);
    }
}
