package cgap.engine.lens;

import cgap.engine.Model;
import cgap.engine.backend.Weight;
import cgap.engine.cpu.CpuWeight;
import cgap.engine.cpu.Parallel;
import cgap.engine.model.ModelConfig;
import cgap.engine.safetensors.DType;
import cgap.engine.safetensors.TensorInfo;

import java.lang.foreign.MemorySegment;

/**
 * The model's final norm, head and final soft-capping as the lens trainer uses them, on the CPU: the same RMSNorm
 * rounding and soft-cap as {@link Model#unembed(float[], int)}, the product with the head by {@link LensMath#logits}
 * on a transposed f32 copy of the head (held once, vocab × hidden floats), so the logits agree with Model.unembed up
 * to f32 summation order.
 *
 * <p>Only RMSNorm heads exist in the families the engine supports (Llama, Mistral, Qwen 2/3, Gemma 3, OLMo 2): a
 * LayerNorm final norm (GPT-2, Pythia) would need its own backward and is not implemented.
 */
public final class LensHead {
    final int d;
    final int vocab;
    final MemorySegment head;
    final DType dtype;
    /** offset + w of the final norm. */
    final float[] gain;
    /** The head transposed, [d, vocab] f32. */
    final float[] headT;
    final double eps;
    final double softcap;

    public LensHead(Model model) {
        ModelConfig c = model.config();
        this.d = c.hiddenSize();
        this.vocab = c.vocabSize();
        Weight hw = model.lmHeadWeight();
        if (hw instanceof CpuWeight cw) {
            this.head = cw.seg();
            this.dtype = cw.dtype();
        } else {
            TensorInfo t = model.tensors().get(hw.name());
            this.head = t.data();
            this.dtype = t.dtype();
        }
        if (dtype != DType.F32 && dtype != DType.BF16) {
            throw new IllegalArgumentException("tuned-lens training reads the head " + hw.name() + " as F32 or BF16, found " + dtype);
        }
        TensorInfo nt = model.tensors().get(model.finalNormWeight().name());
        this.gain = new float[d];
        for (int j = 0; j < d; j++) gain[j] = c.normOffset() + nt.getFloat(j);
        this.eps = c.normEps();
        this.softcap = c.finalSoftcap();
        this.headT = LensMath.transposeHead(head, dtype, vocab, d);
    }

    public int hiddenSize() {
        return d;
    }

    public int vocabSize() {
        return vocab;
    }

    /** inv[r] = 1/rms(t_r) as the CPU backend's rmsNorm rounds it, y = (t * inv) * gain. */
    void norm(float[] t, int rows, float[] y, float[] inv) {
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            double ss = 0;
            for (int j = 0; j < d; j++) ss += (double) t[o + j] * t[o + j];
            float iv = (float) (1.0 / Math.sqrt(ss / d + eps));
            inv[r] = iv;
            for (int j = 0; j < d; j++) y[o + j] = (t[o + j] * iv) * gain[j];
        }
    }

    /** out[rows, vocab] = softcap(y · W_Uᵀ), its vocabulary split over the given pool (null: this thread). */
    void project(float[] y, int rows, float[] out, Parallel par) {
        int n = vocab;
        if (par == null) {
            LensMath.logits(y, rows, d, headT, n, out, 0, n);
        } else {
            int block = 2 * LensMath.L;
            par.forRange((n + block - 1) / block, 16, (b0, b1) -> LensMath.logits(y, rows, d, headT, n, out, b0 * block, Math.min(n, b1 * block)));
        }
        if (softcap > 0) {
            int total = rows * n;
            for (int i = 0; i < total; i++) out[i] = (float) (softcap * Math.tanh(out[i] / softcap));
        }
    }
}
