package cgap.engine;

import cgap.engine.backend.Backend;
import cgap.engine.backend.Buf;
import cgap.engine.backend.RopeTable;
import cgap.engine.backend.Weight;
import cgap.engine.model.ModelConfig;
import cgap.engine.model.QkNorm;
import cgap.engine.safetensors.DType;
import cgap.engine.safetensors.SafeTensors;
import cgap.engine.safetensors.TensorInfo;

import java.nio.file.Path;
import java.util.List;

/**
 * A loaded decoder-only model: its {@link ModelConfig}, its weights on a {@link Backend}, and the operations the
 * diagnostics are made of: the forward pass with named activation points ({@link #forward}), per-layer
 * unembedding ({@link #unembed}) and the MLP of any layer on any input ({@link #mlp}). Token state lives in a
 * {@link Session}; a model is immutable and can serve several sessions and be a donor to another model.
 */
public final class Model implements AutoCloseable {
    /** The weights of one block, by role; null where the family has no such tensor. */
    public record Layer(Weight attnPreNorm, Weight attnPostNorm, Weight mlpPreNorm, Weight mlpPostNorm,
                        Weight qNorm, Weight kNorm,
                        Weight q, Weight qBias, Weight k, Weight kBias, Weight v, Weight vBias, Weight o, Weight oBias,
                        Mlp mlp) {
    }

    /** A gated MLP: down(act(gate(x)) * up(x)). */
    public record Mlp(Weight gate, Weight gateBias, Weight up, Weight upBias, Weight down, Weight downBias) {
    }

    private final ModelConfig config;
    private final Backend backend;
    private final SafeTensors tensors;
    private final Weight embed;
    private final Weight finalNorm;
    private final Weight lmHead;
    private final Layer[] layers;
    private final RopeTable[] ropeTables;
    private final float embedScale;
    private final String prefix;

    private Model(ModelConfig config, Backend backend, SafeTensors tensors) {
        this.config = config;
        this.backend = backend;
        this.tensors = tensors;
        ModelConfig c = config;
        this.prefix = bodyPrefix(tensors, c);
        int d = c.hiddenSize();
        TensorInfo embedInfo = tensors.get(prefix + c.embedName(), c.vocabSize(), d);
        this.embed = backend.weight(embedInfo);
        this.finalNorm = backend.weight(tensors.get(prefix + c.finalNormName(), d));
        if (c.tiedEmbeddings()) {
            this.lmHead = embed;
        } else {
            String head = c.multimodalLayout() && tensors.contains("language_model." + c.lmHeadName()) ? "language_model." + c.lmHeadName() : c.lmHeadName();
            this.lmHead = backend.weight(tensors.get(head, c.vocabSize(), d));
        }
        // Gemma multiplies embeddings by sqrt(hidden) cast to the embedding's dtype (transformers:
        // embed_scale.to(weight.dtype)); for bf16 weights the factor itself is rounded to bf16.
        float scale = c.scaleEmbeddings() ? (float) Math.sqrt(d) : 1f;
        if (c.scaleEmbeddings() && embedInfo.dtype() == DType.BF16) scale = Float.intBitsToFloat((bf16Round(scale) & 0xffff) << 16);
        if (c.scaleEmbeddings() && embedInfo.dtype() == DType.F16) scale = Float.float16ToFloat(Float.floatToFloat16(scale));
        this.embedScale = scale;
        this.layers = new Layer[c.numLayers()];
        this.ropeTables = new RopeTable[c.numLayers()];
        for (int l = 0; l < c.numLayers(); l++) {
            layers[l] = loadLayer(l);
            ropeTables[l] = new RopeTable(c.rope()[l]);
        }
    }

    static int bf16Round(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (bits + 0x7fff + ((bits >> 16) & 1)) >>> 16;
    }

    private static String bodyPrefix(SafeTensors t, ModelConfig c) {
        for (String p : List.of("model.", "language_model.model.", "model.language_model.", "")) {
            if (t.contains(p + c.embedName())) return p;
        }
        throw new ModelLoadException(t.dir() + ": missing tensor 'model." + c.embedName() + "' (also looked for the prefixes "
                + "'language_model.model.' and 'model.language_model.' of multimodal checkpoints)");
    }

