package cgap.diagnostics.metrics;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Shared pieces of the vectorised metric kernels: species, constants, the polynomials of exp and log on vectors
 * ({@link #expPoly}, {@link #logPoly}: called in the loops of {@link MetricKernels#expRow} and
 * {@link MetricKernels#js}), and scalar exp/log with exactly the arithmetic of those loops (for the vocabulary tails,
 * and as the reference of their tests). FMAs, multiplications and additions only: the same bits in every JIT tier,
 * unlike a vendor math library that compiled code may call and the interpreter does not.
 */
final class VecMath {
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats per double vector: logits are widened from a half-width float vector. */
    static final VectorSpecies<Float> FH = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
    static final int N = D.length();

    static final double INV_LN2 = 1.4426950408889634;
    static final double LN2_HI = 0.6931471803691238;     // ln 2 to 32 bits
    static final double LN2_LO = 1.9082149292705877e-10; // ln 2 − LN2_HI
    static final double LN2 = Math.log(2.0);
    static final double MAGIC = 6755399441055744.0;      // 1.5 · 2^52: adding it rounds to an integer
    static final double SQRT2 = Math.sqrt(2.0);
    /** 1/i! for i = 0 … 13: e^r on |r| ≤ ln2/2 to below 1e-17. */
    static final double[] EXP_C = new double[14];
    /** 1/(2i+1) for i = 0 … 11: log((1+t)/(1−t)) = 2t Σ t^2i/(2i+1) on |t| ≤ 0.1716. */
    static final double[] LOG_C = new double[12];

    static {
        double f = 1;
        for (int i = 0; i < EXP_C.length; i++) {
            if (i > 0) f *= i;
            EXP_C[i] = 1.0 / f;
        }
        for (int i = 0; i < LOG_C.length; i++) LOG_C[i] = 1.0 / (2 * i + 1);
    }

    private static volatile boolean[] noMask = new boolean[0];

    private VecMath() {
    }

    /** A shared all-false mask of at least n entries (never written). */
    static boolean[] noMask(int n) {
        boolean[] m = noMask;
        if (m.length < n) noMask = m = new boolean[n];
        return m;
    }

    /** Widened logits x[v .. v+N). */
    static DoubleVector load(float[] x, int v) {
        return (DoubleVector) FloatVector.fromArray(FH, x, v).convertShape(VectorOperators.F2D, D, 0);
    }

    /** Sum of the lanes in lane order (deterministic). */
    static double sum(DoubleVector v) {
        double[] a = v.toArray();
        double s = 0;
        for (double x : a) s += x;
        return s;
    }

    /**
     * The polynomial of the exponential, lane by lane: e^r for |r| ≤ ln2/2, Horner's rule from {@code EXP_C[13]} down
     * (the FMAs of {@link #exp}, in its order). Small enough for C2 to inline into the calling loop, where the vectors
     * stay in registers: 217 bytes of bytecode (logPoly 185), under C2's FreqInlineSize of 325 for hot calls.
     */
    static DoubleVector expPoly(DoubleVector r) {
        double[] c = EXP_C;
        DoubleVector p = DoubleVector.broadcast(D, c[13]);
        p = p.fma(r, DoubleVector.broadcast(D, c[12]));
        p = p.fma(r, DoubleVector.broadcast(D, c[11]));
        p = p.fma(r, DoubleVector.broadcast(D, c[10]));
        p = p.fma(r, DoubleVector.broadcast(D, c[9]));
        p = p.fma(r, DoubleVector.broadcast(D, c[8]));
        p = p.fma(r, DoubleVector.broadcast(D, c[7]));
        p = p.fma(r, DoubleVector.broadcast(D, c[6]));
        p = p.fma(r, DoubleVector.broadcast(D, c[5]));
        p = p.fma(r, DoubleVector.broadcast(D, c[4]));
        p = p.fma(r, DoubleVector.broadcast(D, c[3]));
        p = p.fma(r, DoubleVector.broadcast(D, c[2]));
        p = p.fma(r, DoubleVector.broadcast(D, c[1]));
        return p.fma(r, DoubleVector.broadcast(D, c[0]));
    }

    /**
     * The polynomial of the logarithm, lane by lane: Σ z^i/(2i+1) for z = t² ≤ 0.0295, Horner's rule from
     * {@code LOG_C[11]} down (the FMAs of {@link #log}, in its order); log = 2t times it plus e·ln 2.
     */
    static DoubleVector logPoly(DoubleVector z) {
        double[] c = LOG_C;
        DoubleVector q = DoubleVector.broadcast(D, c[11]);
        q = q.fma(z, DoubleVector.broadcast(D, c[10]));
        q = q.fma(z, DoubleVector.broadcast(D, c[9]));
        q = q.fma(z, DoubleVector.broadcast(D, c[8]));
        q = q.fma(z, DoubleVector.broadcast(D, c[7]));
        q = q.fma(z, DoubleVector.broadcast(D, c[6]));
        q = q.fma(z, DoubleVector.broadcast(D, c[5]));
        q = q.fma(z, DoubleVector.broadcast(D, c[4]));
        q = q.fma(z, DoubleVector.broadcast(D, c[3]));
        q = q.fma(z, DoubleVector.broadcast(D, c[2]));
        q = q.fma(z, DoubleVector.broadcast(D, c[1]));
        return q.fma(z, DoubleVector.broadcast(D, c[0]));
    }

    /** Scalar e^x, the same arithmetic as the vector loop of {@link MetricKernels#expRow}, for x ≥ −708. */
    static double exp(double x) {
        double k = Math.fma(x, INV_LN2, MAGIC) - MAGIC;
        double r = Math.fma(k, -LN2_LO, Math.fma(k, -LN2_HI, x));
        double p = EXP_C[13];
        for (int i = 12; i >= 0; i--) p = Math.fma(p, r, EXP_C[i]);
        return p * Double.longBitsToDouble(((long) k + 1023L) << 52);
    }

    /** Scalar log of a positive normal double, the same arithmetic as {@link MetricKernels#js}'s loop. */
    static double log(double s) {
        long bits = Double.doubleToRawLongBits(s);
        long ex = (bits >>> 52) - 1023;
        double m = Double.longBitsToDouble((bits & 0x000fffffffffffffL) | 0x3ff0000000000000L);
        double e = ex;
        if (m > SQRT2) {
            m *= 0.5;
            e += 1;
        }
        double f = m - 1.0, t = f / (f + 2.0), z = t * t;
        double p = LOG_C[11];
        for (int i = 10; i >= 0; i--) p = Math.fma(p, z, LOG_C[i]);
        return Math.fma(t + t, p, e * LN2);
    }
}
