package cgap.engine.lens;

import cgap.engine.cpu.VecExp;
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
 * The inner loops of tuned-lens training, on the Vector API, each with the plain loop it is tested against.
 * Every kernel is deterministic: an output is one fixed-order FMA chain (lanes are combined in lane order, never by
 * {@code reduceLanes}), so the same inputs give the same bits whatever the JIT tier or thread split.
 */
public final class LensMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final int L = F.length();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Vocabulary rows of the head staged as f32 per block of {@link #gradHidden}. */
    static final int VB = 128;

    private LensMath() {
    }


    static double lanes(FloatVector v) {
        double s = 0;
        for (int i = 0; i < L; i++) s += v.lane(i);
        return s;
    }

    // ---------------------------------------------------------------- affine translator

    /**
     * out[r, i] = Σ_j W[i, j] h[r, j] + b[i] (plus h[r, i] first when {@code residual}: h + (A h + b)).
     * Lanes of each dot product are summed in lane order. With W = I and b = 0 (or A = 0), out == h exactly.
     */
    public static void affine(float[] h, int rows, int d, float[] w, float[] b, boolean residual, float[] out) {
        int v = d - d % L;
        for (int r = 0; r < rows; r++) {
            int ho = r * d;
            for (int i = 0; i < d; i++) {
                int wo = i * d;
                FloatVector acc = FloatVector.zero(F);
                int j = 0;
                for (; j < v; j += L) acc = FloatVector.fromArray(F, w, wo + j).fma(FloatVector.fromArray(F, h, ho + j), acc);
                float s = 0;
                for (int k = 0; k < L; k++) s += acc.lane(k);
                for (; j < d; j++) s = Math.fma(w[wo + j], h[ho + j], s);
                float t = s + b[i];
                out[ho + i] = residual ? h[ho + i] + t : t;
            }
        }
    }

    /** g[i, j] += Σ_r gt[r, i] h[r, j]; gb[i] += Σ_r gt[r, i] (r ascending, one FMA chain per entry). */
    public static void accumulateOuter(float[] gt, float[] h, int rows, int d, float[] g, float[] gb) {
        int v = d - d % L;
        for (int i = 0; i < d; i++) {
            int go = i * d;
            for (int j = 0; j < v; j += L) {
                FloatVector acc = FloatVector.fromArray(F, g, go + j);
                for (int r = 0; r < rows; r++) acc = FloatVector.fromArray(F, h, r * d + j).fma(FloatVector.broadcast(F, gt[r * d + i]), acc);
                acc.intoArray(g, go + j);
            }
            for (int j = v; j < d; j++) {
                float acc = g[go + j];
                for (int r = 0; r < rows; r++) acc = Math.fma(h[r * d + j], gt[r * d + i], acc);
                g[go + j] = acc;
            }
            float bs = gb[i];
            for (int r = 0; r < rows; r++) bs += gt[r * d + i];
            gb[i] = bs;
        }
    }

    // ---------------------------------------------------------------- y · W_Uᵀ

