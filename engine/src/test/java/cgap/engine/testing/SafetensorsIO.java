package cgap.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A tiny, independent safetensors writer and reader for tests (no dependency on the engine's own loader).
 *
 * <p>File layout: u64 little-endian header length N, N bytes of UTF-8 JSON
 * {@code {"__metadata__":{"format":"pt"}, "<name>":{"dtype":"F32"|"BF16","shape":[...],"data_offsets":[begin,end]}, ...}}
 * padded with spaces so the data section starts 8-byte aligned, then the tensors' little-endian data back to back
 * (offsets relative to the data section). BF16 values are written rounded to nearest even from the float values.
 */
public final class SafetensorsIO {
    private SafetensorsIO() {
    }

    /** A tensor: dtype "F32" | "BF16" | "F16", its shape, and its values as floats (row-major). */
    public record Tensor(String dtype, long[] shape, float[] data) {
        public Tensor {
            long n = 1;
            for (long d : shape) n *= d;
            if (n != data.length) throw new IllegalArgumentException("shape holds " + n + " values, data " + data.length);
        }

        public int rows() {
            return shape.length == 1 ? 1 : (int) shape[0];
        }

        public int cols() {
            return (int) shape[shape.length - 1];
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            long bytes = (long) t.data().length * elementSize(t.dtype());
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", t.dtype());
            info.put("shape", t.shape());
            info.put("data_offsets", new long[] {offset, offset + bytes});
            header.put(e.getKey(), info);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 8 + 7) / 8 * 8 - 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(head.array());
            for (Tensor t : tensors.values()) {
                int es = elementSize(t.dtype());
                ByteBuffer b = ByteBuffer.allocate(t.data().length * es).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : t.data()) {
                    switch (t.dtype()) {
                        case "F32" -> b.putFloat(v);
                        case "BF16" -> b.putShort(toBf16(v));
                        case "F16" -> b.putShort(Float.floatToFloat16(v));
                        default -> throw new IllegalArgumentException(t.dtype());
                    }
                }
                out.write(b.array());
            }
        }
    }

    /** Reads every tensor of one safetensors file, converting to float. */
    public static Map<String, Tensor> read(Path file) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            long n = all.getLong(0);
            byte[] json = new byte[(int) n];
            all.get(8, json);
            JsonNode header = JSON.readTree(new String(json, StandardCharsets.UTF_8));
            long base = 8 + n;
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) continue;
                JsonNode info = e.getValue();
                String dtype = info.get("dtype").asText();
                long[] shape = new long[info.get("shape").size()];
                long count = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = info.get("shape").get(i).asLong();
                    count *= shape[i];
                }
                long begin = base + info.get("data_offsets").get(0).asLong();
                float[] data = new float[Math.toIntExact(count)];
                int pos = Math.toIntExact(begin);
                for (int i = 0; i < data.length; i++) {
                    data[i] = switch (dtype) {
                        case "F32" -> all.getFloat(pos + 4 * i);
                        case "BF16" -> Float.intBitsToFloat((all.getShort(pos + 2 * i) & 0xffff) << 16);
                        case "F16" -> Float.float16ToFloat(all.getShort(pos + 2 * i));
                        default -> throw new IOException(file + ": unsupported dtype " + dtype + " of " + e.getKey());
                    };
                }
                out.put(e.getKey(), new Tensor(dtype, shape, data));
            }
        }
        return out;
    }

    /** Reads model.safetensors, or every shard named by model.safetensors.index.json, of an HF folder. */
    public static Map<String, Tensor> readModel(Path dir) throws IOException {
        Path single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) return read(single);
        JsonNode index = JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
        Map<String, Tensor> out = new LinkedHashMap<>();
        java.util.Set<String> files = new java.util.TreeSet<>();
        index.get("weight_map").forEach(f -> files.add(f.asText()));
        for (String f : files) out.putAll(read(dir.resolve(f)));
        return out;
    }

    public static int elementSize(String dtype) {
        return switch (dtype) {
            case "F32" -> 4;
            case "BF16", "F16" -> 2;
            default -> throw new IllegalArgumentException("dtype " + dtype);
        };
    }

    /** float -> bfloat16 bits, round to nearest even (NaN kept quiet). */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** The float a value becomes once stored as bfloat16. */
    public static float roundBf16(float v) {
        return Float.intBitsToFloat((toBf16(v) & 0xffff) << 16);
    }
}
