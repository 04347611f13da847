package cgap.bench;

import cgap.engine.backend.Backend;
import cgap.engine.backend.Buf;
import cgap.engine.backend.KvCache;
import cgap.engine.backend.RopeTable;
import cgap.engine.backend.Weight;
import cgap.engine.model.Activation;
import cgap.engine.safetensors.TensorInfo;

import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link Backend} that forwards every call to another and adds its wall time to a named counter: the op's name, and
 * for matrix products the weight's name with the layer prefix dropped ({@code mlp.down_proj.weight}), products
 * sharing their input named by the first ({@code q_proj+k_proj+v_proj}). Weight bytes read are counted beside the time.
 * For {@link DecodeProfile}: where a decode step's time goes, op by op.
 */
final class TimedBackend implements Backend {
    /** Accumulated time, calls and weight bytes of one op. */
    static final class Op {
        long nanos, calls, weightBytes;
    }

    private final Backend d;
    final Map<String, Op> ops = new LinkedHashMap<>();
    /** Distinct weights seen by the products, for the streaming-read comparison. */
    final Map<String, Weight> weights = new LinkedHashMap<>();

    TimedBackend(Backend delegate) {
        this.d = delegate;
    }

    void reset() {
        ops.clear();
    }

    /** Adds a call that began at t0 and has just returned (the clock is read before the bookkeeping). */
    private void timed(String name, long t0) {
        record(name, System.nanoTime() - t0, 0);
    }

    private void record(String name, long nanos, long bytes) {
        Op o = ops.computeIfAbsent(name, k -> new Op());
        o.nanos += nanos;
        o.calls++;
        o.weightBytes += bytes;
    }

    private final Map<Weight, String> shortNames = new IdentityHashMap<>();

    private String shortName(Weight w) {
        return shortNames.computeIfAbsent(w, x -> x.name().replaceFirst("^model\\.layers\\.\\d+\\.", "").replaceFirst("^(self_attn|mlp)\\.", "")
                .replaceFirst("\\.weight$", ""));
    }

    /** w's bytes, counted for a product that read it; w joins {@link #weights}. */
    private long counted(Weight w) {
        weights.putIfAbsent(w.name(), w);
        return bytes(w);
    }

    /** The bytes of w's elements (rows × cols × the dtype's size): what a product streams from it. */
    static long bytes(Weight w) {
        return (long) w.rows() * w.cols() * w.dtype().bytes;
    }

    @Override
    public String name() {
        return d.name();
    }

    @Override
    public Weight weight(TensorInfo tensor) {
        return d.weight(tensor);
    }

    @Override
    public Buf alloc(int rows, int cols) {
        return d.alloc(rows, cols);
    }

    @Override
    public void write(Buf dst, float[] src) {
        d.write(dst, src);
    }

    @Override
    public float[] read(Buf src) {
        return d.read(src);
    }

    @Override
    public float[] readRows(Buf src, int fromRow, int n) {
        return d.readRows(src, fromRow, n);
    }

    @Override
    public void readRows(Buf src, int fromRow, int n, float[] dst, int dstOff) {
        d.readRows(src, fromRow, n, dst, dstOff);
    }

    @Override
    public void writeRows(Buf dst, int dstRow, int n, float[] src, int srcOff) {
        d.writeRows(dst, dstRow, n, src, srcOff);
    }

    @Override
    public void copyRows(Buf src, int srcRow0, Buf dst, int dstRow0, int n) {
        long t = System.nanoTime();
        d.copyRows(src, srcRow0, dst, dstRow0, n);
        timed("copyRows", t);
    }

    @Override
    public void embed(Weight table, int[] ids, float scale, Buf out) {
        long t = System.nanoTime();
        d.embed(table, ids, scale, out);
        timed("embed", t);
    }

    @Override
    public void matmul(Buf x, Weight w, Weight bias, Buf out) {
        long t = System.nanoTime();
        d.matmul(x, w, bias, out);
        long dt = System.nanoTime() - t;
        record("matmul " + shortName(w), dt, counted(w));
    }

    @Override
    public void matmuls(Buf x, Weight[] w, Weight[] bias, Buf[] out) {
        long t = System.nanoTime();
        d.matmuls(x, w, bias, out);
        long dt = System.nanoTime() - t;
        StringBuilder name = new StringBuilder("matmul ");
        long b = 0;
        for (int i = 0; i < w.length; i++) {
            if (i > 0) name.append('+');
            name.append(shortName(w[i]));
            b += counted(w[i]);
        }
        record(name.toString(), dt, b);
    }

    @Override
    public void rmsNorm(Buf x, Weight w, float offset, double eps, int group, Buf out) {
        long t = System.nanoTime();
        d.rmsNorm(x, w, offset, eps, group, out);
        timed("rmsNorm", t);
    }

    @Override
    public void rope(Buf x, int heads, int headDim, int[] positions, RopeTable table) {
        long t = System.nanoTime();
        d.rope(x, heads, headDim, positions, table);
        timed("rope", t);
    }

    @Override
    public KvCache kvCache(int layers, int kvDim, int initialCapacity) {
        return d.kvCache(layers, kvDim, initialCapacity);
    }

    @Override
    public void kvWrite(KvCache cache, int layer, Buf k, Buf v, int row0, int[] positions) {
        long t = System.nanoTime();
        d.kvWrite(cache, layer, k, v, row0, positions);
        timed("kvWrite", t);
    }

    @Override
    public void attention(Buf q, KvCache cache, int layer, int row0, int[] positions, int heads, int kvHeads, int headDim, double scale,
                          double softcap, int window, Buf out) {
        long t = System.nanoTime();
        d.attention(q, cache, layer, row0, positions, heads, kvHeads, headDim, scale, softcap, window, out);
        timed("attention", t);
    }

    @Override
    public void gatedAct(Buf gate, Buf up, Activation act, Buf out) {
        long t = System.nanoTime();
        d.gatedAct(gate, up, act, out);
        timed("gatedAct", t);
    }

    @Override
    public void add(Buf acc, Buf x) {
        long t = System.nanoTime();
        d.add(acc, x);
        timed("add", t);
    }

    @Override
    public void softcap(Buf x, double cap) {
        long t = System.nanoTime();
        d.softcap(x, cap);
        timed("softcap", t);
    }

    @Override
    public void close() {
        d.close();
    }
}
