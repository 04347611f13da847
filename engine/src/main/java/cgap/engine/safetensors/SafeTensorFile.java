package cgap.engine.safetensors;

import cgap.engine.ModelLoadException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped read-only with FFM. Layout: an 8-byte little-endian header length N,
 * N bytes of JSON ({@code name -> {dtype, shape, data_offsets:[begin,end]}}, plus an optional {@code __metadata__}),
 * then the data section; offsets are relative to the data section.
 *
 * <p>Every structural property is validated before any tensor is handed out, so that a hostile or truncated file
 * produces a {@link ModelLoadException} naming the file and tensor, never an out-of-bounds native read.
 */
public final class SafeTensorFile implements AutoCloseable {
    /** Headers larger than this are refused (the format's reference implementation uses 100 MB). */
    static final long MAX_HEADER = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final Arena arena;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensorFile(Path path, Arena arena, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafeTensorFile open(Path path) {
        Arena arena = Arena.ofShared();
        try {
            return open(path, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static SafeTensorFile open(Path path, Arena arena) {
        MemorySegment file;
        long size;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            size = ch.size();
            if (size < 8) {
                throw new ModelLoadException(path + ": not a safetensors file: " + size + " bytes, expected at least 8 (header length)");
            }
            file = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw new ModelLoadException(path + ": cannot open safetensors file: " + e.getMessage(), e);
        }
        long headerLen = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 2 || headerLen > size - 8) {
            throw new ModelLoadException(path + ": header length " + headerLen + " does not fit the file: expected 2.." + (size - 8)
                    + " (file is " + size + " bytes)");
        }
        if (headerLen > MAX_HEADER) {
            throw new ModelLoadException(path + ": header length " + headerLen + " exceeds the limit of " + MAX_HEADER + " bytes");
        }
        byte[] hb = file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(new String(hb, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new ModelLoadException(path + ": header is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelLoadException(path + ": header must be a JSON object, found " + (root == null ? "nothing" : root.getNodeType()));
        }
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;
        MemorySegment data = file.asSlice(dataStart, dataLen);
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        List<String> rangeNames = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode t = e.getValue();
            if (name.equals("__metadata__")) {
                if (t.isObject()) t.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            String where = path + ": tensor '" + name + "'";
            if (!t.isObject()) throw new ModelLoadException(where + ": entry must be an object, found " + t.getNodeType());
            JsonNode dt = t.get("dtype"), sh = t.get("shape"), off = t.get("data_offsets");
            if (dt == null || !dt.isTextual()) throw new ModelLoadException(where + ": missing 'dtype'");
            DType dtype = DType.parse(dt.asText());
            if (dtype == null) throw new ModelLoadException(where + ": unknown dtype '" + dt.asText() + "'");
            if (sh == null || !sh.isArray()) throw new ModelLoadException(where + ": missing 'shape' array");
            long[] shape = new long[sh.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = sh.get(i);
                if (!d.canConvertToLong() || d.asLong() < 0) throw new ModelLoadException(where + ": shape entry " + i + " is '" + d + "', expected a non-negative integer");
                shape[i] = d.asLong();
                numel = Math.multiplyExact(numel, shape[i]);
            }
            if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
                throw new ModelLoadException(where + ": 'data_offsets' must be [begin, end], found " + off);
            }
            long begin = off.get(0).asLong(), end = off.get(1).asLong();
            if (begin < 0 || end < begin || end > dataLen) {
                throw new ModelLoadException(where + ": data_offsets [" + begin + ", " + end + "] lie outside the data section of " + dataLen + " bytes");
            }
            long expected = Math.multiplyExact(numel, dtype.bytes);
            if (end - begin != expected) {
                throw new ModelLoadException(where + ": shape " + java.util.Arrays.toString(shape) + " x " + dtype + " needs " + expected
                        + " bytes but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
            }
            ranges.add(new long[]{begin, end, ranges.size()});
            rangeNames.add(name);
            tensors.put(name, new TensorInfo(name, dtype, shape, path, data.asSlice(begin, end - begin)));
        }
        ranges.sort(Comparator.<long[]>comparingLong(r -> r[0]).thenComparingLong(r -> r[1]));
        for (int i = 1; i < ranges.size(); i++) {
            long[] a = ranges.get(i - 1), b = ranges.get(i);
            if (b[0] < a[1] && b[1] > b[0] && a[1] > a[0]) {
                throw new ModelLoadException(path + ": tensors '" + rangeNames.get((int) a[2]) + "' [" + a[0] + ", " + a[1] + "] and '"
                        + rangeNames.get((int) b[2]) + "' [" + b[0] + ", " + b[1] + "] overlap in the data section");
            }
        }
        return new SafeTensorFile(path, arena, tensors, metadata);
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        arena.close();
    }
}
