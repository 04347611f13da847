package cgap.engine.cpu;

import cgap.engine.safetensors.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * out[M, N] = x[M, K] · W[N, K]ᵀ with W in F32 or BF16, f32 accumulation. {@link #reference} is the plain loop every
 * optimised path is tested against.
 *
 * <p>Two optimised paths, both deterministic (the same inputs give the same bits whatever the JIT tier: no
 * {@code reduceLanes}, whose summation order is unspecified and really differs between interpreter and C2):
 * <ul>
 *   <li>few rows (decode, M &lt; {@link #PACK_MIN_ROWS}): one dot product per output, W streamed once, BF16 widened in
 *       registers, lanes summed in a fixed order;</li>
 *   <li>many rows (prefill, lens): xᵀ is packed once ([K, Mpad]); 8 rows of W at a time are staged as f32 (widening
 *       BF16 once for all M rows); the micro-kernel broadcasts a W scalar against two vectors of x columns, so an
 *       8×2L tile keeps 16 accumulators, each a sequential FMA chain over k, and needs no horizontal sum.</li>
 * </ul>
 */
public final class MatMul {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final int L = F.length();
    /** Columns of x per micro-kernel tile. */
    static final int NC = 2 * L;
    /** Rows of W per micro-kernel tile. */
    static final int NR = 8;
    public static final int PACK_MIN_ROWS = 4;
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

    /** Output columns [n0, n1) of a product with few rows: dot products, four rows of W at a time. */
    public static void multiplyRows(float[] x, int m, int k, MemorySegment w, DType dt, int n, float[] out, int n0, int n1) {
        boolean bf16 = isBf16(dt);
        int kv = k - k % L;
        float[] tmp = new float[L];
        int j = n0;
        for (; j + 4 <= n1; j += 4) {
            for (int i = 0; i < m; i++) dot4(x, i * k, w, bf16, j, k, kv, out, i * n + j, tmp);
        }
        for (; j < n1; j++) {
            for (int i = 0; i < m; i++) out[i * n + j] = dot(x, i * k, w, bf16, (long) j * k, k, kv, tmp);
        }
    }

    private static void dot4(float[] x, int xo, MemorySegment w, boolean bf16, int j, int k, int kv, float[] out, int o, float[] tmp) {
        long w0 = (long) j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < kv; t += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + t);
            a0 = xv.fma(load(w, bf16, w0 + t), a0);
            a1 = xv.fma(load(w, bf16, w1 + t), a1);
            a2 = xv.fma(load(w, bf16, w2 + t), a2);
            a3 = xv.fma(load(w, bf16, w3 + t), a3);
        }
        float s0 = hsum(a0, tmp), s1 = hsum(a1, tmp), s2 = hsum(a2, tmp), s3 = hsum(a3, tmp);
        for (int t = kv; t < k; t++) {
            float xv = x[xo + t];
            s0 += xv * w1(w, bf16, w0 + t);
            s1 += xv * w1(w, bf16, w1 + t);
            s2 += xv * w1(w, bf16, w2 + t);
            s3 += xv * w1(w, bf16, w3 + t);
        }
        out[o] = s0;
        out[o + 1] = s1;
        out[o + 2] = s2;
        out[o + 3] = s3;
    }

    private static FloatVector load(MemorySegment w, boolean bf16, long elem) {
        if (bf16) {
            ShortVector s = ShortVector.fromMemorySegment(S, w, elem * 2, ByteOrder.LITTLE_ENDIAN);
            IntVector iv = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
            return iv.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        }
        return FloatVector.fromMemorySegment(F, w, elem * 4, ByteOrder.LITTLE_ENDIAN);
    }

    private static float w1(MemorySegment w, boolean bf16, long idx) {
        return bf16 ? Float.intBitsToFloat((w.getAtIndex(I16, idx) & 0xffff) << 16) : w.getAtIndex(F32, idx);
    }

    static float dot(float[] x, int xo, MemorySegment w, boolean bf16, long wo, int k, int kv, float[] tmp) {
        FloatVector acc = FloatVector.zero(F);
        for (int t = 0; t < kv; t += L) acc = FloatVector.fromArray(F, x, xo + t).fma(load(w, bf16, wo + t), acc);
        float s = hsum(acc, tmp);
        for (int t = kv; t < k; t++) s += x[xo + t] * w1(w, bf16, wo + t);
        return s;
    }

    /** Sum of the lanes, in lane order (deterministic; cheap next to the dot product it ends). */
    static float hsum(FloatVector v, float[] tmp) {
        v.intoArray(tmp, 0);
        float s = 0;
        for (int i = 0; i < L; i++) s += tmp[i];
        return s;
    }

    // ---------------------------------------------------------------- many rows: packed xᵀ

    /** Columns of the packed xᵀ: m rounded up to a whole tile. */
    public static int paddedRows(int m) {
        return (m + NC - 1) / NC * NC;
    }

    /** xt[t * mpad + i] = x[i * k + t]; padding columns are zero. */
    public static float[] packTransposed(float[] x, int m, int k) {
        int mpad = paddedRows(m);
        float[] xt = new float[k * mpad];
        for (int i = 0; i < m; i++) {
            int xo = i * k;
            for (int t = 0; t < k; t++) xt[t * mpad + i] = x[xo + t];
        }
        return xt;
    }

    /** Stages rows [j, j + rows) of W as f32 into ws ([rows, k]). */
    static void stage(MemorySegment w, boolean bf16, long j, int rows, int k, float[] ws) {
        int count = rows * k;
        long from = j * k;
        if (!bf16) {
            MemorySegment.copy(w, F32, from * 4, ws, 0, count);
            return;
        }
        int v = count - count % L, i = 0;
        for (; i < v; i += L) load(w, true, from + i).intoArray(ws, i);
        for (; i < count; i++) ws[i] = w1(w, true, from + i);
    }

    /** Output columns [n0, n1) of a product whose xᵀ was packed by {@link #packTransposed}. */
    public static void multiplyPacked(float[] xt, int m, int k, MemorySegment w, DType dt, int n, float[] out, int n0, int n1) {
        boolean bf16 = isBf16(dt);
        int mpad = paddedRows(m);
        float[] ws = new float[NR * k];
        float[] tmp = new float[L];
        for (int j = n0; j < n1; j += NR) {
            int rows = Math.min(NR, n1 - j);
            stage(w, bf16, j, rows, k, ws);
            for (int i = 0; i < mpad; i += NC) {
                if (rows == NR) kernel8(xt, mpad, i, ws, k, out, n, j, m, tmp);
                else for (int r = 0; r < rows; r++) kernel1(xt, mpad, i, ws, r * k, k, out, n, j + r, m, tmp);
            }
        }
    }

    private static void kernel8(float[] xt, int mpad, int i, float[] ws, int k, float[] out, int n, int j, int m, float[] tmp) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        int k2 = 2 * k, k3 = 3 * k, k4 = 4 * k, k5 = 5 * k, k6 = 6 * k, k7 = 7 * k;
        for (int t = 0; t < k; t++) {
            int xo = t * mpad + i;
            FloatVector b0 = FloatVector.fromArray(F, xt, xo), b1 = FloatVector.fromArray(F, xt, xo + L);
            FloatVector a = FloatVector.broadcast(F, ws[t]);
            c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(F, ws[k + t]);
            c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(F, ws[k2 + t]);
            c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(F, ws[k3 + t]);
            c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(F, ws[k4 + t]);
            c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(F, ws[k5 + t]);
            c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(F, ws[k6 + t]);
            c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(F, ws[k7 + t]);
            c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
        }
        put(c00, c01, out, n, j, i, m, tmp);
        put(c10, c11, out, n, j + 1, i, m, tmp);
        put(c20, c21, out, n, j + 2, i, m, tmp);
        put(c30, c31, out, n, j + 3, i, m, tmp);
        put(c40, c41, out, n, j + 4, i, m, tmp);
        put(c50, c51, out, n, j + 5, i, m, tmp);
        put(c60, c61, out, n, j + 6, i, m, tmp);
        put(c70, c71, out, n, j + 7, i, m, tmp);
    }

    private static void kernel1(float[] xt, int mpad, int i, float[] ws, int wo, int k, float[] out, int n, int j, int m, float[] tmp) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0;
        for (int t = 0; t < k; t++) {
            int xo = t * mpad + i;
            FloatVector a = FloatVector.broadcast(F, ws[wo + t]);
            c0 = a.fma(FloatVector.fromArray(F, xt, xo), c0);
            c1 = a.fma(FloatVector.fromArray(F, xt, xo + L), c1);
        }
        put(c0, c1, out, n, j, i, m, tmp);
    }

    /** out[(i + c) * n + j] for the tile's 2L columns c that are real rows of x. */
    private static void put(FloatVector lo, FloatVector hi, float[] out, int n, int j, int i, int m, float[] tmp) {
        lo.intoArray(tmp, 0);
        int valid = Math.min(L, m - i);
        for (int c = 0; c < valid; c++) out[(i + c) * n + j] = tmp[c];
        valid = Math.min(L, m - i - L);
        if (valid <= 0) return;
        hi.intoArray(tmp, 0);
        for (int c = 0; c < valid; c++) out[(i + L + c) * n + j] = tmp[c];
    }
}
