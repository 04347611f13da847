package cgap.engine.safetensors;

import cgap.engine.ModelLoadException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensors of a checkpoint folder: a single {@code model.safetensors} or the shards named by
 * {@code model.safetensors.index.json}. Files are memory-mapped once per process and reference-counted, so two
 * models opened on the same files (a PT host and itself as donor, say) share the mapping, and closing one never
 * invalidates the other's tensors.
 */
public final class SafeTensors implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<Path, Shared> OPEN = new HashMap<>();

    private static final class Shared {
        final SafeTensorFile file;
        int refs;

        Shared(SafeTensorFile file) {
            this.file = file;
        }
    }

    private final Path dir;
    private final List<Path> files;
    private final Map<String, TensorInfo> tensors;
    private boolean closed;

    private SafeTensors(Path dir, List<Path> files, Map<String, TensorInfo> tensors) {
        this.dir = dir;
        this.files = files;
        this.tensors = tensors;
    }

    /** Opens a checkpoint folder (or a single .safetensors file). */
    public static SafeTensors open(Path dirOrFile) {
        Path dir = Files.isDirectory(dirOrFile) ? dirOrFile : dirOrFile.getParent();
        List<Path> files = new ArrayList<>();
        Map<String, String> expectedShard = null;
        if (!Files.isDirectory(dirOrFile)) {
            files.add(dirOrFile);
        } else {
            Path index = dir.resolve("model.safetensors.index.json");
            Path single = dir.resolve("model.safetensors");
            if (Files.isRegularFile(index)) {
                expectedShard = readIndex(index);
                for (String f : new TreeSet<>(expectedShard.values())) {
                    Path p = dir.resolve(f).normalize();
                    if (!p.startsWith(dir.normalize())) throw new ModelLoadException(index + ": shard '" + f + "' lies outside " + dir);
                    if (!Files.isRegularFile(p)) throw new ModelLoadException(index + ": names shard '" + f + "', which is missing from " + dir);
                    files.add(p);
                }
            } else if (Files.isRegularFile(single)) {
                files.add(single);
            } else {
                throw new ModelLoadException(dir + ": no model.safetensors or model.safetensors.index.json found");
            }
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        List<Path> acquired = new ArrayList<>();
        try {
            for (Path f : files) {
                SafeTensorFile stf = acquire(f);
                acquired.add(f);
                for (TensorInfo t : stf.tensors().values()) {
                    TensorInfo prev = tensors.putIfAbsent(t.name(), t);
                    if (prev != null) throw new ModelLoadException(dir + ": tensor '" + t.name() + "' appears in both " + prev.file().getFileName() + " and " + f.getFileName());
                }
            }
            if (expectedShard != null) {
                for (Map.Entry<String, String> e : expectedShard.entrySet()) {
                    TensorInfo t = tensors.get(e.getKey());
                    if (t == null) throw new ModelLoadException(dir + ": index names tensor '" + e.getKey() + "' in " + e.getValue() + ", but that shard does not contain it");
                    if (!t.file().getFileName().toString().equals(Path.of(e.getValue()).getFileName().toString())) {
                        throw new ModelLoadException(dir + ": index puts tensor '" + e.getKey() + "' in " + e.getValue() + ", found in " + t.file().getFileName());
                    }
                }
            }
        } catch (RuntimeException e) {
            for (Path f : acquired) release(f);
            throw e;
        }
        return new SafeTensors(dir, List.copyOf(acquired), Collections.unmodifiableMap(tensors));
    }

    private static Map<String, String> readIndex(Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (IOException e) {
            throw new ModelLoadException(index + ": cannot read index JSON: " + e.getMessage(), e);
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) throw new ModelLoadException(index + ": missing object field 'weight_map'");
        Map<String, String> m = new LinkedHashMap<>();
        wm.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) throw new ModelLoadException(index + ": weight_map['" + e.getKey() + "'] must be a file name, found " + e.getValue());
            m.put(e.getKey(), e.getValue().asText());
        });
        return m;
    }

    private static synchronized SafeTensorFile acquire(Path f) {
        Path key;
        try {
            key = f.toRealPath();
        } catch (IOException e) {
            throw new ModelLoadException(f + ": cannot open: " + e.getMessage(), e);
        }
        Shared s = OPEN.get(key);
        if (s == null) {
            s = new Shared(SafeTensorFile.open(f));
            OPEN.put(key, s);
        }
        s.refs++;
        return s.file;
    }

    private static synchronized void release(Path f) {
        Path key;
        try {
            key = f.toRealPath();
        } catch (IOException e) {
            return;
        }
        Shared s = OPEN.get(key);
        if (s != null && --s.refs == 0) {
            OPEN.remove(key);
            s.file.close();
        }
    }

    /** Number of distinct mapped files open in this process (for tests of the sharing). */
    public static synchronized int openFileCount() {
        return OPEN.size();
    }

    public Path dir() {
        return dir;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    /** The tensor, or a {@link ModelLoadException} naming the folder and the missing tensor. */
    public TensorInfo get(String name) {
        if (closed) throw new IllegalStateException(dir + ": checkpoint is closed");
        TensorInfo t = tensors.get(name);
        if (t == null) throw new ModelLoadException(dir + ": missing tensor '" + name + "'");
        return t;
    }

    /** The tensor, checked against the shape the architecture expects. */
    public TensorInfo get(String name, long... expectedShape) {
        TensorInfo t = get(name);
        if (!java.util.Arrays.equals(t.shape(), expectedShape)) {
            throw new ModelLoadException(dir + ": tensor '" + name + "' has shape " + t.shapeString() + ", expected "
                    + java.util.Arrays.toString(expectedShape) + " for this architecture");
        }
        if (!t.dtype().isFloatWeight()) {
            throw new ModelLoadException(dir + ": tensor '" + name + "' has dtype " + t.dtype() + ", expected F32, BF16 or F16");
        }
        return t;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Path f : files) release(f);
    }
}