    /** Plain reference of {@link #logits}: out[r, v] = Σ_j y[r, j] W[v, j], one {@code Math.fma} chain in j order. */
    public static void logitsReference(float[] y, int rows, int d, MemorySegment w, DType dt, int vocab, float[] out) {
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < vocab; v++) {
                float acc = 0;
                for (int j = 0; j < d; j++) acc = Math.fma(y[r * d + j], weight(w, dt, (long) v * d + j), acc);
                out[r * vocab + v] = acc;
            }
        }
    }

    /** The head transposed to f32 [d, vocab] (row j holds W[·, j]), the layout {@link #logits} reads. */
    public static float[] transposeHead(MemorySegment w, DType dt, int vocab, int d) {
        long n = (long) vocab * d;
        if (n > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("head of " + vocab + " x " + d + " is too large for one array");
        float[] t = new float[(int) n];
        float[] row = new float[d];
        for (int v = 0; v < vocab; v++) {
            for (int j = 0; j < d; j++) row[j] = weight(w, dt, (long) v * d + j);
            for (int j = 0; j < d; j++) t[j * vocab + v] = row[j];
        }
        return t;
    }

    /**
     * Columns [v0, v1) of out[rows, vocab] = y[rows, d] · W_Uᵀ, from the transposed head {@code wt} [d, vocab]:
     * vectors run along the vocabulary, the micro-kernel keeps a 4-row × 2-vector tile and broadcasts y, outputs are
     * stored contiguously. Each output is the same FMA chain in j order as {@link #logitsReference}: equal bits,
     * whatever the column split.
     */
    public static void logits(float[] y, int rows, int d, float[] wt, int vocab, float[] out, int v0, int v1) {
        int v = v0;
        for (; v + 2 * L <= v1; v += 2 * L) {
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                int y0 = r * d, y1 = y0 + d, y2 = y1 + d, y3 = y2 + d;
                FloatVector z = FloatVector.zero(F);
                FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
                for (int j = 0; j < d; j++) {
                    int wo = j * vocab + v;
                    FloatVector w0 = FloatVector.fromArray(F, wt, wo), w1 = FloatVector.fromArray(F, wt, wo + L);
                    FloatVector b = FloatVector.broadcast(F, y[y0 + j]);
                    a00 = b.fma(w0, a00); a01 = b.fma(w1, a01);
                    b = FloatVector.broadcast(F, y[y1 + j]);
                    a10 = b.fma(w0, a10); a11 = b.fma(w1, a11);
                    b = FloatVector.broadcast(F, y[y2 + j]);
                    a20 = b.fma(w0, a20); a21 = b.fma(w1, a21);
                    b = FloatVector.broadcast(F, y[y3 + j]);
                    a30 = b.fma(w0, a30); a31 = b.fma(w1, a31);
                }
                int o = r * vocab + v;
                a00.intoArray(out, o); a01.intoArray(out, o + L);
                a10.intoArray(out, o + vocab); a11.intoArray(out, o + vocab + L);
                a20.intoArray(out, o + 2 * vocab); a21.intoArray(out, o + 2 * vocab + L);
                a30.intoArray(out, o + 3 * vocab); a31.intoArray(out, o + 3 * vocab + L);
            }
            for (; r < rows; r++) logitsColumns(y, r, d, wt, vocab, out, v, v + 2 * L);
        }
        for (int r = 0; r < rows; r++) logitsColumns(y, r, d, wt, vocab, out, v, v1);
    }

    /** One row's columns [v0, v1): single vectors, then scalars. */
    private static void logitsColumns(float[] y, int r, int d, float[] wt, int vocab, float[] out, int v0, int v1) {
        int v = v0, yo = r * d;
        for (; v + L <= v1; v += L) {
            FloatVector a = FloatVector.zero(F);
            for (int j = 0; j < d; j++) a = FloatVector.broadcast(F, y[yo + j]).fma(FloatVector.fromArray(F, wt, j * vocab + v), a);
            a.intoArray(out, r * vocab + v);
        }
        for (; v < v1; v++) {
            float a = 0;
            for (int j = 0; j < d; j++) a = Math.fma(y[yo + j], wt[j * vocab + v], a);
            out[r * vocab + v] = a;
        }
    }

    /** The largest value of a[off .. off+n), vectorised (max is exact in any order). */
    public static float max(float[] a, int off, int n) {
        int v = n - n % L, i = 0;
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (; i < v; i += L) m = m.max(FloatVector.fromArray(F, a, off + i));
        float s = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < L; k++) s = Math.max(s, m.lane(k));
        for (; i < n; i++) s = Math.max(s, a[off + i]);
        return s;
    }

    // ---------------------------------------------------------------- g · W_U

    /** Plain reference of {@link #gradHidden}: out[r, j] = Σ_v g[r, v] W[v, j], one {@code Math.fma} chain in v order. */
    public static void gradHiddenReference(float[] g, int rows, int vocab, MemorySegment w, DType dt, int d, float[] out) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < d; j++) {
                float acc = 0;
                for (int v = 0; v < vocab; v++) acc = Math.fma(g[r * vocab + v], weight(w, dt, (long) v * d + j), acc);
                out[r * d + j] = acc;
            }
        }
    }

    static float weight(MemorySegment w, DType dt, long idx) {
        return switch (dt) {
            case F32 -> w.getAtIndex(F32, idx);
            case BF16 -> Float.intBitsToFloat((w.getAtIndex(I16, idx) & 0xffff) << 16);
            default -> throw new IllegalArgumentException("lens head weights must be F32 or BF16, got " + dt);
        };
    }

    /** A scratch buffer big enough for {@link #gradHidden} on width d. */
    public static float[] gradHiddenScratch(int d) {
        return new float[VB * d];
    }

    /**
     * out[rows, d] = g[rows, vocab] · W[vocab, d]: the product with the head as stored (not transposed), which the
     * gradient with respect to the normalised hidden state needs. W (F32 or BF16) is staged as f32 a block of
     * {@link #VB} vocabulary rows at a time; the micro-kernel keeps a 4-row × 2-vector tile of accumulators and
     * broadcasts g. Every output is the same FMA chain in v order as {@link #gradHiddenReference}: equal bits.
     */
    public static void gradHidden(float[] g, int rows, int vocab, MemorySegment w, DType dt, int d, float[] out, float[] scratch) {
        boolean bf16 = switch (dt) {
            case F32 -> false;
            case BF16 -> true;
            default -> throw new IllegalArgumentException("lens head weights must be F32 or BF16, got " + dt);
        };
        java.util.Arrays.fill(out, 0, rows * d, 0f);
        int dv2 = d - d % (2 * L), dv = d - d % L;
        for (int v0 = 0; v0 < vocab; v0 += VB) {
            int nb = Math.min(VB, vocab - v0);
            stage(w, bf16, (long) v0 * d, nb * d, scratch);
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                int g0 = r * vocab + v0, g1 = g0 + vocab, g2 = g1 + vocab, g3 = g2 + vocab;
                int o0 = r * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
                int j = 0;
                for (; j < dv2; j += 2 * L) {
                    FloatVector a00 = FloatVector.fromArray(F, out, o0 + j), a01 = FloatVector.fromArray(F, out, o0 + j + L);
                    FloatVector a10 = FloatVector.fromArray(F, out, o1 + j), a11 = FloatVector.fromArray(F, out, o1 + j + L);
                    FloatVector a20 = FloatVector.fromArray(F, out, o2 + j), a21 = FloatVector.fromArray(F, out, o2 + j + L);
                    FloatVector a30 = FloatVector.fromArray(F, out, o3 + j), a31 = FloatVector.fromArray(F, out, o3 + j + L);
                    for (int v = 0; v < nb; v++) {
                        int so = v * d + j;
                        FloatVector w0 = FloatVector.fromArray(F, scratch, so), w1 = FloatVector.fromArray(F, scratch, so + L);
                        FloatVector b = FloatVector.broadcast(F, g[g0 + v]);
                        a00 = b.fma(w0, a00); a01 = b.fma(w1, a01);
                        b = FloatVector.broadcast(F, g[g1 + v]);
                        a10 = b.fma(w0, a10); a11 = b.fma(w1, a11);
                        b = FloatVector.broadcast(F, g[g2 + v]);
                        a20 = b.fma(w0, a20); a21 = b.fma(w1, a21);
                        b = FloatVector.broadcast(F, g[g3 + v]);
                        a30 = b.fma(w0, a30); a31 = b.fma(w1, a31);
                    }
                    a00.intoArray(out, o0 + j); a01.intoArray(out, o0 + j + L);
                    a10.intoArray(out, o1 + j); a11.intoArray(out, o1 + j + L);
                    a20.intoArray(out, o2 + j); a21.intoArray(out, o2 + j + L);
                    a30.intoArray(out, o3 + j); a31.intoArray(out, o3 + j + L);
                }
                for (int q = 0; q < 4; q++) tailColumns(g, (r + q) * vocab + v0, nb, scratch, d, j, dv, out, (r + q) * d);
            }
            for (; r < rows; r++) tailColumns(g, r * vocab + v0, nb, scratch, d, 0, dv, out, r * d);
        }
    }

    /** Columns [j0, d) of one output row over one staged block: vectors up to dv, then scalars. */
    private static void tailColumns(float[] g, int go, int nb, float[] scratch, int d, int j0, int dv, float[] out, int oo) {
        int j = j0;
        for (; j < dv; j += L) {
            FloatVector a = FloatVector.fromArray(F, out, oo + j);
            for (int v = 0; v < nb; v++) a = FloatVector.broadcast(F, g[go + v]).fma(FloatVector.fromArray(F, scratch, v * d + j), a);
            a.intoArray(out, oo + j);
        }
        for (; j < d; j++) {
            float a = out[oo + j];
            for (int v = 0; v < nb; v++) a = Math.fma(g[go + v], scratch[v * d + j], a);
            out[oo + j] = a;
        }
    }

    private static void stage(MemorySegment w, boolean bf16, long from, int count, float[] ws) {
        if (!bf16) {
            MemorySegment.copy(w, F32, from * 4, ws, 0, count);
            return;
        }
        int v = count - count % L, i = 0;
        for (; i < v; i += L) {
            ShortVector s = ShortVector.fromMemorySegment(S, w, (from + i) * 2, ByteOrder.LITTLE_ENDIAN);
            IntVector iv = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
            iv.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(ws, i);
        }
        for (; i < count; i++) ws[i] = Float.intBitsToFloat((w.getAtIndex(I16, from + i) & 0xffff) << 16);
    }
}
