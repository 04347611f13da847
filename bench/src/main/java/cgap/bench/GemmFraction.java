package cgap.bench;

import cgap.engine.cpu.CpuBackend;
import cgap.engine.cpu.CpuBuf;
import cgap.engine.cpu.CpuWeight;
import cgap.engine.cpu.MatMul;
import cgap.engine.safetensors.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The batched product's fraction of the FMA peak, measured side by side: each round times the peak
 * ({@link Ceilings#fmaOnThreads}, register FMA chains) and then the product ({@link CpuBackend#matmul} of an M-row x
 * against an N × K weight), both on the same number of threads, so the ratio of a round is taken within a few hundred
 * milliseconds, in one phase of a shared machine whose peak moves by ± 10% between invocations. Prints, per M, the
 * median GFLOP/s of each and the median of the per-round ratios. With {@code --tile yes}, each round also times the
 * 3 × 8 tile alone ({@link MatMul#tilesAlone}) twice, with one tile (everything in L1) and with M/3 tiles (x from L2,
 * as in the product), and prints their fractions of that round's peak.
 *
 * <pre>./bench/gemm-fraction [--m 64,256] [--k 2048] [--n 8192] [--dtype bf16|f32] [--rounds 11] [--threads 2] [--tile no|yes]</pre>
 */
public final class GemmFraction {
    private GemmFraction() {
    }

    public static void main(String[] args) {
        String usage = " (--m M,M… --k K --n N --dtype bf16|f32 --rounds R --threads T --tile no|yes)";
        Map<String, String> o;
        try {
            o = EndToEnd.options(args, Map.of("m", "64,256", "k", "2048", "n", "8192", "dtype", "bf16", "rounds", "11", "threads", "2", "tile", "no"), List.of());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + usage, e);
        }
        int[] ms = Arrays.stream(o.get("m").split(",")).mapToInt(e -> positive("--m", e)).toArray();
        int k = positive("--k", o.get("k")), n = positive("--n", o.get("n"));
        int rounds = positive("--rounds", o.get("rounds")), threads = positive("--threads", o.get("threads"));
        boolean tile = switch (o.get("tile")) {
            case "yes" -> true;
            case "no" -> false;
            default -> throw new IllegalArgumentException("--tile: yes or no, got " + o.get("tile"));
        };
        DType dt = switch (o.get("dtype").toLowerCase(Locale.ROOT)) {
            case "bf16" -> DType.BF16;
            case "f32" -> DType.F32;
            default -> throw new IllegalArgumentException("--dtype: bf16 or f32, got " + o.get("dtype"));
        };
        String load = EndToEnd.loadAvg();
        Random r = new Random(1);
        MemorySegment seg = Arena.global().allocate((long) n * k * dt.bytes, 64);
        for (long i = 0; i < (long) n * k; i++) {
            float v = (float) (r.nextGaussian() * 0.02);
            if (dt == DType.F32) seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            else seg.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToIntBits(v) >>> 16));
        }
        CpuWeight w = new CpuWeight("w", dt, n, k, seg);
        List<String> rows = new ArrayList<>();
        try (CpuBackend be = new CpuBackend(threads)) {
            for (int m : ms) {
                float[] xs = new float[m * k];
                for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextGaussian();
                CpuBuf x = new CpuBuf(xs, m, k), out = new CpuBuf(m, n);
                double flop = 2.0 * m * k * n;
                // warm-up (JIT) of both, then about 0.3 s of each a round, counted from warm timings
                for (int i = 0; i < 3; i++) Ceilings.fmaOnThreads(threads, 100_000_000L / LANES);
                for (int i = 0; i < 5; i++) be.matmul(x, w, null, out);
                long t0 = System.nanoTime();
                be.matmul(x, w, null, out);
                int calls = (int) Math.max(3, Math.min(1000, 0.3e9 / Math.max(1, System.nanoTime() - t0)));
                double peakGuess = Ceilings.fmaOnThreads(threads, 100_000_000L / LANES);
                long peakIters = (long) (peakGuess * 1e9 * 0.3 / (2.0 * 16 * LANES * threads));
                double[] gemm = new double[rounds], peak = new double[rounds], ratio = new double[rounds];
                double[][] tileRatio = {new double[rounds], new double[rounds]}; // x in L1 (one tile); x from L2 (m/3 tiles)
                int[] tileCounts = {1, Math.max(1, m / 3)};
                TileRun[] tiles = tile ? new TileRun[] {new TileRun(threads, tileCounts[0]), new TileRun(threads, tileCounts[1])} : null;
                for (int rd = 0; rd < rounds; rd++) {
                    peak[rd] = Ceilings.fmaOnThreads(threads, peakIters);
                    long s = System.nanoTime();
                    for (int i = 0; i < calls; i++) be.matmul(x, w, null, out);
                    gemm[rd] = flop * calls / (System.nanoTime() - s);
                    ratio[rd] = gemm[rd] / peak[rd];
                    if (tile) {
                        for (int c = 0; c < 2; c++) tileRatio[c][rd] = tiles[c].gflops(peak[rd] * 1e9 * 0.15) / peak[rd];
                    }
                    System.err.printf(Locale.ROOT, "gemm-fraction: m %d round %d: product %.1f GFLOP/s, peak %.1f, ratio %.3f%n", m, rd + 1, gemm[rd], peak[rd], ratio[rd]);
                }
                rows.add(String.format(Locale.ROOT, "| %d × %d · %d | %s | %d | %.1f | %.1f | **%.2f** (%.2f–%.2f) |", m, k, n, dt, calls,
                        EndToEnd.median(gemm), EndToEnd.median(peak), EndToEnd.median(ratio), EndToEnd.min(ratio), EndToEnd.max(ratio)));
                if (tile) {
                    String[] what = {"x and W in L1", "x from L2"};
                    for (int c = 0; c < 2; c++) {
                        double[] tr = tileRatio[c];
                        rows.add(String.format(Locale.ROOT, "| the 3 × 8 tile alone, %d tile%s a block (%s) | f32 | | | | **%.2f** (%.2f–%.2f) |", tileCounts[c],
                                tileCounts[c] == 1 ? "" : "s", what[c], EndToEnd.median(tr), EndToEnd.min(tr), EndToEnd.max(tr)));
                    }
                }
            }
        }
        StringBuilder t = new StringBuilder();
        t.append(String.format(Locale.ROOT, "Batched product against the FMA peak, %d threads, %d alternated rounds (each: the peak, then the products).%n%n", threads, rounds));
        t.append("| product (M × K · N) | weights | calls a round | product GFLOP/s (median) | FMA peak GFLOP/s (median) | product / peak: median of the rounds (min–max) |\n");
        t.append("|---|---|---|---|---|---|\n");
        rows.forEach(row -> t.append(row).append('\n'));
        t.append('\n').append(EndToEnd.footer(EndToEnd.utcMinute(), "", ". Load average before: " + load + "; after: " + EndToEnd.loadAvg() + ". ",
                "gemm-fraction", args));
        System.out.print(t);
    }

    private static int positive(String option, String v) {
        try {
            int x = Integer.parseInt(v.strip());
            if (x > 0) return x;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + ": expected a positive integer, got \"" + v + "\"");
    }

    private static final int LANES = Ceilings.lanes();

    /**
     * {@link MatMul#tilesAlone} on {@code threads} threads, each with its own operands (tiles of x, one staged W block,
     * accumulators), filled with small values so that the sums stay finite.
     */
    private static final class TileRun {
        final int threads, tiles;
        final long perBlock; // FLOPs of one block: each x float of the tiles meets the 8 W rows once
        final float[][][] ops;

        TileRun(int threads, int tiles) {
            this.threads = threads;
            this.tiles = tiles;
            int[] sz = MatMul.tilesAloneSizes(tiles);
            perBlock = 2L * sz[0] * MatMul.COLUMN_UNIT;
            ops = new float[threads][][];
            for (int t = 0; t < threads; t++) {
                ops[t] = new float[][] {new float[sz[0]], new float[sz[1]], new float[sz[2]]};
                Arrays.fill(ops[t][0], 1e-3f);
                Arrays.fill(ops[t][1], 1e-3f);
            }
            gflops(1e9); // compiles the tile before anything is timed
        }

        /** GFLOP/s of about {@code flop} floating-point operations spread over the threads. */
        double gflops(double flop) {
            int blocks = (int) Math.max(1, flop / threads / perBlock);
            long[] done = new long[threads];
            double secs = Ceilings.onThreads(threads, t -> done[t] = MatMul.tilesAlone(ops[t][0], tiles, ops[t][1], ops[t][2], blocks));
            if (Float.isNaN(ops[0][2][0])) throw new AssertionError();
            return Arrays.stream(done).sum() / secs / 1e9;
        }
    }
}
