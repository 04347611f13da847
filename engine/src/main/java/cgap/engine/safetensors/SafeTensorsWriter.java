package cgap.engine.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a {@code .safetensors} file from float arrays, as F32 or BF16 (round to nearest even). The file appears
 * atomically (written beside, then renamed), so a reader never sees half of one.
 */
public final class SafeTensorsWriter {
    private record Entry(DType dtype, long[] shape, float[] data) {
    }

    private final Map<String, Entry> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter add(String name, DType dtype, long[] shape, float[] data) {
        if (dtype != DType.F32 && dtype != DType.BF16) throw new IllegalArgumentException(name + ": can write F32 or BF16, not " + dtype);
        long n = 1;
        for (long s : shape) n *= s;
        if (n != data.length) throw new IllegalArgumentException(name + ": shape " + java.util.Arrays.toString(shape) + " holds " + n + " values, got " + data.length);
        if (tensors.put(name, new Entry(dtype, shape.clone(), data)) != null) throw new IllegalArgumentException("tensor " + name + " added twice");
        return this;
    }

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Rounds an f32 to bf16 bits, nearest even (NaN stays NaN). */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    public void write(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (var e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype().name());
            var shape = t.putArray("shape");
            for (long s : e.getValue().shape()) shape.add(s);
            long bytes = (long) e.getValue().data().length * e.getValue().dtype().bytes;
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int pad = (8 - h.length % 8) % 8;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length + pad);
            out.write(len.array());
            out.write(h);
            for (int i = 0; i < pad; i++) out.write(' ');
            for (Entry e : tensors.values()) {
                ByteBuffer bb = ByteBuffer.allocate(e.data().length * e.dtype().bytes).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : e.data()) {
                    if (e.dtype() == DType.F32) bb.putFloat(v);
                    else bb.putShort(toBf16(v));
                }
                out.write(bb.array());
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
