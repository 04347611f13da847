package cgap.diagnostics.metrics;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loops of {@link Metrics}: every loop over the vocabulary lives here, so a faster implementation
 * (e.g. on the Vector API) can replace exactly these methods and be checked against {@link MetricsReference}
 * by the same differential test. Double precision; the vocabulary loops run on double vectors with the exp and log of
 * {@link VecMath} (deterministic: the same bits in every JIT tier), sums kept per lane and added in lane order.
 *
 * <p>Conventions shared by every method: {@code masked} is {@code null} (no mask) or has one entry per id,
 * {@code true} meaning "forced to −∞ before the softmax" (the id is skipped: probability 0). A term
 * p·(log p − log q) with p = 0 (underflow, −∞ logit, masked id) contributes exactly 0.
 */
public final class MetricKernels {

    private MetricKernels() {
    }

    /**
     * Validates a row of logits and finds the top-1 id and the top-1 and top-2 logits (no exponentials: the log-sum-exp
     * comes from {@link #expRow} with the maximum as shift). Three float-vector passes: the maximum (a NaN or +∞ at an
     * unmasked id shows there, and {@link #scanScalar} then names the first), the first id holding it, the largest of
     * the rest ({@link #maxExcept}). The same id and values as {@link #scanScalar} (up to the sign of a zero top-2 logit when +0 and −0 tie).
     *
     * @param out receives {@code out[0] = NaN} (unused), {@code out[1] = top-1 logit}, {@code out[2] = top-2 logit}
     *            (the second-largest entry counting ties, −∞ when there is none)
     * @return the top-1 id (the lowest id among ties)
     * @throws IllegalArgumentException on a NaN or +∞ logit, or when every id is masked or −∞
     */
    public static int scan(float[] row, boolean[] masked, double[] out) {
        VectorSpecies<Float> sp = FS;
        int w = sp.length(), vv = row.length - row.length % w;
        boolean[] mk = masked != null ? masked : VecMath.noMask(row.length);
        // pass 1: the maximum over the unmasked ids (NaN when one of them is NaN or +inf)
        float top = maxExcept(row, mk, -1);
        if (!(top < Float.POSITIVE_INFINITY)) return scanScalar(row, masked, out); // reports the first bad id
        if (top == Float.NEGATIVE_INFINITY) throw new IllegalArgumentException("every id of the row is masked or -inf");
        // pass 2: the first unmasked id holding the maximum
        int arg = -1;
        FloatVector t = FloatVector.broadcast(sp, top);
        for (int v = 0; v < vv && arg < 0; v += w) {
            VectorMask<Float> eq = FloatVector.fromArray(sp, row, v).compare(VectorOperators.EQ, t).andNot(VectorMask.fromArray(sp, mk, v));
            if (eq.anyTrue()) arg = v + eq.firstTrue();
        }
        for (int v = vv; v < row.length && arg < 0; v++) {
            if (!mk[v] && row[v] == top) arg = v;
        }
        // pass 3: the largest of the other unmasked ids (a tie with the maximum counts)
        float second = maxExcept(row, mk, arg);
        out[0] = Double.NaN; // log-sum-exp: see expRow
        out[1] = row[arg];
        out[2] = second;
        return arg;
    }

