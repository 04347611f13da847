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
 * Decode's matrix-vector product (M = 1) through {@link CpuBackend#matmul}: x[1,K]·W[N,K]ᵀ, memory-bound, so the
 * figure that matters is weight bytes streamed per second. The {@link Bytes} aux counter adds N·K·bytes(dtype) per
 * call, which JMH reports as a rate ({@code gemv:weightBytes}, bytes/s); divide by 1e9 for GB/s and compare with
 * {@code ./bench/ceilings}' read bandwidth. Shapes: an MLP projection of a d = 2048 model (2048 → 8192) and an
 * lm-head of vocab 32000 (2048 → 32000). Weights are 33.6 MB / 67.1 MB (BF16 / F32) and 131 MB / 262 MB: the smaller
 * shape is of the order of a large L3, so its rate can exceed DRAM bandwidth; the lm-head shape is past any cache.
 *
 * <pre>./bench/jmh GemvBench                 (all shapes, BF16 and F32, 2 threads)</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class GemvBench {
    @Param({"2048x8192", "2048x32000"})
    public String shape;
    @Param({"BF16", "F32"})
    public String dtype;
    @Param({"2"})
    public int threads;

    CpuBackend backend;
    CpuBuf x;
    CpuBuf out;
    CpuWeight w;
    long bytesPerCall;

    /** Weight bytes read, reported by JMH as bytes per second. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Bytes {
        public long weightBytes;

        @Setup(Level.Iteration)
        public void reset() {
            weightBytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void setup() {
        int k = Integer.parseInt(shape.split("x")[0]), n = Integer.parseInt(shape.split("x")[1]);
        DType dt = DType.valueOf(dtype);
        backend = new CpuBackend(threads);
        Random r = new Random(1);
        float[] xs = new float[k];
        for (int i = 0; i < k; i++) xs[i] = (float) r.nextGaussian();
        x = new CpuBuf(xs, 1, k);
        out = new CpuBuf(1, n);
        MemorySegment seg = Arena.global().allocate((long) n * k * dt.bytes, 64);
        for (long i = 0; i < (long) n * k; i++) {
            float v = (float) ((r.nextInt(2001) - 1000) * 2e-5);
            if (dt == DType.F32) seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            else seg.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToIntBits(v) >>> 16));
        }
        w = new CpuWeight("w", dt, n, k, seg);
        bytesPerCall = (long) n * k * dt.bytes;
        System.out.printf("%n# gemv k=%d n=%d %s, %d threads: %.1f MB of weights per call%n", k, n, dt, threads, bytesPerCall / 1e6);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public void gemv(Bytes c, Blackhole bh) {
        backend.matmul(x, w, null, out);
        c.weightBytes += bytesPerCall;
        bh.consume(out.data()[0]);
    }
}
