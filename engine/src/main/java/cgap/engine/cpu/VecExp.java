package cgap.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * f32 e^x on vectors, for attention's softmax and the SiLU gate: range reduction x = k·ln2 + r with |r| ≤ ln2/2, a
 * degree-7 Taylor polynomial (truncation below 6e-9 relative, under half an f32 ulp), and 2^k put into the exponent
 * bits. FMAs, multiplications and additions only, so every JIT tier gives the same bits, and {@link #exp} (the scalar
 * form used for the tails) gives the same bits as a vector lane. Accurate to a few f32 ulps of the exact value.
 */
public final class VecExp {
    private static final float INV_LN2 = 1.44269504088896341f;
    private static final float LN2_HI = 0.693145751953125f;     // ln 2 to 16 bits: k·LN2_HI is exact for |k| < 2^8
    private static final float LN2_LO = 1.42860682030941723e-6f; // ln 2 − LN2_HI
    /** 1.5·2^23: adding it rounds to an integer, and the integer sits in the low mantissa bits. */
    private static final float MAGIC = 12582912f;
    private static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;
    /** Below it, e^x is taken as 0 (e^−87 ≈ 1.6e−38, the bottom of the normal range). */
    static final float MIN_ARG = -87f;
    /** Above it, e^x is computed at MAX_ARG (e^88 ≈ 1.65e38, near the top of the range). */
    static final float MAX_ARG = 88f;

    private VecExp() {
    }

    /** Scalar e^x with exactly the arithmetic of a vector lane. */
    public static float exp(float x) {
        if (x < MIN_ARG) return 0f;
        x = Math.min(x, MAX_ARG);
        float t = Math.fma(x, INV_LN2, MAGIC);
        float k = t - MAGIC;
        float r = Math.fma(k, -LN2_HI, x);
        r = Math.fma(k, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int e = (Float.floatToRawIntBits(t) - MAGIC_BITS + 127) << 23;
        return p * Float.intBitsToFloat(e);
    }

    /**
     * x[i] = e^(x[i] − shift) for i in [0, n), in place; returns their sum: lane sums of L-wide chunks in index order,
     * the lanes added by {@link MatMul#sum1}'s tree, then the tail in index order. {@code lanes} is L floats of scratch.
     */
    public static float expShifted(float[] x, int n, float shift, float[] lanes) {
        int nv = n - n % MatMul.L;
        FloatVector s = FloatVector.zero(MatMul.F);
        FloatVector sh = FloatVector.broadcast(MatMul.F, shift);
        FloatVector nhi = FloatVector.broadcast(MatMul.F, -LN2_HI), nlo = FloatVector.broadcast(MatMul.F, -LN2_LO);
        FloatVector c5 = FloatVector.broadcast(MatMul.F, C5), c4 = FloatVector.broadcast(MatMul.F, C4), c3 = FloatVector.broadcast(MatMul.F, C3);
        FloatVector c2 = FloatVector.broadcast(MatMul.F, C2), one = FloatVector.broadcast(MatMul.F, 1f);
        for (int i = 0; i < nv; i += MatMul.L) {
            FloatVector v = FloatVector.fromArray(MatMul.F, x, i).sub(sh);
            VectorMask<Float> under = v.lt(MIN_ARG);
            v = v.min(MAX_ARG);
            FloatVector t = v.fma(INV_LN2, MAGIC);
            FloatVector k = t.sub(MAGIC);
            FloatVector r = k.fma(nhi, v);
            r = k.fma(nlo, r);
            FloatVector p = r.fma(C7, C6);
            p = p.fma(r, c5);
            p = p.fma(r, c4);
            p = p.fma(r, c3);
            p = p.fma(r, c2);
            p = p.fma(r, one);
            p = p.fma(r, one);
            IntVector e = ((IntVector) t.reinterpretAsInts()).sub(MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23);
            FloatVector y = p.mul(e.reinterpretAsFloats()).blend(0f, under);
            y.intoArray(x, i);
            s = s.add(y);
        }
        s.intoArray(lanes, 0);
        float sum = MatMul.sum1(lanes, 0);
        for (int i = nv; i < n; i++) {
            float y = exp(x[i] - shift);
            x[i] = y;
            sum += y;
        }
        return sum;
    }

    /** out[i] = silu(g[i]) · u[i] = g / (1 + e^−g) · u for i in [from, to). */
    public static void siluMul(float[] g, float[] u, float[] out, int from, int to) {
        int i = from;
        FloatVector nhi = FloatVector.broadcast(MatMul.F, -LN2_HI), nlo = FloatVector.broadcast(MatMul.F, -LN2_LO);
        FloatVector c5 = FloatVector.broadcast(MatMul.F, C5), c4 = FloatVector.broadcast(MatMul.F, C4), c3 = FloatVector.broadcast(MatMul.F, C3);
        FloatVector c2 = FloatVector.broadcast(MatMul.F, C2), one = FloatVector.broadcast(MatMul.F, 1f);
        for (; i + MatMul.L <= to; i += MatMul.L) {
            FloatVector gv = FloatVector.fromArray(MatMul.F, g, i);
            FloatVector v = gv.neg();
            VectorMask<Float> under = v.lt(MIN_ARG);
            v = v.min(MAX_ARG);
            FloatVector t = v.fma(INV_LN2, MAGIC);
            FloatVector k = t.sub(MAGIC);
            FloatVector r = k.fma(nhi, v);
            r = k.fma(nlo, r);
            FloatVector p = r.fma(C7, C6);
            p = p.fma(r, c5);
            p = p.fma(r, c4);
            p = p.fma(r, c3);
            p = p.fma(r, c2);
            p = p.fma(r, one);
            p = p.fma(r, one);
            IntVector e = ((IntVector) t.reinterpretAsInts()).sub(MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23);
            FloatVector y = p.mul(e.reinterpretAsFloats()).blend(0f, under);
            gv.div(y.add(1f)).mul(FloatVector.fromArray(MatMul.F, u, i)).intoArray(out, i);
        }
        for (; i < to; i++) out[i] = silu(g[i]) * u[i];
    }

    /** Scalar silu(x) = x / (1 + e^−x), the arithmetic of {@link #siluMul}'s lanes. */
    public static float silu(float x) {
        return x / (exp(-x) + 1f);
    }
}
