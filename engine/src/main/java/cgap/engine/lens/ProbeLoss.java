package cgap.engine.lens;

import cgap.engine.cpu.Parallel;
import cgap.engine.cpu.VecExp;
import jdk.incubator.vector.FloatVector;

import static cgap.engine.lens.LensMath.F;
import static cgap.engine.lens.LensMath.L;

/**
 * The training loss of one probe on a chunk of positions and its analytic gradient, in f32 with the sums that
 * matter in double. For position r with target distribution p (the model's final distribution) and probe logits
 * s = softcap(W_U · norm_f(T(h))):
 * <pre>
 *   KL(p ‖ q) = Σ_v p_v (s_f,v − s_v) + (lse(s) − lse(s_f)) Σ_v p_v,   q = softmax(s)
 *   ∂KL/∂s    = q − p                       (times 1 − (s/c)² through a soft-cap c)
 *   ∂KL/∂y    = (∂KL/∂z) · W_U              (y = u ⊙ g the normalised hidden, z the pre-cap logits)
 *   ∂KL/∂t    = (gu − u · mean(gu ⊙ u)) / rms(t),   gu = ∂KL/∂y ⊙ g,  u = t / rms(t)
 *   ∂KL/∂W    = Σ_r ∂KL/∂t_r h_rᵀ,  ∂KL/∂b = Σ_r ∂KL/∂t_r   (the same for A in h + A h + b)
 * </pre>
 * One instance is a workspace of at most [maxRows × vocab] logits for one thread; a {@link Target} is shared.
 */
public final class ProbeLoss {
    /** The model's final distribution on a chunk of positions: logits s_f, probabilities p, lse(s_f), Σ p. */
    public record Target(int rows, float[] logits, float[] p, double[] lse, double[] psum) {
    }

    private final LensHead head;
    private final int maxRows;
    private final float[] t, y, inv, logits, capped, gy, gt, scratch;

    public ProbeLoss(LensHead head, int maxRows) {
        this.head = head;
        this.maxRows = maxRows;
        int d = head.d, v = head.vocab;
        t = new float[maxRows * d];
        y = new float[maxRows * d];
        inv = new float[maxRows];
        logits = new float[Math.multiplyExact(maxRows, v)];
        capped = head.softcap > 0 ? new float[maxRows * v] : null;
        gy = new float[maxRows * d];
        gt = new float[maxRows * d];
        scratch = LensMath.gradHiddenScratch(d);
    }

    /** The target distribution of final-block residual rows [rows, hidden], its vocabulary split over par. */
    public static Target target(LensHead head, float[] finalResid, int rows, Parallel par) {
        int d = head.d, v = head.vocab;
        float[] y = new float[rows * d], inv = new float[rows];
        head.norm(finalResid, rows, y, inv);
        float[] logits = new float[rows * v];
        head.project(y, rows, logits, par);
        float[] p = logits.clone();
        double[] lse = new double[rows], psum = new double[rows];
        Parallel.RangeBody body = (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * v;
                float m = LensMath.max(p, o, v);
                double sum = VecExp.expShifted(p, o, v, m);
                lse[r] = m + Math.log(sum);
                float scale = (float) (1.0 / sum);
                double ps = 0;
                for (int i = 0; i < v; i++) {
                    p[o + i] *= scale;
                    ps += p[o + i];
                }
                psum[r] = ps;
            }
        };
        if (par == null) body.run(0, rows);
        else par.forRange(rows, 1, body);
        return new Target(rows, logits, p, lse, psum);
    }

    /**
     * Σ over the target's rows of KL(p ‖ q_probe) for residual rows h [rows, hidden] read through {@code lens}'s
     * translator of {@code layer} (or untranslated, the raw lens, when lens is null or has no probe there).
     * When gw is not null, adds ∂(Σ KL)/∂W (or A) into gw [d*d] and ∂/∂b into gb [d].
     */
    public double lossAndGrad(TunedLens lens, int layer, float[] h, Target target, float[] gw, float[] gb) {
        int rows = target.rows(), d = head.d, v = head.vocab;
        if (rows > maxRows) throw new IllegalArgumentException("chunk of " + rows + " rows, workspace holds " + maxRows);
        boolean probe = lens != null && lens.hasProbe(layer);
        if (probe) LensMath.affine(h, rows, d, lens.weight(layer), lens.bias(layer), lens.parameterisation() == TunedLens.Parameterisation.RESIDUAL, t);
        else System.arraycopy(h, 0, t, 0, rows * d);
        head.norm(t, rows, y, inv);
        head.project(y, rows, logits, null);
        boolean grad = gw != null;
        if (grad && !probe) throw new IllegalArgumentException("layer " + layer + " has no probe to differentiate");
        double c = head.softcap;
        if (grad && capped != null) System.arraycopy(logits, 0, capped, 0, rows * v);
        double total = 0;
        float[] p = target.p(), sf = target.logits();
        int vv = v - v % L;
        for (int r = 0; r < rows; r++) {
            int o = r * v;
            // Σ p (s_f − s), lanes in order
            FloatVector acc = FloatVector.zero(F);
            int i = 0;
            for (; i < vv; i += L) {
                FloatVector diff = FloatVector.fromArray(F, sf, o + i).sub(FloatVector.fromArray(F, logits, o + i));
                acc = FloatVector.fromArray(F, p, o + i).fma(diff, acc);
            }
            double cross = VecExp.lanes(acc);
            for (; i < v; i++) cross += p[o + i] * (sf[o + i] - logits[o + i]);
            float m = LensMath.max(logits, o, v);
            double sum = VecExp.expShifted(logits, o, v, m);
            double lse = m + Math.log(sum);
            total += cross + (lse - target.lse()[r]) * target.psum()[r];
            if (!grad) continue;
            float scale = (float) (1.0 / sum);
            for (i = 0; i < vv; i += L) {
                FloatVector q = FloatVector.fromArray(F, logits, o + i).mul(scale);
                q.sub(FloatVector.fromArray(F, p, o + i)).intoArray(logits, o + i);
            }
            for (; i < v; i++) logits[o + i] = logits[o + i] * scale - p[o + i];
            if (capped != null) {
                float ic = (float) (1.0 / c);
                for (i = 0; i < vv; i += L) {
                    FloatVector sc = FloatVector.fromArray(F, capped, o + i).mul(ic);
                    FloatVector f = sc.mul(sc).neg().add(1f);
                    FloatVector.fromArray(F, logits, o + i).mul(f).intoArray(logits, o + i);
                }
                for (; i < v; i++) {
                    float sc = capped[o + i] * ic;
                    logits[o + i] *= 1f - sc * sc;
                }
            }
        }
        if (!grad) return total;
        LensMath.gradHidden(logits, rows, v, head.head, head.dtype, d, gy, scratch);
        float[] g = head.gain;
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            float iv = inv[r];
            double dot = 0;
            for (int j = 0; j < d; j++) dot += (double) (gy[o + j] * g[j]) * (t[o + j] * iv);
            float mean = (float) (dot / d);
            for (int j = 0; j < d; j++) gt[o + j] = (gy[o + j] * g[j] - (t[o + j] * iv) * mean) * iv;
        }
        LensMath.accumulateOuter(gt, h, rows, d, gw, gb);
        return total;
    }
}
