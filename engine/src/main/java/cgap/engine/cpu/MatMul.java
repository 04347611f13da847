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
 * out[M, N] = x[M, K] · W[N, K]ᵀ with W in F32 or BF16 (widened to f32 in registers), f32 accumulation.
 * {@link #reference} is the plain loop every optimised path is tested against.
 *
 * <p>The optimised path tiles 4 rows of x by 4 rows of W (16 vector accumulators), blocks rows of x so a block stays
 * in cache while W streams, and splits W's rows over threads.
 */
public final class MatMul {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final int L = F.length();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int M_BLOCK = 64;

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

    /** Optimised product over the output columns [n0, n1). */
    public static void multiply(float[] x, int m, int k, MemorySegment w, DType dt, int n, float[] out, int n0, int n1) {
        boolean bf16 = switch (dt) {
            case F32 -> false;
            case BF16 -> true;
            default -> throw new IllegalArgumentException("matmul weights must be F32 or BF16, got " + dt);
        };
        int kv = k - k % L;
        for (int mb = 0; mb < m; mb += M_BLOCK) {
            int me = Math.min(m, mb + M_BLOCK);
            int j = n0;
            for (; j + 4 <= n1; j += 4) {
                int i = mb;
                for (; i + 4 <= me; i += 4) tile4x4(x, i, k, kv, w, bf16, j, n, out);
                for (; i < me; i++) tile1x4(x, i, k, kv, w, bf16, j, n, out);
            }
            for (; j < n1; j++) {
                for (int i = mb; i < me; i++) out[i * n + j] = dot(x, i * k, w, bf16, (long) j * k, k, kv);
            }
        }
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

    static float dot(float[] x, int xo, MemorySegment w, boolean bf16, long wo, int k, int kv) {
        FloatVector acc = FloatVector.zero(F);
        for (int t = 0; t < kv; t += L) acc = FloatVector.fromArray(F, x, xo + t).fma(load(w, bf16, wo + t), acc);
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (int t = kv; t < k; t++) s += x[xo + t] * w1(w, bf16, wo + t);
        return s;
    }

    private static void tile1x4(float[] x, int i, int k, int kv, MemorySegment w, boolean bf16, int j, int n, float[] out) {
        int xo = i * k;
        long w0 = (long) j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < kv; t += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + t);
            a0 = xv.fma(load(w, bf16, w0 + t), a0);
            a1 = xv.fma(load(w, bf16, w1 + t), a1);
            a2 = xv.fma(load(w, bf16, w2 + t), a2);
            a3 = xv.fma(load(w, bf16, w3 + t), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (int t = kv; t < k; t++) {
            float xv = x[xo + t];
            s0 += xv * w1(w, bf16, w0 + t);
            s1 += xv * w1(w, bf16, w1 + t);
            s2 += xv * w1(w, bf16, w2 + t);
            s3 += xv * w1(w, bf16, w3 + t);
        }
        int o = i * n + j;
        out[o] = s0;
        out[o + 1] = s1;
        out[o + 2] = s2;
        out[o + 3] = s3;
    }

    private static void tile4x4(float[] x, int i, int k, int kv, MemorySegment w, boolean bf16, int j, int n, float[] out) {
        int x0 = i * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        long w0 = (long) j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
        FloatVector c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
        for (int t = 0; t < kv; t += L) {
            FloatVector b0 = load(w, bf16, w0 + t), b1 = load(w, bf16, w1 + t);
            FloatVector b2 = load(w, bf16, w2 + t), b3 = load(w, bf16, w3 + t);
            FloatVector a = FloatVector.fromArray(F, x, x0 + t);
            c00 = a.fma(b0, c00); c01 = a.fma(b1, c01); c02 = a.fma(b2, c02); c03 = a.fma(b3, c03);
            a = FloatVector.fromArray(F, x, x1 + t);
            c10 = a.fma(b0, c10); c11 = a.fma(b1, c11); c12 = a.fma(b2, c12); c13 = a.fma(b3, c13);
            a = FloatVector.fromArray(F, x, x2 + t);
            c20 = a.fma(b0, c20); c21 = a.fma(b1, c21); c22 = a.fma(b2, c22); c23 = a.fma(b3, c23);
            a = FloatVector.fromArray(F, x, x3 + t);
            c30 = a.fma(b0, c30); c31 = a.fma(b1, c31); c32 = a.fma(b2, c32); c33 = a.fma(b3, c33);
        }
        store(out, i * n + j, k, kv, x, x0, w, bf16, w0, k, c00, c01, c02, c03);
        store(out, (i + 1) * n + j, k, kv, x, x1, w, bf16, w0, k, c10, c11, c12, c13);
        store(out, (i + 2) * n + j, k, kv, x, x2, w, bf16, w0, k, c20, c21, c22, c23);
        store(out, (i + 3) * n + j, k, kv, x, x3, w, bf16, w0, k, c30, c31, c32, c33);
    }

    private static void store(float[] out, int o, int k, int kv, float[] x, int xo, MemorySegment w, boolean bf16, long w0, int stride,
                              FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (int t = kv; t < k; t++) {
            float xv = x[xo + t];
            s0 += xv * w1(w, bf16, w0 + t);
            s1 += xv * w1(w, bf16, w0 + stride + t);
            s2 += xv * w1(w, bf16, w0 + 2L * stride + t);
            s3 += xv * w1(w, bf16, w0 + 3L * stride + t);
        }
        out[o] = s0;
        out[o + 1] = s1;
        out[o + 2] = s2;
        out[o + 3] = s3;
    }
}
