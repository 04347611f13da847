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
