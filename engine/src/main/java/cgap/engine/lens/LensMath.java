package cgap.engine.lens;

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
            for (; r + 4 <= rows; r += 4) tile4x2(y, r * d, d, d, wt, vocab, out, r * vocab, vocab, v, false);
            for (; r < rows; r++) rowColumns(y, r * d, d, wt, vocab, out, r * vocab, v, v + 2 * L, false);
        }
        for (int r = 0; r < rows; r++) rowColumns(y, r * d, d, wt, vocab, out, r * vocab, v, v1, false);
    }

    /*
     * The micro-kernels both products share: out = a · b with a [rows, n] (row stride as) and b [n, cols] (row stride
     * bs), c row stride cs; each output one FMA chain in k order, from 0 or (accumulate) from c's value. Vectors live
     * and die inside them (no vector is passed or returned, so none is boxed when they are not inlined).
     */

    /**
     * Columns [i, i + 2L) of 4 rows of c: c[c0 + q·cs + i'] (+)= Σ_{k<n} a[a0 + q·as + k] · b[k·bs + i'] for q < 4,
     * a 4-row × 2-vector tile of accumulators with a broadcast.
     */
    private static void tile4x2(float[] a, int a0, int as, int n, float[] b, int bs, float[] c, int c0, int cs, int i, boolean accumulate) {
        int x0 = a0, x1 = x0 + as, x2 = x1 + as, x3 = x2 + as;
        int o0 = c0 + i, o1 = o0 + cs, o2 = o1 + cs, o3 = o2 + cs;
        FloatVector a00, a01, a10, a11, a20, a21, a30, a31;
        if (accumulate) {
            a00 = FloatVector.fromArray(F, c, o0); a01 = FloatVector.fromArray(F, c, o0 + L);
            a10 = FloatVector.fromArray(F, c, o1); a11 = FloatVector.fromArray(F, c, o1 + L);
            a20 = FloatVector.fromArray(F, c, o2); a21 = FloatVector.fromArray(F, c, o2 + L);
            a30 = FloatVector.fromArray(F, c, o3); a31 = FloatVector.fromArray(F, c, o3 + L);
        } else {
            a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = FloatVector.zero(F);
        }
        for (int k = 0; k < n; k++) {
            int bo = k * bs + i;
            FloatVector w0 = FloatVector.fromArray(F, b, bo), w1 = FloatVector.fromArray(F, b, bo + L);
            FloatVector x = FloatVector.broadcast(F, a[x0 + k]);
            a00 = x.fma(w0, a00); a01 = x.fma(w1, a01);
            x = FloatVector.broadcast(F, a[x1 + k]);
            a10 = x.fma(w0, a10); a11 = x.fma(w1, a11);
            x = FloatVector.broadcast(F, a[x2 + k]);
            a20 = x.fma(w0, a20); a21 = x.fma(w1, a21);
            x = FloatVector.broadcast(F, a[x3 + k]);
            a30 = x.fma(w0, a30); a31 = x.fma(w1, a31);
        }
        a00.intoArray(c, o0); a01.intoArray(c, o0 + L);
        a10.intoArray(c, o1); a11.intoArray(c, o1 + L);
        a20.intoArray(c, o2); a21.intoArray(c, o2 + L);
        a30.intoArray(c, o3); a31.intoArray(c, o3 + L);
    }

    /** Columns [i0, i1) of one row: c[c0 + i] (+)= Σ_{k<n} a[a0 + k] · b[k·bs + i], single vectors, then scalars. */
    private static void rowColumns(float[] a, int a0, int n, float[] b, int bs, float[] c, int c0, int i0, int i1, boolean accumulate) {
        int i = i0;
        for (; i + L <= i1; i += L) {
            FloatVector acc = accumulate ? FloatVector.fromArray(F, c, c0 + i) : FloatVector.zero(F);
            for (int k = 0; k < n; k++) acc = FloatVector.broadcast(F, a[a0 + k]).fma(FloatVector.fromArray(F, b, k * bs + i), acc);
            acc.intoArray(c, c0 + i);
        }
        for (; i < i1; i++) {
            float acc = accumulate ? c[c0 + i] : 0;
            for (int k = 0; k < n; k++) acc = Math.fma(a[a0 + k], b[k * bs + i], acc);
            c[c0 + i] = acc;
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
        int dv2 = d - d % (2 * L);
        for (int v0 = 0; v0 < vocab; v0 += VB) {
            int nb = Math.min(VB, vocab - v0);
            stage(w, bf16, (long) v0 * d, nb * d, scratch);
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                int j = 0;
                for (; j < dv2; j += 2 * L) tile4x2(g, r * vocab + v0, vocab, nb, scratch, d, out, r * d, d, j, true);
                for (int q = 0; q < 4; q++) rowColumns(g, (r + q) * vocab + v0, nb, scratch, d, out, (r + q) * d, j, d, true);
            }
            for (; r < rows; r++) rowColumns(g, r * vocab + v0, nb, scratch, d, out, r * d, 0, d, true);
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
