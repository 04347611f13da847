package cgap.engine.lens;

import cgap.engine.Model;
import cgap.engine.ModelLoadException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Imports a lens saved by the tuned-lens library ({@code TunedLens.save}: {@code config.json} with
 * {@code d_model}, {@code num_hidden_layers}, {@code bias}, {@code lens_type}, and {@code params.pt}, the
 * {@code torch.save}d state dict of its {@code layer_translators}: keys {@code {i}.weight} [d, d] and
 * {@code {i}.bias} [d]) without Python: the zip is read with {@link ZipFile}, {@code data.pkl} with
 * {@link TorchPickle}, the storages as little-endian F32, F16 or BF16.
 *
 * <p>The library's translator i reads {@code hidden_states[i]} of transformers, the input of block i: i = 0 is the
 * embedding output, i = l + 1 the output of block l. The import gives a {@link TunedLens.Parameterisation#RESIDUAL}
 * lens whose layer l (block l's output, l = 0 … L−2) holds the library's translator l + 1; the embedding translator
 * (i = 0) has no block of its own here and is dropped. The library's {@code unembed_hash} is computed differently
 * from {@link TunedLens#unembeddingHash} and cannot be checked: the imported lens is bound to the model given here,
 * after its width and depth are checked.
 */
public final class TunedLensLibraryImport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TunedLensLibraryImport() {
    }

    public static TunedLens load(Path dir, Model model) {
        Path cfgPath = dir.resolve("config.json"), params = dir.resolve("params.pt");
        if (!Files.isRegularFile(cfgPath)) throw new ModelLoadException(dir + ": no config.json (is this a tuned-lens library lens?)");
        if (!Files.isRegularFile(params)) throw new ModelLoadException(dir + ": no params.pt");
        JsonNode cfg;
        try {
            cfg = JSON.readTree(Files.readString(cfgPath));
        } catch (IOException e) {
            throw new ModelLoadException(cfgPath + ": cannot parse JSON: " + e.getMessage(), e);
        }
        String type = cfg.path("lens_type").asText("linear_tuned_lens");
        if (!type.equals("linear_tuned_lens")) throw new ModelLoadException(cfgPath + ": lens_type '" + type + "', only linear_tuned_lens is supported");
        int d = cfg.path("d_model").asInt(-1), n = cfg.path("num_hidden_layers").asInt(-1);
        boolean bias = cfg.path("bias").asBoolean(true);
        if (d != model.hiddenSize() || n != model.numLayers()) {
            throw new ModelLoadException(cfgPath + ": lens for d_model " + d + " and " + n + " layers, model " + model.config().source() + " has "
                    + model.hiddenSize() + " and " + model.numLayers());
        }
        TunedLens lens = TunedLens.identity(model, TunedLens.Parameterisation.RESIDUAL);
        try (ZipFile zip = new ZipFile(params.toFile())) {
            String prefix = null;
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                String name = en.nextElement().getName();
                if (name.endsWith("data.pkl")) prefix = name.substring(0, name.length() - "data.pkl".length());
            }
            if (prefix == null) throw new ModelLoadException(params + ": no data.pkl inside (not a torch.save zip archive; legacy torch files are not supported)");
            ZipEntry bo = zip.getEntry(prefix + "byteorder");
            if (bo != null && !new String(read(zip, bo)).strip().equals("little")) throw new ModelLoadException(params + ": big-endian storages are not supported");
            Object root = TorchPickle.load(read(zip, zip.getEntry(prefix + "data.pkl")), params + " data.pkl");
            if (!(root instanceof Map<?, ?> state)) throw new ModelLoadException(params + ": expected a state dict, found " + root);
            for (int l = 0; l + 1 < n; l++) {
                int i = l + 1;
                copy(zip, prefix, params, state, i + ".weight", new long[]{d, d}, lens.weight(l));
                if (bias) copy(zip, prefix, params, state, i + ".bias", new long[]{d}, lens.bias(l));
            }
        } catch (IOException e) {
            throw new ModelLoadException(params + ": cannot read: " + e.getMessage(), e);
        }
        return lens;
    }

    private static byte[] read(ZipFile zip, ZipEntry e) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        }
    }

    private static void copy(ZipFile zip, String prefix, Path file, Map<?, ?> state, String key, long[] shape, float[] into) throws IOException {
        Object o = state.get(key);
        if (!(o instanceof TorchPickle.Tensor t)) throw new ModelLoadException(file + ": missing tensor '" + key + "'" + (o == null ? "" : " (found " + o + ")"));
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new ModelLoadException(file + ": tensor '" + key + "' has shape " + java.util.Arrays.toString(t.shape()) + ", expected " + java.util.Arrays.toString(shape));
        }
        ZipEntry e = zip.getEntry(prefix + "data/" + t.storage().key());
        if (e == null) throw new ModelLoadException(file + ": storage data/" + t.storage().key() + " of tensor '" + key + "' is missing");
        ByteBuffer b = ByteBuffer.wrap(read(zip, e)).order(ByteOrder.LITTLE_ENDIAN);
        int width = switch (t.storage().type()) {
            case "FloatStorage" -> 4;
            case "HalfStorage", "BFloat16Storage" -> 2;
            default -> throw new ModelLoadException(file + ": tensor '" + key + "' has storage " + t.storage().type() + ", expected Float, Half or BFloat16");
        };
        int cols = shape.length == 2 ? (int) shape[1] : 1, rows = (int) shape[0];
        long s0 = t.stride()[0], s1 = shape.length == 2 ? t.stride()[1] : 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                long idx = t.offset() + r * s0 + c * s1;
                if ((idx + 1) * width > b.capacity()) throw new ModelLoadException(file + ": tensor '" + key + "' reads past its storage");
                int at = (int) (idx * width);
                into[r * cols + c] = switch (width) {
                    case 4 -> b.getFloat(at);
                    default -> t.storage().type().equals("HalfStorage") ? Float.float16ToFloat(b.getShort(at))
                            : Float.intBitsToFloat((b.getShort(at) & 0xffff) << 16);
                };
            }
        }
    }
}
