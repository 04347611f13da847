package cgap.bench;

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
 * The CPU backend's matrix product x[M,K]·W[N,K]ᵀ. Report FLOP/s as 2·M·K·N / time and weight bytes/s as
 * N·K·bytes / time (printed by {@link Setup} once per trial so each score can be read as a fraction of the ceiling).
 * M = 1 is decode (GEMV, memory-bound), M ≥ 64 prefill and the lens (GEMM, compute-bound).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MatMulBench {
    @Param({"1", "64", "256"})
    public int m;
    @Param({"2048"})
    public int k;
    @Param({"8192"})
    public int n;
    @Param({"BF16", "F32"})
    public String dtype;
    @Param({"0"})
    public int threads;

    CpuBackend backend;
    CpuBuf x;
    CpuBuf out;
    CpuWeight w;

    @Setup(Level.Trial)
    public void setup() {
        DType dt = DType.valueOf(dtype);
        backend = new CpuBackend(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        Random r = new Random(1);
        float[] xs = new float[m * k];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextGaussian();
        x = new CpuBuf(xs, m, k);
        out = new CpuBuf(m, n);
        MemorySegment seg = Arena.global().allocate((long) n * k * dt.bytes, 64);
        for (long i = 0; i < (long) n * k; i++) {
            float v = (float) (r.nextGaussian() * 0.02);
            if (dt == DType.F32) seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            else seg.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToIntBits(v) >>> 16));
        }
        w = new CpuWeight("w", dt, n, k, seg);
        System.out.printf("%n# matmul m=%d k=%d n=%d %s: %.3f GFLOP and %.1f MB of weights per call%n",
                m, k, n, dt, 2.0 * m * k * n / 1e9, (double) n * k * dt.bytes / 1e6);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public void matmul(Blackhole bh) {
        backend.matmul(x, w, null, out);
        bh.consume(out.data()[0]);
    }
}
