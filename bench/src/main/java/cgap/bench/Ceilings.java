package cgap.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.function.IntToDoubleFunction;

/**
 * The machine's ceilings as the JVM sees them, for reading kernel numbers as fractions of what is possible:
 * <ul>
 * <li>FMA peak (GFLOP/s, f32): each thread runs 16 independent FMA chains ({@code acc = acc·a + b}) on
 *     {@link FloatVector#SPECIES_PREFERRED} vectors held in registers, enough to cover the FMA latency on every
 *     current x86 core; FLOPs = 2 · lanes per FMA.</li>
 * <li>Memory read bandwidth (GB/s): each thread sums its contiguous share of one off-heap segment (default 2 GiB,
 *     well past any cache) with 4 vector accumulators; bytes read / wall time of the slowest thread.</li>
 * </ul>
 * Each figure is measured on 1 thread and on {@code --threads} threads; the best of {@code --reps} repetitions and
 * their median are printed.
 *
 * <pre>./bench/ceilings [--threads 2] [--gib 2] [--reps 5]</pre>
 */
public final class Ceilings {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Ceilings() {
    }

    /** Lanes of the vectors {@link #fmaOnThreads} uses: its FLOPs per FMA are 2 · lanes. */
    static int lanes() {
        return S.length();
    }

    public static void main(String[] args) throws Exception {
        int threads = 2, reps = 5;
        double gib = 2;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--gib" -> gib = Double.parseDouble(args[i + 1]);
                case "--reps" -> reps = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--threads N --gib G --reps R)");
            }
        }
        System.out.printf(Locale.ROOT, "# ceilings: %s, %d cores, JDK %s, %d-bit float vectors (%d lanes)%n", EndToEnd.cpuModel(),
                Runtime.getRuntime().availableProcessors(), Runtime.version(), S.vectorBitSize(), S.length());
        System.out.printf(Locale.ROOT, "# load average before: %s%n", EndToEnd.loadAvg());

        // warm-up so C2 compiles both kernels before anything is timed
        fmaOnThreads(1, 2_000_000);
        long bytes = (long) (gib * (1L << 30)) / 64 * 64;
        MemorySegment seg = Arena.ofShared().allocate(bytes, 64);
        seg.fill((byte) 0x3c); // 0x3c3c3c3c ~ 0.0115f: finite, normal
        sumOnThreads(seg, 1);

        List<String> lines = new ArrayList<>();
        for (int t : threads == 1 ? new int[]{1} : new int[]{1, threads}) {
            final int tt = t;
            double[] g = measure(reps, r -> fmaOnThreads(tt, 100_000_000L / S.length()));
            lines.add(String.format(Locale.ROOT, "| FMA peak, f32 | %d | %.1f GFLOP/s | %.1f GFLOP/s |", t, max(g), EndToEnd.median(g)));
        }
        for (int t : threads == 1 ? new int[]{1} : new int[]{1, threads}) {
            final int tt = t;
            double[] bw = measure(reps, r -> bytes / sumOnThreads(seg, tt) / 1e9);
            lines.add(String.format(Locale.ROOT, "| read bandwidth, %.1f GiB off-heap | %d | %.1f GB/s | %.1f GB/s |", gib, t, max(bw), EndToEnd.median(bw)));
        }
        System.out.println("| ceiling | threads | best | median |");
        System.out.println("|---|---|---|---|");
        lines.forEach(System.out::println);
        System.out.printf(Locale.ROOT, "# load average after: %s%n", EndToEnd.loadAvg());
    }

    private static double[] measure(int reps, IntToDoubleFunction f) {
        double[] v = new double[reps];
        for (int r = 0; r < reps; r++) v[r] = f.applyAsDouble(r);
        return v;
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    /** GFLOP/s of {@code threads} threads each doing {@code iters} rounds of 16 vector FMAs. */
    static double fmaOnThreads(int threads, long iters) {
        double[] sink = new double[threads];
        double secs = onThreads(threads, k -> sink[k] = fmaChains(iters, 1f + 1e-7f * k));
        if (Arrays.stream(sink).anyMatch(Double::isNaN)) throw new AssertionError();
        return 2.0 * S.length() * 16 * iters * threads / secs / 1e9;
    }

    static double fmaChains(long iters, float seed) {
        FloatVector a = FloatVector.broadcast(S, 0.999999f), b = FloatVector.broadcast(S, 1e-6f);
        FloatVector c0 = FloatVector.broadcast(S, seed), c1 = c0.add(1), c2 = c0.add(2), c3 = c0.add(3), c4 = c0.add(4), c5 = c0.add(5),
                c6 = c0.add(6), c7 = c0.add(7), c8 = c0.add(8), c9 = c0.add(9), c10 = c0.add(10), c11 = c0.add(11), c12 = c0.add(12),
                c13 = c0.add(13), c14 = c0.add(14), c15 = c0.add(15);
        for (long i = 0; i < iters; i++) {
            c0 = c0.fma(a, b); c1 = c1.fma(a, b); c2 = c2.fma(a, b); c3 = c3.fma(a, b);
            c4 = c4.fma(a, b); c5 = c5.fma(a, b); c6 = c6.fma(a, b); c7 = c7.fma(a, b);
            c8 = c8.fma(a, b); c9 = c9.fma(a, b); c10 = c10.fma(a, b); c11 = c11.fma(a, b);
            c12 = c12.fma(a, b); c13 = c13.fma(a, b); c14 = c14.fma(a, b); c15 = c15.fma(a, b);
        }
        FloatVector s = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).add(c12).add(c13)
                .add(c14).add(c15);
        return s.reduceLanes(VectorOperators.ADD);
    }

    /** Seconds for {@code threads} threads to sum their shares of seg. */
    static double sumOnThreads(MemorySegment seg, int threads) {
        long n = seg.byteSize() / 4;
        long per = (n / threads) / S.length() * S.length();
        double[] sink = new double[threads];
        double secs = onThreads(threads, k -> sink[k] = sum(seg, k * per, k == threads - 1 ? n - (long) k * per : per));
        if (Arrays.stream(sink).anyMatch(Double::isNaN)) throw new AssertionError();
        return secs;
    }

    static double sum(MemorySegment seg, long from, long count) {
        int l = S.length();
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        long i = from, end = from + count, end4 = from + count / (4L * l) * (4L * l);
        for (; i < end4; i += 4L * l) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, seg, i * 4, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(S, seg, (i + l) * 4, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(S, seg, (i + 2L * l) * 4, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(S, seg, (i + 3L * l) * 4, ByteOrder.LITTLE_ENDIAN));
        }
        double s = a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
        for (; i < end; i++) s += seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i);
        return s;
    }

    interface Task {
        void run(int k);
    }

    /** Runs task(0..threads-1) on fresh platform threads released together; wall seconds until the last one ends. */
    static double onThreads(int threads, Task task) {
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        Thread[] ts = new Thread[threads];
        for (int k = 0; k < threads; k++) {
            final int kk = k;
            ts[k] = Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                task.run(kk);
            });
        }
        try {
            start.await();
            long t0 = System.nanoTime();
            for (Thread t : ts) t.join();
            return (System.nanoTime() - t0) / 1e9;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
