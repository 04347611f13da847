package cgap.engine.lens;

import cgap.engine.Model;
import cgap.engine.ModelLoadException;
import cgap.engine.backend.Weight;
import cgap.engine.model.ModelConfig;
import cgap.engine.safetensors.DType;
import cgap.engine.safetensors.SafeTensorFile;
import cgap.engine.safetensors.SafeTensorsWriter;
import cgap.engine.safetensors.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * A tuned lens (SPEC §2): one affine translator T_l per decoder block, read as
 * {@code logits_l = W_U · norm_f(T_l(h_l))} with the model's own final norm, head and final soft-capping.
 *
 * <p>Two parameterisations:
 * <ul>
 *   <li>{@link Parameterisation#AFFINE} (the paper's code): T(h) = W h + b, W = I and b = 0 at initialisation, a probe
 *       on every block including the last;</li>
 *   <li>{@link Parameterisation#RESIDUAL} (Belrose et al., the tuned-lens library): T(h) = h + (A h + b), A = 0 and
 *       b = 0 at initialisation, no probe on the last block (there {@link #translate} is the identity).</li>
 * </ul>
 *
 * <p>On disk a lens is a folder with {@code lens.safetensors} (F32 tensors {@code layers.{l}.weight} [d, d], W or A,
 * and {@code layers.{l}.bias} [d] for every probed layer) and {@code lens.json} (format, parameterisation, model
 * source and type, layer count, hidden and vocabulary size, and the SHA-256 of the head and final-norm weight bytes
 * the lens was trained against, see {@link #unembeddingHash}). {@link #load} refuses a model whose hash differs.
 *
 * <p>Stable API for readers: {@link #load(Path, Model)}, {@link #translate(int, float[], int)},
 * {@link #readout(Model, int, float[], int)}. Instances are not thread-safe while being trained; reading
 * ({@code translate}, {@code readout}) from several threads is safe.
 */
public final class TunedLens {
    public static final String FORMAT = "cgap-tuned-lens";
    public static final int VERSION = 1;
    public static final String TENSORS_FILE = "lens.safetensors";
    public static final String JSON_FILE = "lens.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public enum Parameterisation {
        /** T(h) = W h + b, identity-initialised, probes on every block including the last (paper code). */
        AFFINE,
        /** T(h) = h + (A h + b), zero-initialised, no probe on the last block (tuned-lens library). */
        RESIDUAL;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Parameterisation parse(String s) {
            for (Parameterisation p : values()) if (p.id().equals(s)) return p;
            throw new IllegalArgumentException("unknown lens parameterisation '" + s + "' (known: affine, residual)");
        }
    }

    private final Parameterisation param;
    private final int layers;
    private final int d;
    private final float[][] weight;
    private final float[][] bias;
    private final String modelHash;
    private final String modelSource;
    private final String modelType;
    private final int vocab;

    private TunedLens(Parameterisation param, int layers, int d, int vocab, float[][] weight, float[][] bias, String modelHash,
                      String modelSource, String modelType) {
        this.param = param;
        this.layers = layers;
        this.d = d;
        this.vocab = vocab;
        this.weight = weight;
        this.bias = bias;
        this.modelHash = modelHash;
        this.modelSource = modelSource;
        this.modelType = modelType;
    }

    /** The initial lens for a model: identity translators (W = I or A = 0, b = 0) on every probed layer. */
    public static TunedLens identity(Model model, Parameterisation param) {
        ModelConfig c = model.config();
        int layers = c.numLayers(), d = c.hiddenSize();
        float[][] w = new float[layers][], b = new float[layers][];
        for (int l = 0; l < layers; l++) {
            if (!probed(param, l, layers)) continue;
            w[l] = new float[d * d];
            b[l] = new float[d];
            if (param == Parameterisation.AFFINE) for (int i = 0; i < d; i++) w[l][i * d + i] = 1f;
        }
        return new TunedLens(param, layers, d, c.vocabSize(), w, b, unembeddingHash(model), String.valueOf(c.source()), c.modelType());
    }

    private static boolean probed(Parameterisation p, int l, int layers) {
        return p == Parameterisation.AFFINE || l < layers - 1;
    }

    public Parameterisation parameterisation() {
        return param;
    }

    public int numLayers() {
        return layers;
    }

    public int hiddenSize() {
        return d;
    }

    /** Whether block l has a trained translator (RESIDUAL: every block but the last). */
    public boolean hasProbe(int layer) {
        checkLayer(layer);
        return weight[layer] != null;
    }

    /** The SHA-256 (hex) of the head and final-norm weights this lens belongs to. */
    public String modelHash() {
        return modelHash;
    }

    public String modelSource() {
        return modelSource;
    }

    /** The live [d*d] matrix of layer l (W for AFFINE, A for RESIDUAL), row-major [out, in]. */
    public float[] weight(int layer) {
        checkProbe(layer);
        return weight[layer];
    }

    /** The live [d] bias of layer l. */
    public float[] bias(int layer) {
        checkProbe(layer);
        return bias[layer];
    }

    private void checkLayer(int layer) {
        if (layer < 0 || layer >= layers) throw new IllegalArgumentException("layer " + layer + " outside [0, " + layers + ")");
    }

    private void checkProbe(int layer) {
        if (!hasProbe(layer)) throw new IllegalArgumentException("this " + param.id() + " lens has no probe on layer " + layer);
    }

    /**
     * T_l applied to residual rows: {@code resid} is [rows, hidden] (block l's output, {@code resid_post}); returns a
     * new [rows, hidden] array. On a layer without a probe (RESIDUAL, last block) returns a copy of the input.
     * Readout: {@code model.unembed(translate(l, h, rows), rows)}, see {@link #readout}.
     */
    public float[] translate(int layer, float[] resid, int rows) {
        checkLayer(layer);
        if (resid.length != rows * d) throw new IllegalArgumentException("translate: " + resid.length + " values for " + rows + " rows of width " + d);
        float[] out = new float[rows * d];
        if (weight[layer] == null) {
            System.arraycopy(resid, 0, out, 0, out.length);
            return out;
        }
        LensMath.affine(resid, rows, d, weight[layer], bias[layer], param == Parameterisation.RESIDUAL, out);
        return out;
    }

    /** The tuned-lens logits of residual rows of block l: [rows, vocab] = model.unembed(T_l(h)). */
    public float[] readout(Model model, int layer, float[] resid, int rows) {
        return model.unembed(translate(layer, resid, rows), rows);
    }

    /** A deep copy (same model binding). */
    public TunedLens copy() {
        float[][] w = new float[layers][], b = new float[layers][];
        for (int l = 0; l < layers; l++) {
            if (weight[l] == null) continue;
            w[l] = weight[l].clone();
            b[l] = bias[l].clone();
        }
        return new TunedLens(param, layers, d, vocab, w, b, modelHash, modelSource, modelType);
    }

    // ---------------------------------------------------------------- hashing

    /**
     * SHA-256 over the raw checkpoint bytes of the model's unembedding (lm head, or the tied embedding) and then of
     * its final norm weight, as hex.
     */
    public static String unembeddingHash(Model model) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            digest(md, model, model.lmHeadWeight());
            digest(md, model, model.finalNormWeight());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void digest(MessageDigest md, Model model, Weight w) {
        MemorySegment seg = model.tensors().get(w.name()).data();
        byte[] buf = new byte[1 << 20];
        long n = seg.byteSize();
        for (long off = 0; off < n; off += buf.length) {
            int len = (int) Math.min(buf.length, n - off);
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off, buf, 0, len);
            md.update(buf, 0, len);
        }
    }

    // ---------------------------------------------------------------- storage

    /** Writes lens.safetensors and lens.json into dir (created if needed). */
    public void save(Path dir) {
        save(dir, null);
    }

    /** As {@link #save(Path)}, recording {@code training} (settings, validation KL...) under "training" in lens.json. */
    public void save(Path dir, JsonNode training) {
        try {
            Files.createDirectories(dir);
            SafeTensorsWriter w = new SafeTensorsWriter();
            w.metadata("format", FORMAT);
            for (int l = 0; l < layers; l++) {
                if (weight[l] == null) continue;
                w.add("layers." + l + ".weight", DType.F32, new long[]{d, d}, weight[l]);
                w.add("layers." + l + ".bias", DType.F32, new long[]{d}, bias[l]);
            }
            w.write(dir.resolve(TENSORS_FILE));
            ObjectNode j = JSON.createObjectNode();
            j.put("format", FORMAT);
            j.put("version", VERSION);
            j.put("parameterisation", param.id());
            j.put("model_source", modelSource);
            j.put("model_type", modelType);
            j.put("num_layers", layers);
            j.put("hidden_size", d);
            j.put("vocab_size", vocab);
            var probes = j.putArray("probed_layers");
            for (int l = 0; l < layers; l++) if (weight[l] != null) probes.add(l);
            j.put("unembedding_sha256", modelHash);
            j.put("hash_covers", "raw checkpoint bytes of the lm head (or tied embedding), then of the final norm weight");
            if (training != null) j.set("training", training);
            Path tmp = dir.resolve(JSON_FILE + ".tmp");
            Files.writeString(tmp, JSON.writeValueAsString(j));
            Files.move(tmp, dir.resolve(JSON_FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write tuned lens: " + e.getMessage(), e);
        }
    }

    /**
     * Reads a lens folder written by {@link #save} and binds it to {@code model}; refuses (ModelLoadException naming
     * the folder, the expected and the found hash) a model whose head and final norm differ from the ones the lens
     * was trained against, and a lens whose shapes do not fit the model.
     */
    public static TunedLens load(Path dir, Model model) {
        Path jf = dir.resolve(JSON_FILE), tf = dir.resolve(TENSORS_FILE);
        if (!Files.isRegularFile(jf)) throw new ModelLoadException(dir + ": no " + JSON_FILE + " (is this a tuned-lens folder?)");
        JsonNode j;
        try {
            j = JSON.readTree(Files.readString(jf));
        } catch (IOException e) {
            throw new ModelLoadException(jf + ": cannot parse JSON: " + e.getMessage(), e);
        }
        if (j == null || !FORMAT.equals(j.path("format").asText())) {
            throw new ModelLoadException(jf + ": field 'format' is " + (j == null ? null : j.get("format")) + ", expected \"" + FORMAT + "\"");
        }
        if (j.path("version").asInt(-1) != VERSION) throw new ModelLoadException(jf + ": field 'version' is " + j.get("version") + ", expected " + VERSION);
        Parameterisation p;
        try {
            p = Parameterisation.parse(j.path("parameterisation").asText());
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(jf + ": " + e.getMessage());
        }
        ModelConfig c = model.config();
        int layers = j.path("num_layers").asInt(-1), d = j.path("hidden_size").asInt(-1);
        if (layers != c.numLayers() || d != c.hiddenSize()) {
            throw new ModelLoadException(jf + ": lens has " + layers + " layers of width " + d + ", model " + c.source() + " has "
                    + c.numLayers() + " of width " + c.hiddenSize());
        }
        String expected = j.path("unembedding_sha256").asText();
        String found = unembeddingHash(model);
        if (!expected.equals(found)) {
            throw new ModelLoadException(dir + ": this tuned lens was trained against another model's unembedding and final norm "
                    + "(expected sha256 " + expected + " from " + j.path("model_source").asText() + ", found " + found + " in "
                    + c.source() + "); refusing to load it");
        }
        if (!Files.isRegularFile(tf)) throw new ModelLoadException(dir + ": no " + TENSORS_FILE);
        float[][] w = new float[layers][], b = new float[layers][];
        try (SafeTensorFile st = SafeTensorFile.open(tf)) {
            for (int l = 0; l < layers; l++) {
                if (!probed(p, l, layers)) continue;
                w[l] = read(st, tf, "layers." + l + ".weight", d, d);
                b[l] = read(st, tf, "layers." + l + ".bias", d);
            }
        }
        return new TunedLens(p, layers, d, c.vocabSize(), w, b, expected, j.path("model_source").asText(), j.path("model_type").asText());
    }

    private static float[] read(SafeTensorFile st, Path file, String name, long... shape) {
        TensorInfo t = st.tensors().get(name);
        if (t == null) throw new ModelLoadException(file + ": missing tensor '" + name + "'");
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new ModelLoadException(file + ": tensor '" + name + "' has shape " + t.shapeString() + ", expected " + java.util.Arrays.toString(shape));
        }
        if (t.dtype() != DType.F32) throw new ModelLoadException(file + ": tensor '" + name + "' has dtype " + t.dtype() + ", expected F32");
        return t.toFloatArray();
    }

    /** Rebuilds a lens from arrays (checkpoints); arrays are taken, not copied. */
    static TunedLens of(Model model, Parameterisation p, float[][] w, float[][] b) {
        TunedLens id = identity(model, p);
        for (int l = 0; l < id.layers; l++) {
            if (id.weight[l] == null) continue;
            id.weight[l] = w[l];
            id.bias[l] = b[l];
        }
        return id;
    }
}