    /**
     * The largest row[v] over the ids v ≠ {@code except} with {@code mk[v]} false (−∞ when there is none), or NaN
     * when one of them is NaN or +∞. Four vector maxima side by side (compare and blend: a NaN never wins a compare,
     * so it is caught by a separate check), so that the loop is not one long chain of dependent maxima.
     */
    private static float maxExcept(float[] row, boolean[] mk, int except) {
        VectorSpecies<Float> sp = FS;
        int w = sp.length(), vv = row.length - row.length % w, v = 0;
        FloatVector ninf = FloatVector.broadcast(sp, Float.NEGATIVE_INFINITY), pinf = FloatVector.broadcast(sp, Float.POSITIVE_INFINITY);
        FloatVector h0 = ninf, h1 = ninf, h2 = ninf, h3 = ninf;
        VectorMask<Float> ok = sp.maskAll(true);
        // a lane index equals except − v only in the vector holding except: that lane is skipped like a masked id
        for (; v + 4 * w <= vv; v += 4 * w) {
            FloatVector x0 = FloatVector.fromArray(sp, row, v).blend(ninf, VectorMask.fromArray(sp, mk, v).or(LANE.compare(VectorOperators.EQ, (float) (except - v))));
            FloatVector x1 = FloatVector.fromArray(sp, row, v + w).blend(ninf, VectorMask.fromArray(sp, mk, v + w).or(LANE.compare(VectorOperators.EQ, (float) (except - v - w))));
            FloatVector x2 = FloatVector.fromArray(sp, row, v + 2 * w).blend(ninf, VectorMask.fromArray(sp, mk, v + 2 * w).or(LANE.compare(VectorOperators.EQ, (float) (except - v - 2 * w))));
            FloatVector x3 = FloatVector.fromArray(sp, row, v + 3 * w).blend(ninf, VectorMask.fromArray(sp, mk, v + 3 * w).or(LANE.compare(VectorOperators.EQ, (float) (except - v - 3 * w))));
            ok = ok.and(x0.compare(VectorOperators.LT, pinf)).and(x1.compare(VectorOperators.LT, pinf))
                    .and(x2.compare(VectorOperators.LT, pinf)).and(x3.compare(VectorOperators.LT, pinf));
            h0 = h0.blend(x0, x0.compare(VectorOperators.GT, h0));
            h1 = h1.blend(x1, x1.compare(VectorOperators.GT, h1));
            h2 = h2.blend(x2, x2.compare(VectorOperators.GT, h2));
            h3 = h3.blend(x3, x3.compare(VectorOperators.GT, h3));
        }
        for (; v < vv; v += w) {
            FloatVector x0 = FloatVector.fromArray(sp, row, v).blend(ninf, VectorMask.fromArray(sp, mk, v).or(LANE.compare(VectorOperators.EQ, (float) (except - v))));
            ok = ok.and(x0.compare(VectorOperators.LT, pinf));
            h0 = h0.blend(x0, x0.compare(VectorOperators.GT, h0));
        }
        if (!ok.allTrue()) return Float.NaN;
        float m = h0.max(h1).max(h2.max(h3)).reduceLanes(VectorOperators.MAX);
        for (; v < row.length; v++) {
            if (mk[v] || v == except) continue;
            float x = row[v];
            if (!(x < Float.POSITIVE_INFINITY)) return Float.NaN;
            if (x > m) m = x;
        }
        return m;
    }

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    /** Lane indices 0, 1, … of {@link #FS}, as floats (exact below 2^24). */
    private static final FloatVector LANE = FloatVector.zero(FS).addIndex(1);

