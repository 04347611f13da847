package cgap.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * f32 e^x for the engine's softmaxes (attention, the tuned-lens probes) and the SiLU gate: Cody-Waite reduction to
 * |r| ≤ ln2/2 and a degree-7 Taylor polynomial, relative error ≈ 2e-7, 0 below {@link #MIN_X}, valid up to
 * {@link #MAX_X}. The scalar and vector forms do the same IEEE operations (no vendor math library, which compiled code
 * may call and the interpreter does not), so they agree bit for bit in every JIT tier.
 */
public final class VecExp {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding and subtracting it rounds to an integer
    private static final float C2 = 1 / 2f, C3 = 1 / 6f, C4 = 1 / 24f, C5 = 1 / 120f, C6 = 1 / 720f, C7 = 1 / 5040f;
    /** Below it, e^x is 0 (e^−87.3 ≈ 1.2e−38, the bottom of the normal range). */
    public static final float MIN_X = -87.3f;
    /** Up to it the arithmetic holds (e^88 ≈ 1.65e38); callers clamp larger arguments. */
    public static final float MAX_X = 88f;

    private VecExp() {
    }

    /** e^x, for x ≤ {@link #MAX_X}. */
    public static float exp(float x) {
        if (x < MIN_X) return 0f;
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /** The species of {@link #exp(FloatVector)}: {@link MatMul#F}, whose width the backend's numerics name. */
    public static final VectorSpecies<Float> F = MatMul.F;

    /** e^x lane by lane for x of species {@link #F}, the arithmetic of {@link #exp(float)} (small enough for C2 to inline). */
    public static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> f = F;
        VectorMask<Float> small = x.compare(VectorOperators.LT, MIN_X);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(f, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(f, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(f, C7), FloatVector.broadcast(f, C6));
        p = p.fma(r, FloatVector.broadcast(f, C5));
        p = p.fma(r, FloatVector.broadcast(f, C4));
        p = p.fma(r, FloatVector.broadcast(f, C3));
        p = p.fma(r, FloatVector.broadcast(f, C2));
        p = p.fma(r, FloatVector.broadcast(f, 1f));
        p = p.fma(r, FloatVector.broadcast(f, 1f));
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats()).blend(0f, small);
    }

    /**
     * a[off + i] = e^(a[off + i] − shift) for i in [0, n), in place (arguments ≤ {@link #MAX_X}); returns their sum:
     * the vector lanes' running sums added in lane order, then the tail in index order.
     */
    public static double expShifted(float[] a, int off, int n, float shift) {
        VectorSpecies<Float> f = F;
        int l = f.length(), v = n - n % l, i = 0;
        FloatVector acc = FloatVector.zero(f);
        for (; i < v; i += l) {
            FloatVector e = exp(FloatVector.fromArray(f, a, off + i).sub(shift));
            e.intoArray(a, off + i);
            acc = acc.add(e);
        }
        double s = lanes(acc);
        for (; i < n; i++) {
            float e = exp(a[off + i] - shift);
            a[off + i] = e;
            s += e;
        }
        return s;
    }

    /** The lanes of v added in order into a double. */
    public static double lanes(FloatVector v) {
        double s = 0;
        for (int i = 0; i < v.length(); i++) s += v.lane(i);
        return s;
    }

    /** out[i] = silu(g[i]) · u[i] for i in [from, to), lane by lane as {@link #silu}. */
    public static void siluMul(float[] g, float[] u, float[] out, int from, int to) {
        int i = from;
        for (int l = F.length(); i + l <= to; i += l) {
            FloatVector gv = FloatVector.fromArray(F, g, i);
            FloatVector e = exp(gv.neg().min(MAX_X));
            gv.div(e.add(1f)).mul(FloatVector.fromArray(F, u, i)).intoArray(out, i);
        }
        for (; i < to; i++) out[i] = silu(g[i]) * u[i];
    }

    /** silu(x) = x / (1 + e^−x), with e^−x taken at {@link #MAX_X} when −x is larger (the result is then −0 or tiny). */
    public static float silu(float x) {
        return x / (exp(Math.min(-x, MAX_X)) + 1f);
    }
}
