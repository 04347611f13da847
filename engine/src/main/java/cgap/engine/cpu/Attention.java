package cgap.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal attention of the CPU backend over its KV cache: keys stored transposed ({@link CpuKvCache#kT}, one row of
 * positions per key dimension), values by position ({@link CpuKvCache#v}).
 *
 * <p>Every query (a row at position p, a head h reading KV head h / group) is computed by one fixed procedure, the
 * one {@link #reference} writes out with scalar loops:
 * <ol>
 *   <li>for each key j in [lo, p] (lo = p − window + 1 with a sliding window, else 0), the dot product q·k_j as one
 *       fused multiply-add chain over the head dimensions in order, from +0;</li>
 *   <li>the logit: times the scale, then soft-capped when softcap &gt; 0 ({@link #score});</li>
 *   <li>the softmax: the maximum logit, {@link VecExp#expShifted} over the n = p − lo + 1 logits, each times the
 *       reciprocal of their sum;</li>
 *   <li>each output dimension as one fused multiply-add chain over the keys in order, from +0.</li>
 * </ol>
 * {@link #attend} computes the same chains, several at a time: in step 1 a vector lane is a key (queries share each
 * row of transposed keys they load), in step 4 a lane is a dimension (queries share each row of values). Lanes are
 * exact fused multiply-adds, so both give the same bits, and a query's result does not depend on which other queries
 * are in the call or which block it shares: batched and one-at-a-time decoding agree bit for bit.
 *
 * <p>Work is cut in blocks of up to {@link #Q} queries on one KV head (the heads of a group, or consecutive rows
 * when groups are smaller), in order: rows outer, heads inner. A block computes logits over the union of its queries'
 * key ranges (the extra ones are discarded) and accumulates values in three phases: the keys only some of its
 * queries see before the common range, one query at a time; the common range, all at once; the keys after it, one
 * query at a time. Each query's chains therefore run over exactly its own keys, in order.
 */
final class Attention {
    private Attention() {
    }

    private static final VectorSpecies<Float> F = MatMul.F;
    private static final int L = MatMul.L;

    /** Queries per block. */
    static final int Q = 4;

    /** An attention logit from its dot product: scaled, then soft-capped (Gemma 2) when softcap &gt; 0. */
    static float score(float dot, float fscale, double softcap) {
        float s = dot * fscale;
        return softcap > 0 ? (float) (softcap * Math.tanh(s / softcap)) : s;
    }

    /** The first key a query at position p sees. */
    static int lo(int p, int window) {
        return window > 0 ? Math.max(0, p - window + 1) : 0;
    }

    /**
     * The plain procedure (see the class comment), one query at a time with scalar loops: the reference that
     * {@link #attend} must equal bit for bit. Arguments as {@link #attend}.
     */
    static void reference(float[] qs, int qCols, int row0, int[] positions, int heads, int kvHeads, int headDim,
                          float[] kT, float[] vs, int cap, int kvDim, float fscale, double softcap, int window,
                          float[] os, int oCols) {
        int group = heads / kvHeads;
        for (int r = 0; r < positions.length; r++) {
            for (int h = 0; h < heads; h++) {
                int p = positions[r], lo = lo(p, window), n = p - lo + 1, kc = (h / group) * headDim;
                int qo = (row0 + r) * qCols + h * headDim, oo = (row0 + r) * oCols + h * headDim;
                float[] s = new float[n];
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    float dot = 0f;
                    for (int d = 0; d < headDim; d++) dot = Math.fma(qs[qo + d], kT[(kc + d) * cap + lo + j], dot);
                    s[j] = score(dot, fscale, softcap);
                    max = Math.max(max, s[j]);
                }
                float inv = (float) (1.0 / VecExp.expShifted(s, 0, n, max));
                for (int j = 0; j < n; j++) s[j] *= inv;
                for (int d = 0; d < headDim; d++) {
                    float o = 0f;
                    for (int j = 0; j < n; j++) o = Math.fma(s[j], vs[(lo + j) * kvDim + kc + d], o);
                    os[oo + d] = o;
                }
            }
        }
    }

    /** The calling thread's logit rows: Q rows of at least the given length. */
    private static final ThreadLocal<float[][]> SCORES = ThreadLocal.withInitial(() -> new float[Q][0]);

    /**
     * Attention of rows [row0, row0 + positions.length) of q (qCols wide, heads × headDim used) at the given positions
     * into the same rows of out (oCols wide), over keys kT ([kvDim][cap]) and values vs ([cap][kvDim]).
     */
    static void attend(Parallel par, float[] qs, int qCols, int row0, int[] positions, int heads, int kvHeads, int headDim,
                       float[] kT, float[] vs, int cap, int kvDim, float fscale, double softcap, int window,
                       float[] os, int oCols) {
        int group = heads / kvHeads, perHead = positions.length * group, blocks = (perHead + Q - 1) / Q;
        par.forRange(kvHeads * blocks, 1, (u0, u1) -> {
            int[] rs = new int[Q], hs = new int[Q], los = new int[Q], ps = new int[Q], qo = new int[Q], oo = new int[Q];
            for (int u = u0; u < u1; u++) {
                int g = u / blocks, first = (u % blocks) * Q, nq = Math.min(Q, perHead - first);
                int minLo = Integer.MAX_VALUE, maxLo = 0, minP = Integer.MAX_VALUE, maxP = 0;
                for (int i = 0; i < nq; i++) {
                    int pair = first + i;
                    rs[i] = pair / group;
                    hs[i] = g * group + pair % group;
                    ps[i] = positions[rs[i]];
                    los[i] = lo(ps[i], window);
                    minLo = Math.min(minLo, los[i]);
                    maxLo = Math.max(maxLo, los[i]);
                    minP = Math.min(minP, ps[i]);
                    maxP = Math.max(maxP, ps[i]);
                }
                int span = maxP - minLo + 1, kc = g * headDim;
                float[][] sc = SCORES.get();
                if (sc[0].length < span + L) { // + L: the last vector of logits may run past the span
                    int len = Math.max(span + L, 2 * sc[0].length);
                    for (int i = 0; i < Q; i++) sc[i] = new float[len];
                }
                for (int i = 0; i < Q; i++) {
                    int s = Math.min(i, nq - 1); // a short block repeats its last query; the copies are discarded
                    qo[i] = (row0 + rs[s]) * qCols + hs[s] * headDim;
                }
                // 1-2: logits over the union [minLo, maxP]
                // a last, partial vector of keys is computed whole where the rows of kT have room for it (lanes past
                // the span are keys no query of the block sees: their logits are never read)
                int vspan = minLo + (span + L - 1) / L * L <= cap ? (span + L - 1) / L * L : span;
                if (nq == 1) dots1(qs, qo[0], kT, kc, cap, headDim, minLo, vspan, span, sc[0]);
                else dots4(qs, qo, kT, kc, cap, headDim, minLo, vspan, span, sc);
                // 3: each query's softmax over its own keys, in place (its weights at [lo − minLo, p − minLo])
                for (int i = 0; i < nq; i++) {
                    int off = los[i] - minLo, n = ps[i] - los[i] + 1;
                    float max = logits(sc[i], off, n, fscale, softcap);
                    float inv = (float) (1.0 / VecExp.expShifted(sc[i], off, n, max));
                    scale(sc[i], off, n, inv);
                }
                // 4: outputs, accumulated in place from +0
                for (int i = 0; i < nq; i++) oo[i] = (row0 + rs[i]) * oCols + hs[i] * headDim;
                for (int i = 0; i < nq; i++) java.util.Arrays.fill(os, oo[i], oo[i] + headDim, 0f);
                int b0 = maxLo, b1 = minP + 1; // the keys every query of the block sees: [b0, b1)
                if (nq == 1 || b0 >= b1) {
                    for (int i = 0; i < nq; i++) values1(sc[i], los[i] - minLo, los[i], ps[i] + 1, vs, kvDim, kc, headDim, os, oo[i]);
                    continue;
                }
                for (int i = 0; i < nq; i++) values1(sc[i], los[i] - minLo, los[i], b0, vs, kvDim, kc, headDim, os, oo[i]);
                if (nq == Q) values4(sc, minLo, b0, b1, vs, kvDim, kc, headDim, os, oo);
                else for (int i = 0; i < nq; i++) values1(sc[i], b0 - minLo, b0, b1, vs, kvDim, kc, headDim, os, oo[i]);
                for (int i = 0; i < nq; i++) values1(sc[i], b1 - minLo, b1, ps[i] + 1, vs, kvDim, kc, headDim, os, oo[i]);
            }
        });
    }

    /**
     * Raw dot products → logits (in place, {@link #score}) over s[off, off + n), and their maximum.
     */
    private static float logits(float[] s, int off, int n, float fscale, double softcap) {
        int i = 0;
        float max = Float.NEGATIVE_INFINITY;
        if (softcap <= 0) {
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i + L <= n; i += L) {
                FloatVector v = FloatVector.fromArray(F, s, off + i).mul(fscale);
                v.intoArray(s, off + i);
                m = m.lanewise(VectorOperators.MAX, v);
            }
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            s[off + i] = score(s[off + i], fscale, softcap);
            max = Math.max(max, s[off + i]);
        }
        return max;
    }

    private static void scale(float[] s, int off, int n, float inv) {
        int i = 0;
        for (; i + L <= n; i += L) FloatVector.fromArray(F, s, off + i).mul(inv).intoArray(s, off + i);
        for (; i < n; i++) s[off + i] *= inv;
    }

    /**
     * Dot products of four queries (q at qs[qo[i]..]) with keys [j0, j0 + span) of KV dimensions [kc, kc + headDim)
     * of kT, into sc[i][0, span): four queries by four vectors of keys at a time, then one vector at a time up to
     * vspan (≥ span when the last vector may run past it), then single keys.
     */
    private static void dots4(float[] qs, int[] qo, float[] kT, int kc, int cap, int headDim, int j0, int vspan, int span, float[][] sc) {
        int q0 = qo[0], q1 = qo[1], q2 = qo[2], q3 = qo[3];
        float[] s0 = sc[0], s1 = sc[1], s2 = sc[2], s3 = sc[3];
        int j = 0;
        for (; j + 4 * L <= span; j += 4 * L) {
            FloatVector z = FloatVector.zero(F);
            FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
            FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
            int ko = kc * cap + j0 + j;
            for (int d = 0; d < headDim; d++, ko += cap) {
                FloatVector k0 = FloatVector.fromArray(F, kT, ko), k1 = FloatVector.fromArray(F, kT, ko + L);
                FloatVector k2 = FloatVector.fromArray(F, kT, ko + 2 * L), k3 = FloatVector.fromArray(F, kT, ko + 3 * L);
                FloatVector b = FloatVector.broadcast(F, qs[q0 + d]);
                a00 = b.fma(k0, a00); a01 = b.fma(k1, a01); a02 = b.fma(k2, a02); a03 = b.fma(k3, a03);
                b = FloatVector.broadcast(F, qs[q1 + d]);
                a10 = b.fma(k0, a10); a11 = b.fma(k1, a11); a12 = b.fma(k2, a12); a13 = b.fma(k3, a13);
                b = FloatVector.broadcast(F, qs[q2 + d]);
                a20 = b.fma(k0, a20); a21 = b.fma(k1, a21); a22 = b.fma(k2, a22); a23 = b.fma(k3, a23);
                b = FloatVector.broadcast(F, qs[q3 + d]);
                a30 = b.fma(k0, a30); a31 = b.fma(k1, a31); a32 = b.fma(k2, a32); a33 = b.fma(k3, a33);
            }
            a00.intoArray(s0, j); a01.intoArray(s0, j + L); a02.intoArray(s0, j + 2 * L); a03.intoArray(s0, j + 3 * L);
            a10.intoArray(s1, j); a11.intoArray(s1, j + L); a12.intoArray(s1, j + 2 * L); a13.intoArray(s1, j + 3 * L);
            a20.intoArray(s2, j); a21.intoArray(s2, j + L); a22.intoArray(s2, j + 2 * L); a23.intoArray(s2, j + 3 * L);
            a30.intoArray(s3, j); a31.intoArray(s3, j + L); a32.intoArray(s3, j + 2 * L); a33.intoArray(s3, j + 3 * L);
        }
        for (; j + L <= vspan; j += L) {
            FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
            int ko = kc * cap + j0 + j;
            for (int d = 0; d < headDim; d++, ko += cap) {
                FloatVector k0 = FloatVector.fromArray(F, kT, ko);
                a0 = FloatVector.broadcast(F, qs[q0 + d]).fma(k0, a0);
                a1 = FloatVector.broadcast(F, qs[q1 + d]).fma(k0, a1);
                a2 = FloatVector.broadcast(F, qs[q2 + d]).fma(k0, a2);
                a3 = FloatVector.broadcast(F, qs[q3 + d]).fma(k0, a3);
            }
            a0.intoArray(s0, j); a1.intoArray(s1, j); a2.intoArray(s2, j); a3.intoArray(s3, j);
        }
        for (; j < span; j++) {
            float d0 = 0f, d1 = 0f, d2 = 0f, d3 = 0f;
            int ko = kc * cap + j0 + j;
            for (int d = 0; d < headDim; d++, ko += cap) {
                float k = kT[ko];
                d0 = Math.fma(qs[q0 + d], k, d0);
                d1 = Math.fma(qs[q1 + d], k, d1);
                d2 = Math.fma(qs[q2 + d], k, d2);
                d3 = Math.fma(qs[q3 + d], k, d3);
            }
            s0[j] = d0; s1[j] = d1; s2[j] = d2; s3[j] = d3;
        }
    }

    /** {@link #dots4} for one query (q at qs[qo..]), into s[0, span). */
    private static void dots1(float[] qs, int qo, float[] kT, int kc, int cap, int headDim, int j0, int vspan, int span, float[] s) {
        int j = 0;
        for (; j + 4 * L <= span; j += 4 * L) {
            FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
            int ko = kc * cap + j0 + j;
            for (int d = 0; d < headDim; d++, ko += cap) {
                FloatVector b = FloatVector.broadcast(F, qs[qo + d]);
                a0 = b.fma(FloatVector.fromArray(F, kT, ko), a0);
                a1 = b.fma(FloatVector.fromArray(F, kT, ko + L), a1);
                a2 = b.fma(FloatVector.fromArray(F, kT, ko + 2 * L), a2);
                a3 = b.fma(FloatVector.fromArray(F, kT, ko + 3 * L), a3);
            }
            a0.intoArray(s, j); a1.intoArray(s, j + L); a2.intoArray(s, j + 2 * L); a3.intoArray(s, j + 3 * L);
        }
        for (; j + L <= vspan; j += L) {
            FloatVector a0 = FloatVector.zero(F);
            int ko = kc * cap + j0 + j;
            for (int d = 0; d < headDim; d++, ko += cap) a0 = FloatVector.broadcast(F, qs[qo + d]).fma(FloatVector.fromArray(F, kT, ko), a0);
            a0.intoArray(s, j);
        }
        for (; j < span; j++) {
            float d0 = 0f;
            int ko = kc * cap + j0 + j;
            for (int d = 0; d < headDim; d++, ko += cap) d0 = Math.fma(qs[qo + d], kT[ko], d0);
            s[j] = d0;
        }
    }

    /**
     * Adds Σ p_j v_j over keys [a, b) to one query's output os[oo, oo + headDim), its weights at p[off + (j − a)]:
     * per dimension, the chain continues in key order. Four vectors of dimensions at a time, then one, then single
     * dimensions.
     */
    private static void values1(float[] p, int off, int a, int b, float[] vs, int kvDim, int kc, int headDim, float[] os, int oo) {
        if (a >= b) return;
        int d = 0, base = off - a;
        for (; d + 4 * L <= headDim; d += 4 * L) {
            FloatVector o0 = FloatVector.fromArray(F, os, oo + d), o1 = FloatVector.fromArray(F, os, oo + d + L);
            FloatVector o2 = FloatVector.fromArray(F, os, oo + d + 2 * L), o3 = FloatVector.fromArray(F, os, oo + d + 3 * L);
            for (int j = a; j < b; j++) {
                FloatVector w = FloatVector.broadcast(F, p[base + j]);
                int vo = j * kvDim + kc + d;
                o0 = w.fma(FloatVector.fromArray(F, vs, vo), o0);
                o1 = w.fma(FloatVector.fromArray(F, vs, vo + L), o1);
                o2 = w.fma(FloatVector.fromArray(F, vs, vo + 2 * L), o2);
                o3 = w.fma(FloatVector.fromArray(F, vs, vo + 3 * L), o3);
            }
            o0.intoArray(os, oo + d); o1.intoArray(os, oo + d + L); o2.intoArray(os, oo + d + 2 * L); o3.intoArray(os, oo + d + 3 * L);
        }
        for (; d + L <= headDim; d += L) {
            FloatVector o0 = FloatVector.fromArray(F, os, oo + d);
            for (int j = a; j < b; j++) o0 = FloatVector.broadcast(F, p[base + j]).fma(FloatVector.fromArray(F, vs, j * kvDim + kc + d), o0);
            o0.intoArray(os, oo + d);
        }
        for (; d < headDim; d++) {
            float o = os[oo + d];
            for (int j = a; j < b; j++) o = Math.fma(p[base + j], vs[j * kvDim + kc + d], o);
            os[oo + d] = o;
        }
    }

    /**
     * {@link #values1} for four queries at once over keys [a, b), each query's weights at p[i][j − j0] (the block's
     * logit rows, which start at key j0), outputs at os[oo[i] ..] (four distinct rows): the four share every row of
     * values they load.
     */
    private static void values4(float[][] p, int j0, int a, int b, float[] vs, int kvDim, int kc, int headDim, float[] os, int[] oo) {
        float[] p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3];
        int d = 0;
        for (; d + 4 * L <= headDim; d += 4 * L) {
            int e0 = oo[0] + d, e1 = oo[1] + d, e2 = oo[2] + d, e3 = oo[3] + d;
            FloatVector c00 = FloatVector.fromArray(F, os, e0), c01 = FloatVector.fromArray(F, os, e0 + L);
            FloatVector c02 = FloatVector.fromArray(F, os, e0 + 2 * L), c03 = FloatVector.fromArray(F, os, e0 + 3 * L);
            FloatVector c10 = FloatVector.fromArray(F, os, e1), c11 = FloatVector.fromArray(F, os, e1 + L);
            FloatVector c12 = FloatVector.fromArray(F, os, e1 + 2 * L), c13 = FloatVector.fromArray(F, os, e1 + 3 * L);
            FloatVector c20 = FloatVector.fromArray(F, os, e2), c21 = FloatVector.fromArray(F, os, e2 + L);
            FloatVector c22 = FloatVector.fromArray(F, os, e2 + 2 * L), c23 = FloatVector.fromArray(F, os, e2 + 3 * L);
            FloatVector c30 = FloatVector.fromArray(F, os, e3), c31 = FloatVector.fromArray(F, os, e3 + L);
            FloatVector c32 = FloatVector.fromArray(F, os, e3 + 2 * L), c33 = FloatVector.fromArray(F, os, e3 + 3 * L);
            for (int j = a; j < b; j++) {
                int vo = j * kvDim + kc + d, pj = j - j0;
                FloatVector v0 = FloatVector.fromArray(F, vs, vo), v1 = FloatVector.fromArray(F, vs, vo + L);
                FloatVector v2 = FloatVector.fromArray(F, vs, vo + 2 * L), v3 = FloatVector.fromArray(F, vs, vo + 3 * L);
                FloatVector w = FloatVector.broadcast(F, p0[pj]);
                c00 = w.fma(v0, c00); c01 = w.fma(v1, c01); c02 = w.fma(v2, c02); c03 = w.fma(v3, c03);
                w = FloatVector.broadcast(F, p1[pj]);
                c10 = w.fma(v0, c10); c11 = w.fma(v1, c11); c12 = w.fma(v2, c12); c13 = w.fma(v3, c13);
                w = FloatVector.broadcast(F, p2[pj]);
                c20 = w.fma(v0, c20); c21 = w.fma(v1, c21); c22 = w.fma(v2, c22); c23 = w.fma(v3, c23);
                w = FloatVector.broadcast(F, p3[pj]);
                c30 = w.fma(v0, c30); c31 = w.fma(v1, c31); c32 = w.fma(v2, c32); c33 = w.fma(v3, c33);
            }
            c00.intoArray(os, e0); c01.intoArray(os, e0 + L); c02.intoArray(os, e0 + 2 * L); c03.intoArray(os, e0 + 3 * L);
            c10.intoArray(os, e1); c11.intoArray(os, e1 + L); c12.intoArray(os, e1 + 2 * L); c13.intoArray(os, e1 + 3 * L);
            c20.intoArray(os, e2); c21.intoArray(os, e2 + L); c22.intoArray(os, e2 + 2 * L); c23.intoArray(os, e2 + 3 * L);
            c30.intoArray(os, e3); c31.intoArray(os, e3 + L); c32.intoArray(os, e3 + 2 * L); c33.intoArray(os, e3 + 3 * L);
        }
        // the dimensions left (head_dim not a multiple of 4L): one query at a time
        if (d < headDim) for (int i = 0; i < Q; i++) values1(p[i], a - j0, a, b, vs, kvDim, kc + d, headDim - d, os, oo[i] + d);
    }
}