    /** {@link #scan} one id at a time: the vector scan's fallback that reports the first bad logit, and its reference. */
    public static int scanScalar(float[] row, boolean[] masked, double[] out) {
        double m1 = Double.NEGATIVE_INFINITY;
        double m2 = Double.NEGATIVE_INFINITY;
        int arg = -1;
        for (int v = 0; v < row.length; v++) {
            if (masked != null && masked[v]) {
                continue;
            }
            float xf = row[v];
            if (!(xf < Float.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException("logit at id " + v + " is " + xf);
            }
            if (xf == Float.NEGATIVE_INFINITY) {
                continue;
            }
            double x = xf;
            if (x > m1) {
                m2 = m1;
                m1 = x;
                arg = v;
            } else if (x > m2) {
                m2 = x;
            }
        }
        if (arg < 0) {
            throw new IllegalArgumentException("every id of the row is masked or -inf");
        }
        out[0] = Double.NaN; // log-sum-exp: see expRow
        out[1] = m1;
        out[2] = m2;
        return arg;
    }

    /**
     * {@code q[v] = exp(row[v] − shift)} (0 for masked ids, and below e^−708), returning Σ q. With shift = the row's
     * maximum, Σ q ∈ [1, V] and log-sum-exp = shift + log Σ q. The exponential: range reduction by ln 2 here, in the
     * loop, and the degree-13 polynomial of {@link VecMath#expPoly} (FMAs only, so every JIT tier gives the same bits).
     * The Vector API's temporaries stay in registers only when the whole loop is compiled as one method: expPoly is a
     * small static method that C2 inlines into it (a call left out of line would box its argument and result).
     */
    public static double expRow(float[] row, double shift, boolean[] masked, double[] q) {
        VectorSpecies<Double> sp = VecMath.D;
        DoubleVector acc = DoubleVector.zero(sp);
        DoubleVector invLn2 = DoubleVector.broadcast(sp, VecMath.INV_LN2), magic = DoubleVector.broadcast(sp, VecMath.MAGIC);
        DoubleVector ln2hi = DoubleVector.broadcast(sp, -VecMath.LN2_HI), ln2lo = DoubleVector.broadcast(sp, -VecMath.LN2_LO);
        // Always a mask array (all false when none is given): a mask merged from two branches would be boxed.
        boolean[] mk = masked != null ? masked : VecMath.noMask(row.length);
        int w = VecMath.N, vv = row.length - row.length % w, v = 0;
        for (; v < vv; v += w) {
            DoubleVector x = VecMath.load(row, v).sub(shift);
            DoubleVector k = x.fma(invLn2, magic).sub(magic);
            DoubleVector r = k.fma(ln2lo, k.fma(ln2hi, x));
            DoubleVector p = VecMath.expPoly(r);
            VectorMask<Double> zero = x.compare(VectorOperators.LT, -708.0).or(VectorMask.fromArray(sp, mk, v));
            LongVector ki = (LongVector) k.blend(0.0, zero).convert(VectorOperators.D2L, 0);
            DoubleVector scale = ki.add(1023L).lanewise(VectorOperators.LSHL, 52L).reinterpretAsDoubles();
            DoubleVector e = p.mul(scale).blend(0.0, zero);
            e.intoArray(q, v);
            acc = acc.add(e);
        }
        double sum = VecMath.sum(acc);
        for (; v < row.length; v++) {
            double e = (masked != null && masked[v]) || row[v] - shift < -708.0 ? 0.0 : VecMath.exp(row[v] - shift);
            q[v] = e;
            sum += e;
        }
        return sum;
    }

    /** In place: {@code p[v] = q[v] · inv}; returns the entropy −Σ p·(row[v] − lse) over the ids with p &gt; 0. */
    public static double normalize(double[] q, double inv, float[] row, double lse) {
        DoubleVector h = DoubleVector.zero(VecMath.D);
        int w = VecMath.N, vv = q.length - q.length % w, v = 0;
        for (; v < vv; v += w) {
            DoubleVector p = DoubleVector.fromArray(VecMath.D, q, v).mul(inv);
            p.intoArray(q, v);
            h = h.sub(p.mul(VecMath.load(row, v).sub(lse)).blend(0.0, p.eq(0.0)));
        }
        double ent = VecMath.sum(h);
        for (; v < q.length; v++) {
            double p = q[v] * inv;
            q[v] = p;
            if (p > 0.0) ent -= p * (row[v] - lse);
        }
        return ent;
    }

    /**
     * JS(p_a, p_c) = ½ Σ [p_a·log(p_a/m) + p_c·log(p_c/m)], m = ½(p_a + p_c), over two probability rows (0 at masked
     * ids). Written with ratios to m so that identical rows give exactly 0; the logarithm's reduction is written out in
     * the loop, with the polynomial of {@link VecMath#logPoly} (inlined like {@link #expRow}'s), and applied to both
     * ratios by a two-pass inner loop, so its code exists once. Clamped at 0 from below; ≤ ln 2 up to rounding.
     */
    public static double js(double[] pa, double[] pc) {
        VectorSpecies<Double> sp = VecMath.D;
        int w = VecMath.N, vv = pa.length - pa.length % w, v = 0;
        DoubleVector ln2 = DoubleVector.broadcast(sp, VecMath.LN2), one = DoubleVector.broadcast(sp, 1.0), two = DoubleVector.broadcast(sp, 2.0);
        DoubleVector acc = DoubleVector.zero(sp);
        for (; v < vv; v += w) {
            DoubleVector a = DoubleVector.fromArray(sp, pa, v), b = DoubleVector.fromArray(sp, pc, v);
            DoubleVector m = a.add(b).mul(0.5);
            for (int side = 0; side < 2; side++) {
                DoubleVector p = side == 0 ? a : b;
                VectorMask<Double> zero = p.eq(0.0);
                LongVector bits = p.div(m).blend(1.0, zero).reinterpretAsLongs();
                LongVector ex = bits.lanewise(VectorOperators.LSHR, 52L).sub(1023L);
                DoubleVector mant = bits.and(0x000fffffffffffffL).or(0x3ff0000000000000L).reinterpretAsDoubles();
                VectorMask<Double> big = mant.compare(VectorOperators.GT, VecMath.SQRT2);
                mant = mant.blend(mant.mul(0.5), big);
                DoubleVector e = ((DoubleVector) ex.convert(VectorOperators.L2D, 0)).add(DoubleVector.zero(sp).blend(1.0, big));
                DoubleVector f = mant.sub(one);
                DoubleVector t = f.div(f.add(two));
                DoubleVector z = t.mul(t);
                DoubleVector q = VecMath.logPoly(z);
                DoubleVector log = t.add(t).fma(q, e.mul(ln2));
                acc = acc.add(p.mul(log).blend(0.0, zero));
            }
        }
        double js = VecMath.sum(acc);
        for (; v < pa.length; v++) {
            double m = 0.5 * (pa[v] + pc[v]);
            if (pa[v] > 0.0) js += pa[v] * VecMath.log(pa[v] / m);
            if (pc[v] > 0.0) js += pc[v] * VecMath.log(pc[v] / m);
        }
        return Math.max(0.0, 0.5 * js);
    }

    /**
     * The fused per-layer pass: with x = layer l and f = the final layer, their log-sum-exps and probability rows
     * (0 at masked ids): {@code out[0] = KL(p_x ‖ p_f)}, {@code out[1] = KL(p_f ‖ p_x)}, each clamped at 0 from below.
     */
    public static void klSums(float[] x, double lseX, double[] px, float[] f, double lseF, double[] pf, double[] out) {
        VectorSpecies<Double> sp = VecMath.D;
        DoubleVector kf = DoubleVector.zero(sp), kr = kf;
        int w = VecMath.N, vv = x.length - x.length % w, v = 0;
        for (; v < vv; v += w) {
            DoubleVector a = VecMath.load(x, v).sub(lseX);
            DoubleVector b = VecMath.load(f, v).sub(lseF);
            DoubleVector pa = DoubleVector.fromArray(sp, px, v), pb = DoubleVector.fromArray(sp, pf, v);
            kf = kf.add(pa.mul(a.sub(b)).blend(0.0, pa.eq(0.0)));
            kr = kr.add(pb.mul(b.sub(a)).blend(0.0, pb.eq(0.0)));
        }
        double klF = VecMath.sum(kf), klR = VecMath.sum(kr);
        for (; v < x.length; v++) {
            double a = x[v] - lseX, b = f[v] - lseF;
            if (px[v] > 0.0) klF += px[v] * (a - b);
            if (pf[v] > 0.0) klR += pf[v] * (b - a);
        }
        out[0] = Math.max(0.0, klF);
        out[1] = Math.max(0.0, klR);
    }

    /** cosine(a, b) in double; {@code NaN} when either vector has zero norm. */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors of length " + a.length + " and " + b.length);
        }
        double dot = 0.0;
        double na = 0.0;
        double nb = 0.0;
        for (int i = 0; i < a.length; i++) {
            double x = a[i];
            double y = b[i];
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        if (na == 0.0 || nb == 0.0) {
            return Double.NaN;
        }
        return dot / (Math.sqrt(na) * Math.sqrt(nb));
    }
}
