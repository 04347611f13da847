package cgap.engine.cpu;

import cgap.engine.backend.Backend;
import cgap.engine.backend.Buf;
import cgap.engine.backend.KvCache;
import cgap.engine.backend.RopeTable;
import cgap.engine.backend.Weight;
import cgap.engine.model.Activation;
import cgap.engine.safetensors.DType;
import cgap.engine.safetensors.TensorInfo;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference backend: f32 activations in heap arrays, weights read in place from the memory-mapped checkpoint,
 * matrix products on the Vector API, spread over a {@link Parallel} thread team.
 */
public final class CpuBackend implements Backend {
    private final Parallel par;

    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        this.par = new Parallel(threads);
    }

    public int threads() {
        return par.threads();
    }

    /**
     * The backend's thread team, for code that runs its own parallel loops beside the backend's (the benchmarks' plain
     * reads): a second team would spin on the same cores.
     */
    public Parallel parallel() {
        return par;
    }

    @Override
    public String name() {
        return "cpu(" + par.threads() + " threads, " + MatMul.F.vectorBitSize() + "-bit vectors)";
    }

    @Override
    public Weight weight(TensorInfo t) {
        if (t.rank() < 1 || t.rank() > 2) throw new IllegalArgumentException("tensor " + t.name() + " has rank " + t.rank() + ", expected 1 or 2");
        int rows = t.rank() == 1 ? 1 : t.dim(0);
        int cols = t.rank() == 1 ? t.dim(0) : t.dim(1);
        return switch (t.dtype()) {
            case F32, BF16 -> new CpuWeight(t.name(), t.dtype(), rows, cols, t.data());
            case F16 -> {
                // Widened once at load: the Vector API has no f16 lanes in JDK 25.
                MemorySegment f32 = Arena.ofAuto().allocate((long) rows * cols * 4, 64);
                for (long i = 0; i < (long) rows * cols; i++) f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, t.getFloat(i));
                yield new CpuWeight(t.name(), DType.F32, rows, cols, f32);
            }
            default -> throw new IllegalArgumentException("tensor " + t.name() + " has dtype " + t.dtype() + ", expected F32, BF16 or F16");
        };
    }

    private static CpuBuf b(Buf x) {
        return (CpuBuf) x;
    }

    private static CpuWeight w(Weight x) {
        return (CpuWeight) x;
    }

    @Override
    public Buf alloc(int rows, int cols) {
        return new CpuBuf(rows, cols);
    }

    @Override
    public void write(Buf dst, float[] src) {
        System.arraycopy(src, 0, b(dst).data(), 0, dst.rows() * dst.cols());
    }

    @Override
    public float[] read(Buf src) {
        return b(src).data().clone();
    }

    @Override
    public float[] readRows(Buf src, int fromRow, int n) {
        int c = src.cols();
        return java.util.Arrays.copyOfRange(b(src).data(), fromRow * c, (fromRow + n) * c);
    }

    @Override
    public void readRows(Buf src, int fromRow, int n, float[] dst, int dstOff) {
        int c = src.cols();
        System.arraycopy(b(src).data(), fromRow * c, dst, dstOff, n * c);
    }

    @Override
    public void writeRows(Buf dst, int dstRow, int n, float[] src, int srcOff) {
        int c = dst.cols();
        System.arraycopy(src, srcOff, b(dst).data(), dstRow * c, n * c);
    }

    @Override
    public void copyRows(Buf src, int srcRow0, Buf dst, int dstRow0, int n) {
        if (src.cols() != dst.cols()) throw new IllegalArgumentException("copyRows: " + src.cols() + " vs " + dst.cols() + " columns");
        System.arraycopy(b(src).data(), srcRow0 * src.cols(), b(dst).data(), dstRow0 * dst.cols(), n * src.cols());
    }

    @Override
    public void embed(Weight table, int[] ids, float scale, Buf out) {
        CpuWeight t = w(table);
        float[] o = b(out).data();
        int d = t.cols();
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= t.rows()) throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + t.rows() + ")");
            long base = (long) id * d;
            for (int j = 0; j < d; j++) o[i * d + j] = MatMul.scalar(t.seg(), t.dtype(), base + j) * scale;
        }
    }

    /**
     * What fixes this backend's bits: the kernels' accumulation order and elementary functions (versioned: bump {@code v3} when one
     * changes) and the vector width it runs at. Runs with another value may differ in the last bits, so a resumed
     * run must match it.
     */
    public static String numerics() {
        return "cpu-order-v3-" + MatMul.F.vectorBitSize() + "bit";
    }

    @Override
    public void matmul(Buf x, Weight weight, Weight bias, Buf out) {
        matmuls(x, new Weight[]{weight}, new Weight[]{bias}, new Buf[]{out});
    }

    @Override
    public void matmuls(Buf x, Weight[] weights, Weight[] biases, Buf[] outs) {
        int m = x.rows(), k = x.cols(), count = weights.length;
        CpuWeight[] ws = new CpuWeight[count];
        float[][] os = new float[count][];
        int u = MatMul.COLUMN_UNIT;
        int[] unit0 = new int[count + 1]; // weight i owns units [unit0[i], unit0[i+1]) of u output columns each
        for (int i = 0; i < count; i++) {
            CpuWeight wt = ws[i] = w(weights[i]);
            int n = wt.rows();
            if (wt.cols() != k) throw new IllegalArgumentException("matmul " + wt.name() + ": x has " + k + " columns, weight has " + wt.cols());
            if (outs[i].rows() != m || outs[i].cols() != n) {
                throw new IllegalArgumentException("matmul " + wt.name() + ": out is " + outs[i].rows() + "x" + outs[i].cols() + ", expected " + m + "x" + n);
            }
            if (i > 0 && wt.dtype() != ws[0].dtype()) {
                // x is prepared per dtype: mixed dtypes go one weight at a time
                for (int j = 0; j < count; j++) matmuls(x, new Weight[]{weights[j]}, new Weight[]{biases[j]}, new Buf[]{outs[j]});
                return;
            }
            os[i] = b(outs[i]).data();
            unit0[i + 1] = unit0[i] + (n + u - 1) / u;
        }
        MatMul.Prepared xp = MatMul.prepare(b(x).data(), m, k, ws[0].dtype());
        // Units of COLUMN_UNIT output columns (the tiles' W rows, so no task ends with a ragged tail), matmulGrain units
        // at least a task. A task may span the end of one weight and the start of the next.
        int grain = matmulGrain(m, k);
        par.forRange(unit0[count], grain, (q0, q1) -> {
            for (int i = 0; i < count; i++) {
                int a = Math.max(q0, unit0[i]), e = Math.min(q1, unit0[i + 1]);
                if (a >= e) continue;
                int n = ws[i].rows();
                MatMul.multiplyPrepared(xp, ws[i].seg(), n, os[i], (a - unit0[i]) * u, Math.min(n, (e - unit0[i]) * u));
            }
        });
        for (int i = 0; i < count; i++) {
            if (biases[i] == null) continue;
            CpuWeight bw = w(biases[i]);
            int n = ws[i].rows();
            float[] o = os[i], bv = new float[n];
            for (int j = 0; j < n; j++) bv[j] = MatMul.scalar(bw.seg(), bw.dtype(), j);
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++) o[r * n + j] += bv[j];
        }
    }

    /**
     * The fewest units of {@link MatMul#COLUMN_UNIT} output columns that {@link #matmuls} hands a task for x of m rows
     * and k columns: about 2^16 multiply-adds (enough to amortise a claim and the staging of W rows; {@link Parallel}
     * hands out larger chunks first), so that a decode GEMV of 1024 × 1024 still spreads over the threads.
     */
    public static int matmulGrain(int m, int k) {
        long macsPerUnit = Math.max(1L, (long) MatMul.COLUMN_UNIT * m * k);
        return (int) Math.max(1, (1L << 16) / macsPerUnit);
    }

    @Override
    public void rmsNorm(Buf x, Weight weight, float offset, double eps, int group, Buf out) {
        CpuWeight wt = w(weight);
        if (wt.cols() != group || x.cols() % group != 0) {
            throw new IllegalArgumentException("rmsNorm " + wt.name() + ": weight has " + wt.cols() + " entries, group " + group + ", row width " + x.cols());
        }
        float[] g = new float[group];
        for (int j = 0; j < group; j++) g[j] = offset + MatMul.scalar(wt.seg(), wt.dtype(), j);
        float[] xs = b(x).data(), os = b(out).data();
        int groups = x.rows() * (x.cols() / group);
        par.forRange(groups, 64, (g0, g1) -> {
            for (int gi = g0; gi < g1; gi++) {
                int o = gi * group;
                double ss = 0;
                for (int j = 0; j < group; j++) ss += (double) xs[o + j] * xs[o + j];
                float inv = (float) (1.0 / Math.sqrt(ss / group + eps));
                for (int j = 0; j < group; j++) os[o + j] = (xs[o + j] * inv) * g[j];
            }
        });
    }

    @Override
    public void rope(Buf x, int heads, int headDim, int[] positions, RopeTable table) {
        int half = table.half();
        if (half * 2 != headDim) throw new IllegalArgumentException("rope table covers " + 2 * half + " dims, head_dim is " + headDim);
        int maxPos = 0;
        for (int p : positions) maxPos = Math.max(maxPos, p);
        table.ensure(maxPos + 1);
        float[] cos = table.cos(), sin = table.sin(), xs = b(x).data();
        int cols = x.cols();
        for (int r = 0; r < positions.length; r++) {
            int pc = positions[r] * half;
            for (int h = 0; h < heads; h++) {
                int o = r * cols + h * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cos[pc + i], s = sin[pc + i];
                    float a = xs[o + i], bb = xs[o + i + half];
                    xs[o + i] = a * c - bb * s;
                    xs[o + i + half] = bb * c + a * s;
                }
            }
        }
    }

    @Override
    public KvCache kvCache(int layers, int kvDim, int initialCapacity) {
        return new CpuKvCache(layers, kvDim, initialCapacity);
    }

    @Override
    public void kvWrite(KvCache cache, int layer, Buf k, Buf v, int row0, int[] positions) {
        CpuKvCache c = (CpuKvCache) cache;
        checkRows("kvWrite", row0, positions.length, k, v);
        int maxPos = -1;
        for (int p : positions) maxPos = Math.max(maxPos, p);
        c.ensure(maxPos + 1);
        c.write(layer, b(k).data(), b(v).data(), row0, positions);
        if (layer == c.layers() - 1) c.length = Math.max(c.length, maxPos + 1);
    }

    @Override
    public void attention(Buf q, KvCache cache, int layer, int row0, int[] positions, int heads, int kvHeads, int headDim,
                          double scale, double softcap, int window, Buf out) {
        CpuKvCache c = (CpuKvCache) cache;
        checkRows("attention", row0, positions.length, q, out);
        Attention.attend(par, b(q).data(), q.cols(), row0, positions, heads, kvHeads, headDim, c.kT[layer], c.v[layer], c.capacity,
                c.kvDim, (float) scale, softcap, window, b(out).data(), out.cols());
    }

    private static void checkRows(String op, int row0, int n, Buf a, Buf b) {
        if (row0 < 0 || row0 + n > a.rows() || row0 + n > b.rows()) {
            throw new IllegalArgumentException(op + ": rows [" + row0 + ", " + (row0 + n) + ") outside buffers of " + a.rows() + " and " + b.rows() + " rows");
        }
    }

    @Override
    public void gatedAct(Buf gate, Buf up, Activation act, Buf out) {
        float[] g = b(gate).data(), u = b(up).data(), o = b(out).data();
        int n = gate.rows() * gate.cols();
        par.forRange(n, 1024, (i0, i1) -> {
            if (act == Activation.SILU) VecExp.siluMul(g, u, o, i0, i1);
            else for (int i = i0; i < i1; i++) o[i] = activation(act, g[i]) * u[i];
        });
    }

    /** The gate nonlinearity: SiLU in f32 ({@link VecExp#silu}, as {@link #gatedAct} computes it), the GELUs in double rounded to f32. */
    public static float activation(Activation act, float x) {
        return switch (act) {
            case SILU -> VecExp.silu(x);
            case GELU_TANH -> (float) (0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x))));
            case GELU -> (float) (0.5 * x * (1.0 + erf(x / Math.sqrt(2.0))));
        };
    }

    /** erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit). */
    static double erf(double x) {
        double z = Math.abs(x), t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - r : r - 1;
    }

    @Override
    public void add(Buf acc, Buf x) {
        float[] a = b(acc).data(), xs = b(x).data();
        int n = acc.rows() * acc.cols();
        if (x.rows() * x.cols() != n) throw new IllegalArgumentException("add: sizes differ");
        int v = n - n % MatMul.L;
        for (int i = 0; i < v; i += MatMul.L) {
            FloatVector.fromArray(MatMul.F, a, i).add(FloatVector.fromArray(MatMul.F, xs, i)).intoArray(a, i);
        }
        for (int i = v; i < n; i++) a[i] += xs[i];
    }

    @Override
    public void softcap(Buf x, double cap) {
        float[] xs = b(x).data();
        for (int i = 0; i < xs.length; i++) xs[i] = (float) (cap * Math.tanh(xs[i] / cap));
    }

    @Override
    public void close() {
        par.close();
    }

    /** Rows of a heap buffer, for callers on the CPU that want the array itself. */
    public static float[] data(Buf buf) {
        return b(buf).data();
    }
}
