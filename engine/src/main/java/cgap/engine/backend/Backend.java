package cgap.engine.backend;

import cgap.engine.model.Activation;
import cgap.engine.safetensors.TensorInfo;

/**
 * The operations of a forward pass, over tensors in one device's memory. The CPU backend is the reference
 * implementation; a GPU backend implements the same interface and is tested op by op against it.
 *
 * <p>Conventions: activations are f32 row-major [rows, cols] with one row per token position; weights keep their
 * checkpoint dtype (F32 or BF16; F16 is widened at upload) and are read with f32 accumulation; matrices are
 * stored as in PyTorch's {@code nn.Linear}, [out, in], so {@code matmul} computes x · Wᵀ.
 */
public interface Backend extends AutoCloseable {
    String name();

    /** Makes a checkpoint tensor available to the kernels (zero-copy on CPU). Rank 1 or 2. */
    Weight weight(TensorInfo tensor);

    Buf alloc(int rows, int cols);

    /** Copies host data ([rows*cols], row-major) into a buffer. */
    void write(Buf dst, float[] src);

    /** Copies a buffer to the host. */
    float[] read(Buf src);

    /** Copies rows [fromRow, fromRow+n) of a buffer to the host. */
    float[] readRows(Buf src, int fromRow, int n);

    /** Copies rows [fromRow, fromRow+n) of a buffer into dst at dstOff (no allocation where the backend can). */
    default void readRows(Buf src, int fromRow, int n, float[] dst, int dstOff) {
        float[] r = readRows(src, fromRow, n);
        System.arraycopy(r, 0, dst, dstOff, r.length);
    }

    /** Copies n·cols host values from src at srcOff into rows [dstRow, dstRow+n) of a buffer. */
    default void writeRows(Buf dst, int dstRow, int n, float[] src, int srcOff) {
        Buf rows = alloc(n, dst.cols());
        float[] part = new float[n * dst.cols()];
        System.arraycopy(src, srcOff, part, 0, part.length);
        write(rows, part);
        copyRows(rows, 0, dst, dstRow, n);
    }

    /** dst[i, :] = src[srcRow0 + i, :] for i in [0, n). */
    void copyRows(Buf src, int srcRow0, Buf dst, int dstRow0, int n);

    /** out[i, :] = table[ids[i], :] * scale. */
    void embed(Weight table, int[] ids, float scale, Buf out);

    /** out = x · wᵀ (+ bias). x [M, K], w [N, K], out [M, N]. */
    void matmul(Buf x, Weight w, Weight bias, Buf out);

    /**
     * out[i] = x · w[i]ᵀ (+ bias[i], which may be null) for weights that share their input (q, k, v; gate, up): each
     * result exactly as {@link #matmul} gives it, in one pass where the backend can (one dispatch, x prepared once).
     */
    default void matmuls(Buf x, Weight[] w, Weight[] bias, Buf[] out) {
        for (int i = 0; i < w.length; i++) matmul(x, w[i], bias[i], out[i]);
    }

    /**
     * RMSNorm over each group of {@code group} consecutive columns of every row (group = cols for a whole-row norm,
     * head_dim for a per-head norm): out = x / sqrt(mean(x²) + eps) * (offset + w). {@code w} has {@code group}
     * entries. out may be x.
     */
    void rmsNorm(Buf x, Weight w, float offset, double eps, int group, Buf out);

    /** Rotates each head of x [rows, heads*headDim] in place by its row's position (HF rotate-half layout). */
    void rope(Buf x, int heads, int headDim, int[] positions, RopeTable table);

    /** Creates an empty KV cache for {@code layers} layers of width kvDim, room for at least 1 position to start. */
    KvCache kvCache(int layers, int kvDim, int initialCapacity);

    /**
     * Stores rows [row0, row0 + positions.length) of k and v as one layer's keys and values: row row0 + i at
     * positions[i]. (row0 lets one session's rows of a batch be written in place.)
     */
    void kvWrite(KvCache cache, int layer, Buf k, Buf v, int row0, int[] positions);

    /**
     * Causal grouped-query attention of rows [row0, row0 + positions.length) of q [rows, heads*headDim] against the
     * cached keys/values of a layer, into the same rows of out: row row0 + i attends to positions p with
     * p <= positions[i] and, when window > 0, positions[i] - p < window. Scores are q·k * scale, soft-capped by tanh
     * when softcap > 0. Other rows of out are left untouched, and a row's result does not depend on row0.
     */
    void attention(Buf q, KvCache cache, int layer, int row0, int[] positions, int heads, int kvHeads, int headDim,
                   double scale, double softcap, int window, Buf out);

    /** out = act(gate) * up, elementwise. */
    void gatedAct(Buf gate, Buf up, Activation act, Buf out);

    /** acc += x, elementwise. */
    void add(Buf acc, Buf x);

    /** x = cap * tanh(x / cap), elementwise. */
    void softcap(Buf x, double cap);

    @Override
    void close();
}