    /** Loads a Hugging Face model folder (config.json + safetensors) onto a backend. */
    public static Model load(Path dir, Backend backend) {
        ModelConfig config = ModelConfig.load(dir);
        SafeTensors st = SafeTensors.open(dir);
        try {
            return new Model(config, backend, st);
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    private Layer loadLayer(int l) {
        ModelConfig c = config;
        var n = c.names();
        String p = prefix + "layers." + l + ".";
        int d = c.hiddenSize(), hd = c.headDim();
        int qkNormWidth = c.qkNorm() == QkNorm.FULL ? c.qDim() : hd;
        int kNormWidth = c.qkNorm() == QkNorm.FULL ? c.kvDim() : hd;
        Weight q = w(p + n.q() + ".weight", c.qDim(), d);
        Weight k = w(p + n.k() + ".weight", c.kvDim(), d);
        Weight v = w(p + n.v() + ".weight", c.kvDim(), d);
        Weight o = w(p + n.o() + ".weight", d, c.qDim());
        Mlp mlp = new Mlp(w(p + n.gate() + ".weight", c.intermediateSize(), d), c.mlpBias() ? v1(p + n.gate() + ".bias", c.intermediateSize()) : null,
                w(p + n.up() + ".weight", c.intermediateSize(), d), c.mlpBias() ? v1(p + n.up() + ".bias", c.intermediateSize()) : null,
                w(p + n.down() + ".weight", d, c.intermediateSize()), c.mlpBias() ? v1(p + n.down() + ".bias", d) : null);
        return new Layer(
                n.attnPreNorm() == null ? null : v1(p + n.attnPreNorm() + ".weight", d),
                n.attnPostNorm() == null ? null : v1(p + n.attnPostNorm() + ".weight", d),
                n.mlpPreNorm() == null ? null : v1(p + n.mlpPreNorm() + ".weight", d),
                n.mlpPostNorm() == null ? null : v1(p + n.mlpPostNorm() + ".weight", d),
                c.qkNorm() == QkNorm.NONE ? null : v1(p + n.qNorm() + ".weight", qkNormWidth),
                c.qkNorm() == QkNorm.NONE ? null : v1(p + n.kNorm() + ".weight", kNormWidth),
                q, c.qkvBias() ? v1(p + n.q() + ".bias", c.qDim()) : null,
                k, c.qkvBias() ? v1(p + n.k() + ".bias", c.kvDim()) : null,
                v, c.qkvBias() ? v1(p + n.v() + ".bias", c.kvDim()) : null,
                o, c.oBias() ? v1(p + n.o() + ".bias", d) : null, mlp);
    }

    private Weight w(String name, int rows, int cols) {
        return backend.weight(tensors.get(name, rows, cols));
    }

    private Weight v1(String name, int n) {
        return backend.weight(tensors.get(name, n));
    }

    public ModelConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    public int numLayers() {
        return config.numLayers();
    }

    public int hiddenSize() {
        return config.hiddenSize();
    }

    public int vocabSize() {
        return config.vocabSize();
    }

    public float embedScale() {
        return embedScale;
    }

    public Layer layer(int l) {
        return layers[l];
    }

    /** The final norm and unembedding weights, for hashing by lenses. */
    public Weight finalNormWeight() {
        return finalNorm;
    }

    public Weight lmHeadWeight() {
        return lmHead;
    }

    public SafeTensors tensors() {
        return tensors;
    }

    /** A fresh token state (empty KV cache) for this model. */
    public Session newSession() {
        return new Session(this);
    }

    /**
     * A fresh token state whose KV cache is sized for {@code positions} tokens up front (it still grows past them);
     * for a caller that knows prompt length + generation cap, this avoids the cache's doubling and its copies.
     */
    public Session newSession(int positions) {
        return new Session(this, positions);
    }

    /** Refuses a donor whose MLP shapes differ from this model's. */
    void checkCompatible(Model donor) {
        ModelConfig a = config, b = donor.config;
        if (a.hiddenSize() != b.hiddenSize() || a.intermediateSize() != b.intermediateSize() || a.numLayers() != b.numLayers()
                || a.activation() != b.activation()) {
            throw new IllegalArgumentException("donor " + b.source() + " (hidden " + b.hiddenSize() + ", intermediate " + b.intermediateSize()
                    + ", " + b.numLayers() + " layers) does not fit host " + a.source() + " (hidden " + a.hiddenSize() + ", intermediate "
                    + a.intermediateSize() + ", " + a.numLayers() + " layers)");
        }
        if (donor.backend != backend) throw new IllegalArgumentException("donor and host must share one backend");
    }

    /** out = this model's MLP of layer l applied to in ([rows, hidden] each). */
    public void mlp(int l, Buf in, Buf out) {
        int rows = in.rows();
        mlp(l, in, out, backend.alloc(rows, config.intermediateSize()), backend.alloc(rows, config.intermediateSize()));
    }

    /** As {@link #mlp(int, Buf, Buf)} with caller-owned work buffers ([rows, intermediate] each), reused across layers. */
    void mlp(int l, Buf in, Buf out, Buf gate, Buf up) {
        Mlp m = layers[l].mlp;
        backend.matmuls(in, new Weight[]{m.gate(), m.up()}, new Weight[]{m.gateBias(), m.upBias()}, new Buf[]{gate, up});
        backend.gatedAct(gate, up, config.activation(), gate);
        backend.matmul(gate, m.down(), m.downBias(), out);
    }

    /**
     * Runs each session's tokens at its next positions through every block in one pass (the rows of all sessions
     * stacked: one matrix product per weight), writing K/V into each session's cache; returns, per session, the
     * captured activations and its final residual rows. Every kernel computes a row the same way whatever the other
     * rows, so a session's results are the same bits alone or in a batch.
     */
    Activations[] forward(Session[] sessions, int[][] tokens, Capture capture, MlpEdit edit) {
        ModelConfig c = config;
        Backend be = backend;
        int segs = sessions.length, d = c.hiddenSize();
        if (tokens.length != segs) throw new IllegalArgumentException(segs + " sessions but " + tokens.length + " token arrays");
        int[] off = new int[segs + 1];
        for (int j = 0; j < segs; j++) {
            if (sessions[j].model() != this) throw new IllegalArgumentException("session " + j + " belongs to another model");
            for (int i = 0; i < j; i++) if (sessions[i] == sessions[j]) throw new IllegalArgumentException("session " + j + " appears twice in a batch");
            if (tokens[j].length == 0) throw new IllegalArgumentException("forward needs at least one token per session (session " + j + ")");
            off[j + 1] = off[j] + tokens[j].length;
        }
        int n = off[segs];
        int[] all = new int[n], pos = new int[n];
        int[][] segPos = new int[segs][];
        for (int j = 0; j < segs; j++) {
            int start = sessions[j].cache().length(), nj = tokens[j].length;
            System.arraycopy(tokens[j], 0, all, off[j], nj);
            segPos[j] = new int[nj];
            for (int i = 0; i < nj; i++) pos[off[j] + i] = segPos[j][i] = start + i;
        }
        boolean last = capture.lastRowOnly();
        Buf h = be.alloc(n, d);
        be.embed(embed, all, embedScale, h);
        Buf xn = be.alloc(n, d), q = be.alloc(n, c.qDim()), k = be.alloc(n, c.kvDim()), v = be.alloc(n, c.kvDim());
        Buf att = be.alloc(n, c.qDim()), ao = be.alloc(n, d), mo = be.alloc(n, d);
        Buf gate = be.alloc(n, c.intermediateSize()), up = be.alloc(n, c.intermediateSize());
        Activations[] out = new Activations[segs];
        for (int j = 0; j < segs; j++) {
            int nj = tokens[j].length;
            out[j] = new Activations(c.numLayers(), last ? 1 : nj, segPos[j][last ? nj - 1 : 0], null);
        }
        for (int l = 0; l < c.numLayers(); l++) {
            Layer ly = layers[l];
            take(out, off, capture, Point.RESID_PRE, l, h);
            Buf ain = h;
            if (ly.attnPreNorm() != null) {
                be.rmsNorm(h, ly.attnPreNorm(), c.normOffset(), c.normEps(), d, xn);
                ain = xn;
            }
            be.matmuls(ain, new Weight[]{ly.q(), ly.k(), ly.v()}, new Weight[]{ly.qBias(), ly.kBias(), ly.vBias()}, new Buf[]{q, k, v});
            if (c.qkNorm() == QkNorm.PER_HEAD) {
                be.rmsNorm(q, ly.qNorm(), c.normOffset(), c.normEps(), c.headDim(), q);
                be.rmsNorm(k, ly.kNorm(), c.normOffset(), c.normEps(), c.headDim(), k);
            } else if (c.qkNorm() == QkNorm.FULL) {
                be.rmsNorm(q, ly.qNorm(), c.normOffset(), c.normEps(), c.qDim(), q);
                be.rmsNorm(k, ly.kNorm(), c.normOffset(), c.normEps(), c.kvDim(), k);
            }
            be.rope(q, c.numHeads(), c.headDim(), pos, ropeTables[l]);
            be.rope(k, c.numKvHeads(), c.headDim(), pos, ropeTables[l]);
            // attention per session against its own cache, on the session's rows of the stacked q, k, v and att
            for (int j = 0; j < segs; j++) {
                be.kvWrite(sessions[j].cache(), l, k, v, off[j], segPos[j]);
                attend(sessions[j], l, q, off[j], segPos[j], att);
            }
            be.matmul(att, ly.o(), ly.oBias(), ao);
            take(out, off, capture, Point.ATTN_OUT, l, ao);
            if (ly.attnPostNorm() != null) be.rmsNorm(ao, ly.attnPostNorm(), c.normOffset(), c.normEps(), d, ao);
            be.add(h, ao);
            take(out, off, capture, Point.RESID_MID, l, h);
            Buf min = h;
            if (ly.mlpPreNorm() != null) {
                be.rmsNorm(h, ly.mlpPreNorm(), c.normOffset(), c.normEps(), d, xn);
                min = xn;
            }
            take(out, off, capture, Point.MLP_IN, l, min);
            if (edit != null && edit.covers(l)) edit.apply(this, l, min, mo);
            else mlp(l, min, mo, gate, up);
            take(out, off, capture, Point.MLP_OUT, l, mo);
            if (ly.mlpPostNorm() != null) be.rmsNorm(mo, ly.mlpPostNorm(), c.normOffset(), c.normEps(), d, mo);
            be.add(h, mo);
            take(out, off, capture, Point.RESID_POST, l, h);
        }
        Activations[] result = new Activations[segs];
        for (int j = 0; j < segs; j++) {
            int nj = tokens[j].length;
            Activations a = out[j];
            result[j] = new Activations(c.numLayers(), a.rows(), a.firstPosition(),
                    last ? be.readRows(h, off[j + 1] - 1, 1) : be.readRows(h, off[j], nj));
            for (Point p : Point.values()) for (int l = 0; l < c.numLayers(); l++) if (a.has(p, l)) result[j].put(p, l, a.get(p, l));
        }
        return result;
    }

    private void attend(Session s, int l, Buf q, int row0, int[] pos, Buf out) {
        ModelConfig c = config;
        backend.attention(q, s.cache(), l, row0, pos, c.numHeads(), c.numKvHeads(), c.headDim(), c.attnScale(), c.attnSoftcap(),
                c.slidingWindow()[l], out);
    }

    private void take(Activations[] out, int[] off, Capture capture, Point p, int layer, Buf b) {
        if (!capture.wants(p, layer)) return;
        for (int j = 0; j < out.length; j++) {
            int nj = off[j + 1] - off[j];
            out[j].put(p, layer, capture.lastRowOnly() ? backend.readRows(b, off[j + 1] - 1, 1) : backend.readRows(b, off[j], nj));
        }
    }

    /**
     * The logit lens of any residual rows: logits = W_U · norm_f(h) with the model's own final norm, head and final
     * soft-capping. {@code resid} is [rows, hidden]; returns [rows, vocab]. Applied to block L-1's output this is
     * exactly the model's own next-token logits.
     */
    public float[] unembed(float[] resid, int rows) {
        int d = config.hiddenSize();
        if (resid.length != rows * d) throw new IllegalArgumentException("unembed: " + resid.length + " values for " + rows + " rows of width " + d);
        Buf h = backend.alloc(rows, d);
        backend.write(h, resid);
        Buf logits = backend.alloc(rows, config.vocabSize());
        unembed(h, logits);
        return backend.read(logits);
    }

    /** Device-side form of {@link #unembed(float[], int)}; h is left untouched. */
    public void unembed(Buf h, Buf logits) {
        Buf hn = backend.alloc(h.rows(), h.cols());
        backend.rmsNorm(h, finalNorm, config.normOffset(), config.normEps(), config.hiddenSize(), hn);
        backend.matmul(hn, lmHead, null, logits);
        if (config.finalSoftcap() > 0) backend.softcap(logits, config.finalSoftcap());
    }

    @Override
    public void close() {
        tensors.close();
    }
}
