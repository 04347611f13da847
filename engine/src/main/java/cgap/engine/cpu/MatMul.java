package cgap.engine.cpu;

import cgap.engine.safetensors.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * out[M, N] = x[M, K] · W[N, K]ᵀ with W in F32 or BF16, f32 accumulation. {@link #reference} is the plain loop every
 * optimised path is tested against.
 *
 * <p>One accumulation order for every path, so that a row's result never depends on the other rows of the call:
 * each output is a dot product whose lane t mod L accumulates x[t]·w[t] by FMA in increasing t, the lanes are summed by
 * a fixed pairwise tree (no {@code reduceLanes}, whose order is unspecified and really differs between interpreter and
 * C2), and
 * the k-tail is added last. Two loops share that order:
 * <ul>
 *   <li>few rows (decode, M &lt; {@link #TILE_MIN_ROWS}): eight rows of W at a time ({@link #STREAMS}), far apart,
 *       BF16 widened in registers;</li>
 *   <li>many rows (prefill, lens, batched decode): eight rows of W staged as f32 (BF16 widened once for all M rows),
 *       multiplied against three rows of x at a time in a 3×8 register tile (rows left over: 2×8), both operands
 *       packed so that each is read as one contiguous stream.</li>
 * </ul>
 * Batched decoding, one-token-at-a-time decoding, prefill and teacher forcing therefore give the same bits for the
 * same row (tested). BF16 weights are read 2L at a time as L ints (low halves: even k, high halves: odd k, no
 * conversion instruction), x is pair-split to match ({@link #pairSplit}), so a lane's chain takes k = 2c·L + 2l, then
 * 2c·L + 2l + 1; the staged tiles use the same layout and order.
 */
public final class MatMul {
    /** The machine's preferred float vectors, at most 512 bits (16 lanes: {@link #sum1}'s tree goes that far). */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() > 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final int L = F.length();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private MatMul() {
    }

    /** Plain reference: one dot product at a time, f32 accumulation in index order. */
    public static void reference(float[] x, int m, int k, MemorySegment w, DType dt, int n, float[] out) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = 0;
                for (int t = 0; t < k; t++) acc += x[i * k + t] * scalar(w, dt, (long) j * k + t);
                out[i * n + j] = acc;
            }
        }
    }

    static float scalar(MemorySegment w, DType dt, long idx) {
        return switch (dt) {
            case F32 -> w.getAtIndex(F32, idx);
            case BF16 -> Float.intBitsToFloat((w.getAtIndex(I16, idx) & 0xffff) << 16);
            default -> throw new IllegalArgumentException("matmul weights must be F32 or BF16, got " + dt);
        };
    }

    static boolean isBf16(DType dt) {
        return switch (dt) {
            case F32 -> false;
            case BF16 -> true;
            default -> throw new IllegalArgumentException("matmul weights must be F32 or BF16, got " + dt);
        };
    }

    // ---------------------------------------------------------------- few rows: dot products

    /** Per-thread work arrays of the kernels, grown on demand and reused (no per-call garbage). */
    private static final class Scratch {
        float[] ws = new float[0], tmp = new float[L], acc = new float[0], res = new float[0];

        float[] res(int n) {
            if (res.length < n) res = new float[n];
            return res;
        }

        float[] ws(int n) {
            if (ws.length < n) ws = new float[n];
            return ws;
        }

        float[] acc(int n) {
            if (acc.length < n) acc = new float[n];
            return acc;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * How many rows of W the few-row kernels take per step (G). Eight: measured with ./bench/gemv-anatomy --native yes
     * (2026-11-25, product / plain read, two runs each, alternating G between runs; the C twin, at 0.93-1.15 of the read
     * throughout, is indifferent to G), BF16:
     * <pre>
     *   k        1024        2048        2560        2816        4096        14336
     *   G = 4    0.72 0.73   0.84 0.79   0.51 0.51   0.67 0.68   0.59 0.61   0.59 0.59
     *   G = 8    0.81 0.80   0.83 0.83   0.86 0.77   0.89 0.88   0.79 0.87   0.82 0.82
     * </pre>
     * F32 (--dtype f32, no C twin): k 1024 0.84 0.82 (G = 4) against 0.90 0.92 (G = 8); k 2816 1.03 0.98 against 0.99
     * 0.93; k 4096 0.98 1.03 against 0.97 0.97.
     */
    public static final int STREAMS = 8;

    /** Row steps per output block of {@link #multiplyRowsPrepared}: results gather in a small buffer, then go out whole. */
    static final int OUT_BLOCK = 64;

    /** Row steps per call of a few-row kernel: its accumulators for these steps wait in a per-thread buffer. */
    static final int KERNEL_STEPS = 16;

    /**
     * Output columns [n0, n1) of a product with few rows: dot products (x prepared), several rows of W at a time, taken
     * far apart: G = {@link #STREAMS} streams that each run through a contiguous G-th of the range, which this
     * machine's prefetchers follow well (G adjacent rows would be G short streams that each jump at every step; rows of
     * a 1024-wide BF16 matrix are only 2 KiB long). Each kernel call runs {@link #KERNEL_STEPS} steps and leaves its
     * vector accumulators in a per-thread buffer; their lane sums and k-tails follow ({@link #finishRows4}). With one
     * call per step, C2's entry work (eight row bases re-derived, the first turn of a loop of only k/32 turns peeled and
     * range-checked) recurs every 16 KiB: gemv-anatomy, k 1024, same fast memory phase (2026-11-25), product / read 0.73
     * with one step a call against 0.83 with 32; 16 are kept, half the per-thread accumulator buffer of 32. Results are gathered per stream for {@link #OUT_BLOCK} steps in a
     * per-thread buffer that stays in L1 and then copied out in runs: written straight to out, G scattered stores per
     * step each missed the cache once the weights had streamed past, and cost about a tenth of the GEMV's time.
     */
    private static void multiplyRowsPrepared(float[] x, int m, int k, MemorySegment w, boolean bf16, int n, float[] out, int n0, int n1) {
        int kv = vectorPart(bf16, k), g = STREAMS;
        Scratch sc = SCRATCH.get();
        float[] acc = sc.acc(KERNEL_STEPS * m * g * L), res = sc.res(m * g * OUT_BLOCK);
        int q = (n1 - n0) / g;
        for (int rb = 0; rb < q; rb += OUT_BLOCK) {
            int nb = Math.min(OUT_BLOCK, q - rb);
            for (int r0 = rb; r0 < rb + nb; r0 += KERNEL_STEPS) {
                int r1 = Math.min(rb + nb, r0 + KERNEL_STEPS);
                if (bf16 && m == 1 && kv == k && k > 0) dot8Bf16Run(x, k, w, n0, r0, r1, q, acc);
                else if (bf16) dot8Bf16(x, m, k, kv, w, n0, r0, r1, q, acc);
                else dot8(x, m, k, kv, w, n0, r0, r1, q, acc);
                for (int r = r0; r < r1; r++) {
                    for (int i = 0; i < m; i++) {
                        int o = ((r - r0) * m + i) * g * L;
                        for (int h = 0; h < g; h += 4) {
                            finishRows4(acc, o + h * L, x, i * k, w, bf16, n0 + r + h * q, q, k, kv);
                            for (int s = 0; s < 4; s++) res[(i * g + h + s) * OUT_BLOCK + r - rb] = acc[o + h * L + s];
                        }
                    }
                }
            }
            for (int i = 0; i < m; i++) {
                for (int s = 0; s < g; s++) System.arraycopy(res, (i * g + s) * OUT_BLOCK, out, i * n + n0 + s * q + rb, nb);
            }
        }
        float[] tmp = sc.tmp;
        for (int j = n0 + g * q; j < n1; j++) {
            for (int i = 0; i < m; i++) out[i * n + j] = dot(x, i * k, w, bf16, (long) j * k, k, kv, tmp);
        }
    }

    /**
     * Steps r0 ≤ r < r1 of eight F32 rows: the vector parts of the dot products of each of the m rows of x with W rows
     * j0 + r + s·q, s = 0..7, their L-lane accumulators into acc from ((r − r0)·m + i)·8L, row s at + s·L.
     */
    private static void dot8(float[] x, int m, int k, int kv, MemorySegment w, int j0, int r0, int r1, int q, float[] acc) {
        long st = (long) q * k;
        for (int r = r0; r < r1; r++) {
            long w0 = (long) (j0 + r) * k, w1 = w0 + st, w2 = w1 + st, w3 = w2 + st, w4 = w3 + st, w5 = w4 + st, w6 = w5 + st, w7 = w6 + st;
            for (int i = 0; i < m; i++) {
                int xo = i * k, o = ((r - r0) * m + i) * 8 * L;
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                for (int t = 0; t < kv; t += L) {
                    FloatVector xv = FloatVector.fromArray(F, x, xo + t);
                    a0 = xv.fma(loadF32(w, w0 + t), a0);
                    a1 = xv.fma(loadF32(w, w1 + t), a1);
                    a2 = xv.fma(loadF32(w, w2 + t), a2);
                    a3 = xv.fma(loadF32(w, w3 + t), a3);
                    a4 = xv.fma(loadF32(w, w4 + t), a4);
                    a5 = xv.fma(loadF32(w, w5 + t), a5);
                    a6 = xv.fma(loadF32(w, w6 + t), a6);
                    a7 = xv.fma(loadF32(w, w7 + t), a7);
                }
                a0.intoArray(acc, o);
                a1.intoArray(acc, o + L);
                a2.intoArray(acc, o + 2 * L);
                a3.intoArray(acc, o + 3 * L);
                a4.intoArray(acc, o + 4 * L);
                a5.intoArray(acc, o + 5 * L);
                a6.intoArray(acc, o + 6 * L);
                a7.intoArray(acc, o + 7 * L);
            }
        }
    }

    /**
     * The end of four dot products of x row xo whose L-lane accumulators are in acc[ta..ta+4L): lane sums
     * ({@link #sum4}), then the k-tail of W rows j0 + s·q added in order; the four results land in acc[ta..ta+4).
     */
    private static void finishRows4(float[] acc, int ta, float[] x, int xo, MemorySegment w, boolean bf16, int j0, int q, int k, int kv) {
        sum4(acc, ta);
        if (kv == k) return;
        float s0 = acc[ta], s1 = acc[ta + 1], s2 = acc[ta + 2], s3 = acc[ta + 3];
        long w0 = (long) j0 * k, st = (long) q * k, w1 = w0 + st, w2 = w1 + st, w3 = w2 + st;
        for (int t = kv; t < k; t++) {
            float xv = x[xo + t];
            s0 += xv * w1(w, bf16, w0 + t);
            s1 += xv * w1(w, bf16, w1 + t);
            s2 += xv * w1(w, bf16, w2 + t);
            s3 += xv * w1(w, bf16, w3 + t);
        }
        acc[ta] = s0;
        acc[ta + 1] = s1;
        acc[ta + 2] = s2;
        acc[ta + 3] = s3;
    }

    /**
     * {@link #dot8} for BF16 rows (W rows j0 + r + s·q, s = 0..7; accumulators from ((r − r0)·m + i)·8L). One
     * 512-bit load brings 2L weights as L ints; the low halves (shifted up) are the weights of even k, the high halves
     * (masked) those of odd k. x comes pair-split ({@link #pairSplit}), so each lane does its even FMA, then its odd
     * one: the order {@link #dot} and the staged tiles ({@link #stagePacked}) reproduce.
     */
    private static void dot8Bf16(float[] x, int m, int k, int kv, MemorySegment w, int j0, int r0, int r1, int q, float[] acc) {
        long st = (long) q * k * 2;
        for (int r = r0; r < r1; r++) {
            long b0 = (long) (j0 + r) * k * 2, b1 = b0 + st, b2 = b1 + st, b3 = b2 + st, b4 = b3 + st, b5 = b4 + st, b6 = b5 + st, b7 = b6 + st;
            for (int i = 0; i < m; i++) {
                int xo = i * k, o = ((r - r0) * m + i) * 8 * L;
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                for (int t = 0; t < kv; t += 2 * L) {
                    FloatVector xe = FloatVector.fromArray(F, x, xo + t), xd = FloatVector.fromArray(F, x, xo + t + L);
                    long bt = 2L * t;
                    IntVector v0 = IntVector.fromMemorySegment(I, w, b0 + bt, ByteOrder.LITTLE_ENDIAN);
                    IntVector v1 = IntVector.fromMemorySegment(I, w, b1 + bt, ByteOrder.LITTLE_ENDIAN);
                    IntVector v2 = IntVector.fromMemorySegment(I, w, b2 + bt, ByteOrder.LITTLE_ENDIAN);
                    IntVector v3 = IntVector.fromMemorySegment(I, w, b3 + bt, ByteOrder.LITTLE_ENDIAN);
                    IntVector v4 = IntVector.fromMemorySegment(I, w, b4 + bt, ByteOrder.LITTLE_ENDIAN);
                    IntVector v5 = IntVector.fromMemorySegment(I, w, b5 + bt, ByteOrder.LITTLE_ENDIAN);
                    IntVector v6 = IntVector.fromMemorySegment(I, w, b6 + bt, ByteOrder.LITTLE_ENDIAN);
                    IntVector v7 = IntVector.fromMemorySegment(I, w, b7 + bt, ByteOrder.LITTLE_ENDIAN);
                    a0 = xe.fma(v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
                    a1 = xe.fma(v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1);
                    a2 = xe.fma(v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a2);
                    a3 = xe.fma(v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a3);
                    a4 = xe.fma(v4.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a4);
                    a5 = xe.fma(v5.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a5);
                    a6 = xe.fma(v6.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a6);
                    a7 = xe.fma(v7.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a7);
                    a0 = xd.fma(v0.and(0xffff0000).reinterpretAsFloats(), a0);
                    a1 = xd.fma(v1.and(0xffff0000).reinterpretAsFloats(), a1);
                    a2 = xd.fma(v2.and(0xffff0000).reinterpretAsFloats(), a2);
                    a3 = xd.fma(v3.and(0xffff0000).reinterpretAsFloats(), a3);
                    a4 = xd.fma(v4.and(0xffff0000).reinterpretAsFloats(), a4);
                    a5 = xd.fma(v5.and(0xffff0000).reinterpretAsFloats(), a5);
                    a6 = xd.fma(v6.and(0xffff0000).reinterpretAsFloats(), a6);
                    a7 = xd.fma(v7.and(0xffff0000).reinterpretAsFloats(), a7);
                }
                a0.intoArray(acc, o);
                a1.intoArray(acc, o + L);
                a2.intoArray(acc, o + 2 * L);
                a3.intoArray(acc, o + 3 * L);
                a4.intoArray(acc, o + 4 * L);
                a5.intoArray(acc, o + 5 * L);
                a6.intoArray(acc, o + 6 * L);
                a7.intoArray(acc, o + 7 * L);
            }
        }
    }

    /**
     * {@link #dot8Bf16} for one row of x and k a multiple of 2L (every real width), in one loop over the whole run of
     * steps: each stream's rows [r0, r1) are contiguous in W, so the loop walks each stream straight through and stores
     * and clears the accumulators where a row ends (same lanes, same order, same bits as {@link #dot8Bf16}). A loop per
     * step made C2 redo its entry work at every step: eight long range checks turned into int bounds, a turn peeled,
     * about 400 instructions against 32 turns of 60 at k 1024. Measured 2026-11-25, alternating with the per-step
     * loop (product / read, ./bench/decode-profile --rounds 3: 0.91 0.90 0.89 against 0.76 0.84 0.84;
     * ./bench/gemv-anatomy --native yes --rounds 3, k 2048: 1.02 1.01 against 0.81 0.84, k 14336: 1.02 1.01 against
     * 0.95 0.63, k 4096: 0.85 against 0.86). The F32 kernel, twice the bytes per turn, gained nothing from it
     * (decode-profile --dtype f32: 0.91 0.91 0.94 against 0.94 0.92 0.93) and keeps its loop per step.
     */
    private static void dot8Bf16Run(float[] x, int k, MemorySegment w, int j0, int r0, int r1, int q, float[] acc) {
        long st = (long) q * k * 2;
        long b0 = (long) (j0 + r0) * k * 2, b1 = b0 + st, b2 = b1 + st, b3 = b2 + st, b4 = b3 + st, b5 = b4 + st, b6 = b5 + st, b7 = b6 + st;
        int total = (r1 - r0) * k, xo = 0, o = 0;
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z;
        for (int u = 0; u < total; u += 2 * L) {
            FloatVector xe = FloatVector.fromArray(F, x, xo), xd = FloatVector.fromArray(F, x, xo + L);
            long bt = 2L * u;
            IntVector v0 = IntVector.fromMemorySegment(I, w, b0 + bt, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, w, b1 + bt, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, w, b2 + bt, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, w, b3 + bt, ByteOrder.LITTLE_ENDIAN);
            IntVector v4 = IntVector.fromMemorySegment(I, w, b4 + bt, ByteOrder.LITTLE_ENDIAN);
            IntVector v5 = IntVector.fromMemorySegment(I, w, b5 + bt, ByteOrder.LITTLE_ENDIAN);
            IntVector v6 = IntVector.fromMemorySegment(I, w, b6 + bt, ByteOrder.LITTLE_ENDIAN);
            IntVector v7 = IntVector.fromMemorySegment(I, w, b7 + bt, ByteOrder.LITTLE_ENDIAN);
            a0 = xe.fma(v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
            a1 = xe.fma(v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1);
            a2 = xe.fma(v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a2);
            a3 = xe.fma(v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a3);
            a4 = xe.fma(v4.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a4);
            a5 = xe.fma(v5.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a5);
            a6 = xe.fma(v6.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a6);
            a7 = xe.fma(v7.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a7);
            a0 = xd.fma(v0.and(0xffff0000).reinterpretAsFloats(), a0);
            a1 = xd.fma(v1.and(0xffff0000).reinterpretAsFloats(), a1);
            a2 = xd.fma(v2.and(0xffff0000).reinterpretAsFloats(), a2);
            a3 = xd.fma(v3.and(0xffff0000).reinterpretAsFloats(), a3);
            a4 = xd.fma(v4.and(0xffff0000).reinterpretAsFloats(), a4);
            a5 = xd.fma(v5.and(0xffff0000).reinterpretAsFloats(), a5);
            a6 = xd.fma(v6.and(0xffff0000).reinterpretAsFloats(), a6);
            a7 = xd.fma(v7.and(0xffff0000).reinterpretAsFloats(), a7);
            xo += 2 * L;
            if (xo == k) {
                a0.intoArray(acc, o);
                a1.intoArray(acc, o + L);
                a2.intoArray(acc, o + 2 * L);
                a3.intoArray(acc, o + 3 * L);
                a4.intoArray(acc, o + 4 * L);
                a5.intoArray(acc, o + 5 * L);
                a6.intoArray(acc, o + 6 * L);
                a7.intoArray(acc, o + 7 * L);
                a0 = z; a1 = z; a2 = z; a3 = z; a4 = z; a5 = z; a6 = z; a7 = z;
                xo = 0;
                o += 8 * L;
            }
        }
    }

    /** The part of k done by vectors: whole chunks of L (F32) or of 2L (BF16, read as pairs); the rest is the tail. */
    static int vectorPart(boolean bf16, int k) {
        int c = bf16 ? 2 * L : L;
        return k - k % c;
    }

    /**
     * x into p (at least m·k long) with each chunk of 2L columns of [0, vectorPart) reordered as its even columns then
     * its odd columns (the tail as it was): the layout that meets BF16 weights read as pairs.
     */
    static void pairSplit(float[] x, int m, int k, float[] p) {
        int kv = vectorPart(true, k);
        for (int i = 0; i < m; i++) {
            int o = i * k;
            for (int c = 0; c < kv; c += 2 * L) {
                for (int l = 0; l < L; l++) {
                    p[o + c + l] = x[o + c + 2 * l];
                    p[o + c + L + l] = x[o + c + 2 * l + 1];
                }
            }
            System.arraycopy(x, o + kv, p, o + kv, k - kv);
        }
    }

    /** L F32 weights from element {@code elem} (BF16 weights are read in pairs, see {@link #dot8Bf16}). */
    private static FloatVector loadF32(MemorySegment w, long elem) {
        return FloatVector.fromMemorySegment(F, w, elem * 4, ByteOrder.LITTLE_ENDIAN);
    }

    private static float w1(MemorySegment w, boolean bf16, long idx) {
        return bf16 ? Float.intBitsToFloat((w.getAtIndex(I16, idx) & 0xffff) << 16) : w.getAtIndex(F32, idx);
    }

    static float dot(float[] x, int xo, MemorySegment w, boolean bf16, long wo, int k, int kv, float[] tmp) {
        FloatVector acc = FloatVector.zero(F);
        if (bf16) {
            for (int t = 0; t < kv; t += 2 * L) {
                IntVector iv = IntVector.fromMemorySegment(I, w, (wo + t) * 2, ByteOrder.LITTLE_ENDIAN);
                acc = FloatVector.fromArray(F, x, xo + t).fma(iv.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), acc);
                acc = FloatVector.fromArray(F, x, xo + t + L).fma(iv.and(0xffff0000).reinterpretAsFloats(), acc);
            }
        } else {
            for (int t = 0; t < kv; t += L) acc = FloatVector.fromArray(F, x, xo + t).fma(loadF32(w, wo + t), acc);
        }
        acc.intoArray(tmp, 0);
        float s = sum1(tmp, 0);
        for (int t = kv; t < k; t++) s += x[xo + t] * w1(w, bf16, wo + t);
        return s;
    }

    /** Lane permutations i → i xor b, for {@link #sum1}'s pairwise tree (null where b ≥ L). */
    private static final VectorShuffle<Float> X8 = xor(8), X4 = xor(4), X2 = xor(2), X1 = xor(1);

    private static VectorShuffle<Float> xor(int b) {
        return b < L ? VectorShuffle.fromOp(F, j -> j ^ b) : null;
    }

    /**
     * Sum of the L lanes stored at acc[ao..ao+L) by a fixed pairwise tree (lane i plus lane i xor 8, then xor 4, 2, 1).
     * Deterministic: the order is ours, not {@code reduceLanes}'s unspecified one, so every JIT tier gives the same
     * bits. Accumulators reach it through an array, never as vector arguments (a vector passed to a method that is
     * not inlined is boxed). Written out without a loop for the same reason.
     */
    static float sum1(float[] acc, int ao) {
        FloatVector v = FloatVector.fromArray(F, acc, ao);
        if (L >= 16) v = v.add(v.rearrange(X8));
        if (L >= 8) v = v.add(v.rearrange(X4));
        if (L >= 4) v = v.add(v.rearrange(X2));
        if (L >= 2) v = v.add(v.rearrange(X1));
        return v.lane(0);
    }

    /** Lanes whose index has bit 8, resp. bit 4, set. */
    private static final VectorMask<Float> M8 = L == 16 ? VectorMask.fromLong(F, 0xff00L) : null;
    private static final VectorMask<Float> M4 = L == 16 ? VectorMask.fromLong(F, 0xf0f0L) : null;

    /**
     * The lane sums of the four accumulators stored at acc[ao..ao+4L), into acc[ao..ao+3]: each the same bits as
     * {@link #sum1} of that accumulator. With 16 lanes the four trees run packed in one vector (step 1 pairs the first
     * two and the last two in halves, step 2 the two results in quarters, steps 3-4 within each quarter): 6
     * permutations instead of 16.
     */
    static void sum4(float[] acc, int ao) {
        if (L != 16) {
            float s0 = sum1(acc, ao), s1 = sum1(acc, ao + L), s2 = sum1(acc, ao + 2 * L), s3 = sum1(acc, ao + 3 * L);
            acc[ao] = s0;
            acc[ao + 1] = s1;
            acc[ao + 2] = s2;
            acc[ao + 3] = s3;
            return;
        }
        FloatVector c0 = FloatVector.fromArray(F, acc, ao), c1 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector c2 = FloatVector.fromArray(F, acc, ao + 2 * L), c3 = FloatVector.fromArray(F, acc, ao + 3 * L);
        // lanes 0-7: c0[i] + c0[i^8]; lanes 8-15: c1[i] + c1[i^8]   (likewise c2, c3)
        FloatVector r01 = c0.blend(c1, M8).add(c0.rearrange(X8).blend(c1.rearrange(X8), M8));
        FloatVector r23 = c2.blend(c3, M8).add(c2.rearrange(X8).blend(c3.rearrange(X8), M8));
        // quarters: c0 in 0-3, c2 in 4-7, c1 in 8-11, c3 in 12-15, each lane holding y[i] + y[i^4]
        FloatVector q = r01.blend(r23, M4).add(r01.rearrange(X4).blend(r23.rearrange(X4), M4));
        q = q.add(q.rearrange(X2));
        q = q.add(q.rearrange(X1));
        acc[ao] = q.lane(0);
        acc[ao + 1] = q.lane(8);
        acc[ao + 2] = q.lane(4);
        acc[ao + 3] = q.lane(12);
    }

    // ---------------------------------------------------------------- many rows: register-tiled dot products

    /** Rows of x from which {@link #multiplyPrepared} stages W as f32 and tiles; below it, W is widened in registers. */
    public static final int TILE_MIN_ROWS = 4;

    /** Rows of x (TR) and of W (TC) per register tile. */
    static final int TR = 3, TC = 8;

    /** Output columns per unit of work: a caller splitting a product over tasks should cut at multiples of it. */
    public static final int COLUMN_UNIT = TC;

    /** Floats of k per block of {@link #multiplyPrepared}'s tiles (a multiple of every vector length). */
    static final int KC = 512;

    /**
     * x as the kernels read it, made once per product and shared by its tasks: {@code rows} is x pair-split for BF16
     * weights ({@link #pairSplit}, unchanged for F32); {@code tiles}, for {@link #TILE_MIN_ROWS} rows or more, the
     * vector part of each group of {@link #TR} rows among the first {@link #tiledRows} interleaved step by step (for step s: row 0's L floats, row 1's,
     * row 2's), so that a tile reads one contiguous stream. The arrays may be longer than needed. {@code bf16}: the weights'
     * type x was prepared for (BF16 or F32), which is the type the product then reads.
     */
    public record Prepared(float[] rows, float[] tiles, int m, int k, int kv, boolean bf16) {
    }

    /**
     * The first rows of x, a multiple of {@link #TR}, that go in tiles of three; the rest, two or four rows, go in tiles
     * of two ({@link #tile2x8}). For m ≥ {@link #TILE_MIN_ROWS}.
     */
    static int tiledRows(int m) {
        return m % TR == 1 ? m - 4 : m - m % TR;
    }

    /** The calling thread's buffers for {@link #prepare}: reused by its next product (a decode step makes hundreds). */
    private static final class PrepareScratch {
        float[] rows = new float[0], tiles = new float[0];
    }

    private static final ThreadLocal<PrepareScratch> PREPARE = ThreadLocal.withInitial(PrepareScratch::new);

    /**
     * x as the kernels read it for weights of type dt (see {@link Prepared}), in buffers owned by the calling thread:
     * valid until that thread's next call, so a product must be finished (its tasks joined) before the thread prepares
     * the next.
     */
    public static Prepared prepare(float[] x, int m, int k, DType dt) {
        boolean bf16 = isBf16(dt);
        PrepareScratch sc = PREPARE.get();
        float[] rows = x;
        if (bf16) {
            if (sc.rows.length < m * k) sc.rows = new float[m * k];
            rows = sc.rows;
            pairSplit(x, m, k, rows);
        }
        int kv = vectorPart(bf16, k);
        float[] tiles = null;
        if (m >= TILE_MIN_ROWS) {
            int m3 = tiledRows(m);
            if (sc.tiles.length < m3 * kv) sc.tiles = new float[m3 * kv];
            tiles = sc.tiles;
            for (int i = 0; i < m3; i += TR) {
                int base = i * kv;
                for (int s = 0; s < kv; s += L) {
                    for (int r = 0; r < TR; r++) System.arraycopy(rows, (i + r) * k + s, tiles, base + s * TR + r * L, L);
                }
            }
        }
        return new Prepared(rows, tiles, m, k, kv, bf16);
    }

    /**
     * Output columns [n0, n1) of x · Wᵀ for any number of rows, x already {@link #prepare}d. With
     * {@link #TILE_MIN_ROWS} rows or more, 8 rows of W at a time are staged as f32 (BF16 widened once for all M rows of
     * x) in a packed layout, and multiplied against 3 rows of x at a time (packed likewise by {@link #prepare}) in a 3×8
     * tile of 24 vector accumulators (two rows left over go in a tile of two, one left over makes the last four rows two
     * such tiles: {@link #tile2x8}). Every output is accumulated exactly as {@link #multiplyRowsPrepared} does it
     * (lane t mod L of a vector chain over k, lanes summed by {@link #sum1}'s tree, the k-tail added last), so a row's
     * result does not depend on how many other rows are in the call or where it sits: batched and one-at-a-time
     * decoding, prefill and teacher forcing give the same bits.
     */
    public static void multiplyPrepared(Prepared p, MemorySegment w, int n, float[] out, int n0, int n1) {
        int m = p.m(), k = p.k(), kv = p.kv();
        if (m < TILE_MIN_ROWS) {
            multiplyRowsPrepared(p.rows(), m, k, w, p.bf16(), n, out, n0, n1);
            return;
        }
        boolean bf16 = p.bf16();
        float[] x = p.rows(), xt = p.tiles();
        int m3 = tiledRows(m), tail = k - kv;
        Scratch sc = SCRATCH.get();
        int wt = TC * Math.min(KC, kv); // the panel's k-tails sit after its block
        float[] wp = sc.ws(wt + TC * tail);
        float[] tmp = sc.tmp;
        float[] acc = sc.acc(m * TC * L);
        int j = n0;
        for (; j + TC <= n1; j += TC) {
            stageTails(w, bf16, j, k, kv, wp, wt);
            // k in blocks of KC: each block of the W panel (TC rows × KC, 16 KB as f32) is staged just before the x
            // tiles stream past it, so it is written to and read from L1; the 24 accumulators of each tile wait in acc
            // between blocks (stored exactly: the lane chains are unchanged).
            if (kv == 0) java.util.Arrays.fill(acc, 0, m * TC * L, 0f); // no vector part: the lane sums are 0
            for (int t0 = 0; t0 < kv; t0 += KC) {
                int t1 = Math.min(kv, t0 + KC), s0 = t0 / L, s1 = t1 / L;
                stagePacked(w, bf16, j, k, t0, t1, wp);
                for (int i = 0; i < m3; i += TR) tile3x8(xt, i * kv, s0, s1, wp, acc, i * TC * L, t0 == 0);
                for (int i = m3; i < m; i += 2) tile2x8(x, i * k, k, s0, s1, wp, acc, i * TC * L, t0 == 0);
            }
            for (int i = 0; i < m; i++) finish8(acc, i * TC * L, x, i * k, k, kv, wp, wt, out, i * n + j);
        }
        for (; j < n1; j++) {
            for (int i = 0; i < m; i++) out[i * n + j] = dot(x, i * k, w, bf16, (long) j * k, k, kv, tmp);
        }
    }

    /**
     * For benchmarks ({@code ./bench/gemm-fraction --tile yes}): the 3 × 8 tile alone, as {@link #multiplyPrepared}
     * runs it over one staged block of W, without staging, lane sums or k-tails. Runs {@code tiles} tiles (3 rows of x
     * each, packed as {@link #prepare} packs them) against one block of {@link #KC} floats of 8 W rows, {@code blocks}
     * times; returns the FLOPs done. xt holds tiles · 3 · KC floats, wp 8 · KC, acc tiles · 24 · L (the accumulators
     * of the tiles, carried from block to block as in a product). With one tile everything stays in L1; with m/3
     * tiles x streams from L2 as in an m-row product.
     */
    public static long tilesAlone(float[] xt, int tiles, float[] wp, float[] acc, int blocks) {
        int steps = KC / L;
        if (xt.length < tiles * TR * KC || wp.length < TC * KC || acc.length < tiles * TR * TC * L) {
            throw new IllegalArgumentException("tilesAlone: xt needs " + tiles * TR * KC + " floats, wp " + TC * KC + ", acc " + tiles * TR * TC * L);
        }
        for (int b = 0; b < blocks; b++) {
            for (int t = 0; t < tiles; t++) tile3x8(xt, t * TR * KC, 0, steps, wp, acc, t * TR * TC * L, b == 0);
        }
        return 2L * TR * TC * KC * tiles * blocks;
    }

    /** The float counts {@link #tilesAlone} needs for {@code tiles} tiles: {xt, wp, acc}. */
    public static int[] tilesAloneSizes(int tiles) {
        return new int[] {tiles * TR * KC, TC * KC, tiles * TR * TC * L};
    }

    /**
     * x tile rows [i, i+3) (packed at xt[xb ..]) against the TC = 8 staged W rows over steps [s0, s1) of L floats
     * (the block staged in wp from its start); the 24 accumulators live in acc[ao ..] (row r, W row c at
     * ao + (r·8 + c)·L).
     */
    private static void tile3x8(float[] xt, int xb, int s0, int s1, float[] wp, float[] acc, int ao, boolean first) {
        FloatVector c00, c01, c02, c03, c04, c05, c06, c07, c10, c11, c12, c13, c14, c15, c16, c17,
                c20, c21, c22, c23, c24, c25, c26, c27;
        if (first) {
            FloatVector z = FloatVector.zero(F);
            c00 = z; c01 = z; c02 = z; c03 = z; c04 = z; c05 = z; c06 = z; c07 = z;
            c10 = z; c11 = z; c12 = z; c13 = z; c14 = z; c15 = z; c16 = z; c17 = z;
            c20 = z; c21 = z; c22 = z; c23 = z; c24 = z; c25 = z; c26 = z; c27 = z;
        } else {
            c00 = FloatVector.fromArray(F, acc, ao); c01 = FloatVector.fromArray(F, acc, ao + L);
            c02 = FloatVector.fromArray(F, acc, ao + 2 * L); c03 = FloatVector.fromArray(F, acc, ao + 3 * L);
            c04 = FloatVector.fromArray(F, acc, ao + 4 * L); c05 = FloatVector.fromArray(F, acc, ao + 5 * L);
            c06 = FloatVector.fromArray(F, acc, ao + 6 * L); c07 = FloatVector.fromArray(F, acc, ao + 7 * L);
            c10 = FloatVector.fromArray(F, acc, ao + 8 * L); c11 = FloatVector.fromArray(F, acc, ao + 9 * L);
            c12 = FloatVector.fromArray(F, acc, ao + 10 * L); c13 = FloatVector.fromArray(F, acc, ao + 11 * L);
            c14 = FloatVector.fromArray(F, acc, ao + 12 * L); c15 = FloatVector.fromArray(F, acc, ao + 13 * L);
            c16 = FloatVector.fromArray(F, acc, ao + 14 * L); c17 = FloatVector.fromArray(F, acc, ao + 15 * L);
            c20 = FloatVector.fromArray(F, acc, ao + 16 * L); c21 = FloatVector.fromArray(F, acc, ao + 17 * L);
            c22 = FloatVector.fromArray(F, acc, ao + 18 * L); c23 = FloatVector.fromArray(F, acc, ao + 19 * L);
            c24 = FloatVector.fromArray(F, acc, ao + 20 * L); c25 = FloatVector.fromArray(F, acc, ao + 21 * L);
            c26 = FloatVector.fromArray(F, acc, ao + 22 * L); c27 = FloatVector.fromArray(F, acc, ao + 23 * L);
        }
        for (int s = s0; s < s1; s++) {
            int wo = (s - s0) * TC * L, xo = xb + s * TR * L;
            FloatVector a0 = FloatVector.fromArray(F, xt, xo), a1 = FloatVector.fromArray(F, xt, xo + L), a2 = FloatVector.fromArray(F, xt, xo + 2 * L);
            FloatVector w = FloatVector.fromArray(F, wp, wo);
            c00 = a0.fma(w, c00); c10 = a1.fma(w, c10); c20 = a2.fma(w, c20);
            w = FloatVector.fromArray(F, wp, wo + L);
            c01 = a0.fma(w, c01); c11 = a1.fma(w, c11); c21 = a2.fma(w, c21);
            w = FloatVector.fromArray(F, wp, wo + 2 * L);
            c02 = a0.fma(w, c02); c12 = a1.fma(w, c12); c22 = a2.fma(w, c22);
            w = FloatVector.fromArray(F, wp, wo + 3 * L);
            c03 = a0.fma(w, c03); c13 = a1.fma(w, c13); c23 = a2.fma(w, c23);
            w = FloatVector.fromArray(F, wp, wo + 4 * L);
            c04 = a0.fma(w, c04); c14 = a1.fma(w, c14); c24 = a2.fma(w, c24);
            w = FloatVector.fromArray(F, wp, wo + 5 * L);
            c05 = a0.fma(w, c05); c15 = a1.fma(w, c15); c25 = a2.fma(w, c25);
            w = FloatVector.fromArray(F, wp, wo + 6 * L);
            c06 = a0.fma(w, c06); c16 = a1.fma(w, c16); c26 = a2.fma(w, c26);
            w = FloatVector.fromArray(F, wp, wo + 7 * L);
            c07 = a0.fma(w, c07); c17 = a1.fma(w, c17); c27 = a2.fma(w, c27);
        }
        c00.intoArray(acc, ao); c01.intoArray(acc, ao + L); c02.intoArray(acc, ao + 2 * L); c03.intoArray(acc, ao + 3 * L);
        c04.intoArray(acc, ao + 4 * L); c05.intoArray(acc, ao + 5 * L); c06.intoArray(acc, ao + 6 * L); c07.intoArray(acc, ao + 7 * L);
        c10.intoArray(acc, ao + 8 * L); c11.intoArray(acc, ao + 9 * L); c12.intoArray(acc, ao + 10 * L); c13.intoArray(acc, ao + 11 * L);
        c14.intoArray(acc, ao + 12 * L); c15.intoArray(acc, ao + 13 * L); c16.intoArray(acc, ao + 14 * L); c17.intoArray(acc, ao + 15 * L);
        c20.intoArray(acc, ao + 16 * L); c21.intoArray(acc, ao + 17 * L); c22.intoArray(acc, ao + 18 * L); c23.intoArray(acc, ao + 19 * L);
        c24.intoArray(acc, ao + 20 * L); c25.intoArray(acc, ao + 21 * L); c26.intoArray(acc, ao + 22 * L); c27.intoArray(acc, ao + 23 * L);
    }

    /**
     * Two x rows (row layout, at x[xo ..] and x[xo + k ..]) against the 8 staged W rows over steps [s0, s1) (as
     * {@link #tile3x8}; the second row's accumulators at ao + 8L): the rows that groups of three leave over. 16
     * accumulators, 10 loads per 16 FMAs; one row alone would need 9 loads per 8.
     */
    private static void tile2x8(float[] x, int xo, int k, int s0, int s1, float[] wp, float[] acc, int ao, boolean first) {
        FloatVector c00, c01, c02, c03, c04, c05, c06, c07, c10, c11, c12, c13, c14, c15, c16, c17;
        if (first) {
            FloatVector z = FloatVector.zero(F);
            c00 = z; c01 = z; c02 = z; c03 = z; c04 = z; c05 = z; c06 = z; c07 = z;
            c10 = z; c11 = z; c12 = z; c13 = z; c14 = z; c15 = z; c16 = z; c17 = z;
        } else {
            c00 = FloatVector.fromArray(F, acc, ao); c01 = FloatVector.fromArray(F, acc, ao + L);
            c02 = FloatVector.fromArray(F, acc, ao + 2 * L); c03 = FloatVector.fromArray(F, acc, ao + 3 * L);
            c04 = FloatVector.fromArray(F, acc, ao + 4 * L); c05 = FloatVector.fromArray(F, acc, ao + 5 * L);
            c06 = FloatVector.fromArray(F, acc, ao + 6 * L); c07 = FloatVector.fromArray(F, acc, ao + 7 * L);
            c10 = FloatVector.fromArray(F, acc, ao + 8 * L); c11 = FloatVector.fromArray(F, acc, ao + 9 * L);
            c12 = FloatVector.fromArray(F, acc, ao + 10 * L); c13 = FloatVector.fromArray(F, acc, ao + 11 * L);
            c14 = FloatVector.fromArray(F, acc, ao + 12 * L); c15 = FloatVector.fromArray(F, acc, ao + 13 * L);
            c16 = FloatVector.fromArray(F, acc, ao + 14 * L); c17 = FloatVector.fromArray(F, acc, ao + 15 * L);
        }
        int x1 = xo + k;
        for (int s = s0; s < s1; s++) {
            int wo = (s - s0) * TC * L;
            FloatVector a0 = FloatVector.fromArray(F, x, xo + s * L), a1 = FloatVector.fromArray(F, x, x1 + s * L);
            FloatVector w = FloatVector.fromArray(F, wp, wo);
            c00 = a0.fma(w, c00); c10 = a1.fma(w, c10);
            w = FloatVector.fromArray(F, wp, wo + L);
            c01 = a0.fma(w, c01); c11 = a1.fma(w, c11);
            w = FloatVector.fromArray(F, wp, wo + 2 * L);
            c02 = a0.fma(w, c02); c12 = a1.fma(w, c12);
            w = FloatVector.fromArray(F, wp, wo + 3 * L);
            c03 = a0.fma(w, c03); c13 = a1.fma(w, c13);
            w = FloatVector.fromArray(F, wp, wo + 4 * L);
            c04 = a0.fma(w, c04); c14 = a1.fma(w, c14);
            w = FloatVector.fromArray(F, wp, wo + 5 * L);
            c05 = a0.fma(w, c05); c15 = a1.fma(w, c15);
            w = FloatVector.fromArray(F, wp, wo + 6 * L);
            c06 = a0.fma(w, c06); c16 = a1.fma(w, c16);
            w = FloatVector.fromArray(F, wp, wo + 7 * L);
            c07 = a0.fma(w, c07); c17 = a1.fma(w, c17);
        }
        c00.intoArray(acc, ao); c01.intoArray(acc, ao + L); c02.intoArray(acc, ao + 2 * L); c03.intoArray(acc, ao + 3 * L);
        c04.intoArray(acc, ao + 4 * L); c05.intoArray(acc, ao + 5 * L); c06.intoArray(acc, ao + 6 * L); c07.intoArray(acc, ao + 7 * L);
        c10.intoArray(acc, ao + 8 * L); c11.intoArray(acc, ao + 9 * L); c12.intoArray(acc, ao + 10 * L); c13.intoArray(acc, ao + 11 * L);
        c14.intoArray(acc, ao + 12 * L); c15.intoArray(acc, ao + 13 * L); c16.intoArray(acc, ao + 14 * L); c17.intoArray(acc, ao + 15 * L);
    }

    /**
     * Lane sums and k-tails of one x row against the 8 staged W rows (accumulators at acc[ao ..), in W-row order; the
     * rows' k-tails at wp[wt ..], {@link #stageTails}), in the order of {@link #dot8}: into out[o .. o+8).
     */
    private static void finish8(float[] acc, int ao, float[] x, int xo, int k, int kv, float[] wp, int wt, float[] out, int o) {
        sum4(acc, ao);
        sum4(acc, ao + 4 * L);
        int tail = k - kv;
        for (int c = 0; c < TC; c++) {
            float s = acc[ao + (c / 4) * 4 * L + c % 4];
            for (int t = 0; t < tail; t++) s += x[xo + kv + t] * wp[wt + c * tail + t];
            out[o + c] = s;
        }
    }

    /**
     * Stages elements [t0, t1) of the vector part of W rows [j, j + 8) as f32 into wp from its start, packed for
     * {@link #tile3x8} and {@link #tile2x8}: step by step (for each step of L floats: row 0's, row 1's, … row 7's), BF16 in the pair-split
     * order of {@link #pairSplit}. t0 and t1 are multiples of 2L.
     */
    static void stagePacked(MemorySegment w, boolean bf16, long j, int k, int t0, int t1, float[] wp) {
        long b0 = j * k * (bf16 ? 2 : 4), rb = (long) k * (bf16 ? 2 : 4); // byte offset of row j, bytes per row
        // step outer, row inner: wp is written front to back
        if (bf16) {
            for (int t = t0; t < t1; t += 2 * L) {
                int lo = (t - t0) * TC, hi = (t - t0 + L) * TC;
                for (int c = 0; c < TC; c++) {
                    IntVector iv = IntVector.fromMemorySegment(I, w, b0 + c * rb + 2L * t, ByteOrder.LITTLE_ENDIAN);
                    iv.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(wp, lo + c * L);
                    iv.and(0xffff0000).reinterpretAsFloats().intoArray(wp, hi + c * L);
                }
            }
        } else {
            for (int t = t0; t < t1; t += L) {
                long bt = b0 + 4L * t;
                int o = (t - t0) * TC;
                for (int c = 0; c < TC; c++) {
                    FloatVector.fromMemorySegment(F, w, bt + c * rb, ByteOrder.LITTLE_ENDIAN).intoArray(wp, o + c * L);
                }
            }
        }
    }

    /** The k-tails ([kv, k)) of W rows [j, j + 8) as f32 into wp[wt ..], row after row. */
    static void stageTails(MemorySegment w, boolean bf16, long j, int k, int kv, float[] wp, int wt) {
        int tail = k - kv;
        for (int c = 0; c < TC; c++) {
            long row = (j + c) * k;
            for (int t = 0; t < tail; t++) wp[wt + c * tail + t] = w1(w, bf16, row + kv + t);
        }
    }
}
