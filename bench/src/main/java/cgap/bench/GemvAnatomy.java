package cgap.bench;

import cgap.engine.cpu.CpuBackend;
import cgap.engine.cpu.CpuBuf;
import cgap.engine.cpu.CpuWeight;
import cgap.engine.cpu.MatMul;
import cgap.engine.cpu.Parallel;
import cgap.engine.safetensors.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Where a decode GEMV's bandwidth goes: one large memory-mapped weight (default 65536 × 2048, 256 MiB of BF16, past
 * any cache) read three ways by the same threads, alternated round by round so that the VM's memory swings hit all
 * three alike:
 * <ol>
 *   <li><b>read</b>: each task sums a contiguous range of bytes (one stream, 4 vector accumulators), as
 *       {@code ./bench/ceilings} and {@code ./bench/decode-profile} do;</li>
 *   <li><b>pattern</b>: the same plain sum, but over exactly the chunks {@link CpuBackend#matmul} hands out and in its
 *       order (G rows a G-th of the chunk apart, in step, G = {@link MatMul#STREAMS}): the product's access pattern
 *       without its arithmetic;</li>
 *   <li><b>product</b>: {@link CpuBackend#matmul} with one row of x, the production kernel;</li>
 *   <li>with {@code --native yes}, <b>C kernel</b>: the product's split and arithmetic written in C
 *       ({@code bench/native/gemv_bf16.c}, compiled here by gcc) and called through FFM on the same chunks: what the
 *       same work costs when a C compiler schedules it.</li>
 * </ol>
 * product / pattern is then the cost of the arithmetic (for BF16: widening and two FMAs per 64 bytes), pattern / read
 * that of the access pattern. A weight small enough to stay in the last-level cache between rounds (32 MB here) measures
 * the cache, not memory.
 *
 * <pre>./bench/gemv-anatomy [--dtype bf16|f32] [--k 2048] [--n 65536] [--rounds 11] [--threads 2] [--native no|yes]</pre>
 */
public final class GemvAnatomy {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private GemvAnatomy() {
    }

    public static void main(String[] args) throws IOException {
        if (MatMul.STREAMS != 8) {
            throw new IllegalStateException("gemv-anatomy: its 'pattern' read (GemvAnatomy.sumStreams) is written for 8 row streams but "
                    + "MatMul.STREAMS is " + MatMul.STREAMS + ": rewrite sumStreams for " + MatMul.STREAMS + " streams before measuring");
        }
        Map<String, String> o = EndToEnd.options(args, Map.of("dtype", "bf16", "k", "2048", "n", "65536", "rounds", "11", "threads", "2", "native", "no"),
                java.util.List.of());
        DType dt = switch (o.get("dtype")) {
            case "bf16" -> DType.BF16;
            case "f32" -> DType.F32;
            default -> throw new IllegalArgumentException("--dtype must be bf16 or f32, got " + o.get("dtype"));
        };
        int k = EndToEnd.i(o, "k"), n = EndToEnd.i(o, "n"), rounds = EndToEnd.i(o, "rounds"), threads = EndToEnd.i(o, "threads");
        if (k % 32 != 0) throw new IllegalArgumentException("--k must be a multiple of 32 (whole 64-byte vectors per row), got " + k);
        boolean nat = switch (o.get("native")) {
            case "yes" -> true;
            case "no" -> false;
            default -> throw new IllegalArgumentException("--native must be yes or no, got " + o.get("native"));
        };
        if (nat && dt != DType.BF16) throw new IllegalArgumentException("--native yes compares the BF16 kernel only; drop --dtype " + o.get("dtype"));
        long bytes = (long) n * k * dt.bytes;
        Path file = Files.createTempFile("cgap-gemv-anatomy", ".bin");
        try (Arena arena = Arena.ofShared()) {
            MemorySegment w;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                MemorySegment rw = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
                Random r = new Random(1);
                for (long i = 0; i < (long) n * k; i++) {
                    float v = (float) ((r.nextInt(2001) - 1000) * 2e-5);
                    if (dt == DType.F32) rw.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                    else rw.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToIntBits(v) >>> 16));
                }
                rw.force();
                w = ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes, arena); // read-only, as SafeTensorFile maps
            }
            CpuBackend be = new CpuBackend(threads);
            Parallel par = be.parallel();
            float[] xs = new float[k];
            Random r = new Random(2);
            for (int i = 0; i < k; i++) xs[i] = (float) r.nextGaussian();
            CpuBuf x = new CpuBuf(xs, 1, k), out = new CpuBuf(1, n);
            CpuWeight wt = new CpuWeight("w", dt, n, k, w);
            // the product's split: units of COLUMN_UNIT rows, the grain CpuBackend.matmuls uses for one row of x
            int u = MatMul.COLUMN_UNIT, units = (n + u - 1) / u, grain = CpuBackend.matmulGrain(1, k);
            long rowBytes = (long) k * dt.bytes;
            float[] sink = new float[n];
            int kinds = nat ? 4 : 3, streams = MatMul.STREAMS;
            double[][] gbs = new double[kinds][rounds];
            NativeGemv ng = nat ? NativeGemv.build(arena, xs, k, n) : null;
            // warm-up rounds: at least 2, and at least 1 GiB through each kind, so that C2 has compiled every kind
            int warm = (int) Math.max(2, Math.min(1000, (1L << 30) / bytes + 1));
            System.err.printf(Locale.ROOT, "gemv-anatomy: %d x %d %s (%.0f MiB, mapped), %d threads, %d rounds (+%d warm-up); load average %s%n",
                    n, k, dt, bytes / 1048576.0, threads, rounds, warm, EndToEnd.loadAvg());
            for (int round = -warm; round < rounds; round++) {
                for (int kind = 0; kind < kinds; kind++) {
                    long t0 = System.nanoTime();
                    switch (kind) {
                        case 0 -> par.forRange((int) ((bytes + (1 << 18) - 1) >> 18), 1, (b0, b1) ->
                                sink[b0 % n] += sum(w, (long) b0 << 18, Math.min(bytes, (long) b1 << 18)));
                        case 1 -> par.forRange(units, grain, (q0, q1) -> {
                            int j0 = q0 * u, j1 = Math.min(n, q1 * u);
                            sink[j0] += sumStreams(w, rowBytes, j0, j1);
                        });
                        case 2 -> be.matmul(x, wt, null, out);
                        default -> par.forRange(units, grain, (q0, q1) -> ng.rows(w, q0 * u, Math.min(n, q1 * u)));
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    if (round >= 0) gbs[kind][round] = bytes / secs / 1e9;
                }
                if (round >= 0) {
                    System.err.printf(Locale.ROOT, "gemv-anatomy: round %d: read %.1f, pattern %.1f, product %.1f%s GB/s%n",
                            round + 1, gbs[0][round], gbs[1][round], gbs[2][round],
                            nat ? String.format(Locale.ROOT, ", C kernel %.1f", gbs[3][round]) : "");
                }
            }
            be.close();
            StringBuilder t = new StringBuilder();
            t.append(String.format(Locale.ROOT, "GEMV anatomy: %d × %d %s weight (%.0f MiB, memory-mapped), one row of x, %d threads, median of %d alternated rounds.%n%n",
                    n, k, dt, bytes / 1048576.0, threads, rounds));
            t.append("| reading | GB/s (median) | / read (median of per-round ratios) | / pattern |\n|---|---|---|---|\n");
            String[] what = {"read: contiguous, one stream per task",
                    "pattern: the product's chunks and " + streams + "-row order, plain sum",
                    "product: `CpuBackend.matmul`", "C kernel: the product's split and arithmetic in C (gcc -O3 -march=native), same chunks"};
            for (int kind = 0; kind < kinds; kind++) {
                t.append(String.format(Locale.ROOT, "| %s | %.1f | %.2f | %s |%n", what[kind], EndToEnd.median(gbs[kind]),
                        EndToEnd.pairedRatio(gbs[kind], gbs[0]), kind == 0 ? "" : String.format(Locale.ROOT, "%.2f", EndToEnd.pairedRatio(gbs[kind], gbs[1]))));
            }
            double[] per = new double[rounds];
            for (int i = 0; i < rounds; i++) per[i] = gbs[2][i] / gbs[0][i];
            t.append(String.format(Locale.ROOT, "%nproduct / read per round: %s. Load average after: %s.%n", Arrays.toString(Arrays.stream(per)
                    .mapToObj(v -> String.format(Locale.ROOT, "%.2f", v)).toArray()), EndToEnd.loadAvg()));
            if (nat) t.append(String.format(Locale.ROOT, "C kernel / product: %.2f (median of per-round ratios); largest difference of their outputs: %.1e of the largest output.%n",
                    EndToEnd.pairedRatio(gbs[3], gbs[2]), ng.check(out.data())));
            t.append(EndToEnd.footer(EndToEnd.utcMinute(), "", ". ", "gemv-anatomy", args));
            float s = 0;
            for (float v : sink) s += v;
            if (s == 12345.678f) System.err.println(); // keep the sums alive
            System.out.print(t);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Bytes [from, to) of w summed as floats (both multiples of 4): {@link Ceilings#sum}, the read of `./bench/ceilings`. */
    static float sum(MemorySegment w, long from, long to) {
        return (float) Ceilings.sum(w, from / 4, (to - from) / 4);
    }

    /**
     * Rows [j0, j1) summed in the order of MatMul's few-row kernels: rows r + s·q for s = 0..7 (q = an eighth of the
     * range, {@link MatMul#STREAMS}) in step, one vector of each per step; the leftover rows one at a time. Written out
     * for 8 streams: {@link #main} refuses to run when {@link MatMul#STREAMS} is another number.
     */
    private static float sumStreams(MemorySegment w, long rowBytes, int j0, int j1) {
        int q = (j1 - j0) / 8;
        long v = S.vectorByteSize(), st = q * rowBytes;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int r = 0; r < q; r++) {
            long b0 = (j0 + r) * rowBytes;
            for (long t = 0; t < rowBytes; t += v) {
                a0 = a0.add(FloatVector.fromMemorySegment(S, w, b0 + t, ByteOrder.LITTLE_ENDIAN));
                a1 = a1.add(FloatVector.fromMemorySegment(S, w, b0 + st + t, ByteOrder.LITTLE_ENDIAN));
                a2 = a2.add(FloatVector.fromMemorySegment(S, w, b0 + 2 * st + t, ByteOrder.LITTLE_ENDIAN));
                a3 = a3.add(FloatVector.fromMemorySegment(S, w, b0 + 3 * st + t, ByteOrder.LITTLE_ENDIAN));
                a4 = a4.add(FloatVector.fromMemorySegment(S, w, b0 + 4 * st + t, ByteOrder.LITTLE_ENDIAN));
                a5 = a5.add(FloatVector.fromMemorySegment(S, w, b0 + 5 * st + t, ByteOrder.LITTLE_ENDIAN));
                a6 = a6.add(FloatVector.fromMemorySegment(S, w, b0 + 6 * st + t, ByteOrder.LITTLE_ENDIAN));
                a7 = a7.add(FloatVector.fromMemorySegment(S, w, b0 + 7 * st + t, ByteOrder.LITTLE_ENDIAN));
            }
        }
        float s = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).lane(0);
        if (j0 + 8 * q < j1) s += sum(w, (j0 + 8L * q) * rowBytes, (long) j1 * rowBytes);
        return s;
    }
}
