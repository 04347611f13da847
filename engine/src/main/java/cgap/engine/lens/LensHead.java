package cgap.engine.lens;

import cgap.engine.Model;
import cgap.engine.backend.Weight;
import cgap.engine.cpu.CpuWeight;
import cgap.engine.cpu.MatMul;
import cgap.engine.cpu.Parallel;
import cgap.engine.model.ModelConfig;
import cgap.engine.safetensors.DType;
import cgap.engine.safetensors.TensorInfo;

import java.lang.foreign.MemorySegment;

/**
 * The model's final norm, head and final soft-capping as the lens trainer uses them, on the CPU. Its forward,
 * {@link #logits}, does exactly the operations of {@link Model#unembed(float[], int)} on the CPU backend (same
 * RMSNorm rounding, same matrix-product path, same soft-cap), so the logits are the same bits.
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

    /** out[rows, vocab] = softcap(y · W_Uᵀ), over the given pool (null: this thread). */
    void project(float[] y, int rows, float[] out, Parallel par) {
        int n = vocab, k = d;
        if (rows < MatMul.PACK_MIN_ROWS) {
            if (par == null) MatMul.multiplyRows(y, rows, k, head, dtype, n, out, 0, n);
            else par.forRange(n, 256, (c0, c1) -> MatMul.multiplyRows(y, rows, k, head, dtype, n, out, c0, c1));
        } else {
            float[] xt = MatMul.packTransposed(y, rows, k);
            if (par == null) MatMul.multiplyPacked(xt, rows, k, head, dtype, n, out, 0, n);
            else par.forRange((n + 7) / 8, 32, (c0, c1) -> MatMul.multiplyPacked(xt, rows, k, head, dtype, n, out, c0 * 8, Math.min(n, c1 * 8)));
        }
        if (softcap > 0) {
            int total = rows * n;
            for (int i = 0; i < total; i++) out[i] = (float) (softcap * Math.tanh(out[i] / softcap));
        }
    }
}
