package cgap.engine;

import cgap.engine.safetensors.DType;
import cgap.engine.safetensors.SafeTensors;
import cgap.engine.safetensors.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsTest {
    @TempDir
    Path dir;

    /** Writes a raw safetensors file: header text as given, then {@code dataBytes} bytes 0,1,2,... */
    static Path raw(Path file, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bb = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(h.length).put(h);
        for (int i = 0; i < dataBytes; i++) bb.put((byte) i);
        Files.write(file, bb.array());
        return file;
    }

    static ModelLoadException fails(Path p) {
        return assertThrows(ModelLoadException.class, () -> SafeTensors.open(p).close());
    }

    @Test
    void readsF32Bf16F16() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        d.putFloat(1.5f).putFloat(-2f);                        // a: F32 [2]
        d.putShort((short) (Float.floatToIntBits(3f) >>> 16)); // b: BF16 [1]
        d.putShort(Float.floatToFloat16(0.25f));               // c: F16 [1]
        String header = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]},\"c\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[10,12]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bb = ByteBuffer.allocate(8 + h.length + 12).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(h.length).put(h).put(d.array(), 0, 12);
        Path f = dir.resolve("model.safetensors");
        Files.write(f, bb.array());
        try (SafeTensors st = SafeTensors.open(dir)) {
            assertArrayEquals(new float[]{1.5f, -2f}, st.get("a").toFloatArray());
            assertEquals(3f, st.get("b").getFloat(0));
            assertEquals(DType.F16, st.get("c").dtype());
            assertEquals(0.25f, st.get("c").getFloat(0));
            assertEquals(3, st.names().size());
        }
    }

    @Test
    void headerLengthPastFile() throws IOException {
        Path f = dir.resolve("x.safetensors");
        ByteBuffer bb = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Files.write(f, bb.array());
        var e = fails(f);
        assertTrue(e.getMessage().contains("header length 1000"), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()));
    }

    @Test
    void tinyFile() throws IOException {
        Path f = Files.write(dir.resolve("x.safetensors"), new byte[3]);
        assertTrue(fails(f).getMessage().contains("at least 8"));
    }

    @Test
    void offsetsOutsideData() throws IOException {
        Path f = raw(dir.resolve("x.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        var e = fails(f);
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("outside the data section"), e.getMessage());
    }

    @Test
    void overlappingTensors() throws IOException {
        Path f = raw(dir.resolve("x.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        var e = fails(f);
        assertTrue(e.getMessage().contains("overlap") && e.getMessage().contains("'a'") && e.getMessage().contains("'b'"), e.getMessage());
    }

    @Test
    void shapeTimesDtypeMismatch() throws IOException {
        Path f = raw(dir.resolve("x.safetensors"), "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[0,8]}}", 8);
        var e = fails(f);
        assertTrue(e.getMessage().contains("needs 12 bytes") && e.getMessage().contains("'w'"), e.getMessage());
    }

    @Test
    void unknownDtype() throws IOException {
        Path f = raw(dir.resolve("x.safetensors"), "{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        var e = fails(f);
        assertTrue(e.getMessage().contains("unknown dtype 'Q4'") && e.getMessage().contains("'w'"), e.getMessage());
    }

    @Test
    void badJsonHeader() throws IOException {
        Path f = raw(dir.resolve("x.safetensors"), "{not json", 0);
        assertTrue(fails(f).getMessage().contains("not valid JSON"));
    }

    @Test
    void missingTensorAndWrongShapeAndWrongDtype() throws IOException {
        raw(dir.resolve("model.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                + "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[16,24]}}", 24);
        try (SafeTensors st = SafeTensors.open(dir)) {
            var e = assertThrows(ModelLoadException.class, () -> st.get("missing.weight"));
            assertTrue(e.getMessage().contains("missing tensor 'missing.weight'"));
            e = assertThrows(ModelLoadException.class, () -> st.get("w", 4, 2));
            assertTrue(e.getMessage().contains("shape [2, 2], expected [4, 2]"), e.getMessage());
            e = assertThrows(ModelLoadException.class, () -> st.get("i", 2));
            assertTrue(e.getMessage().contains("dtype I32"), e.getMessage());
        }
    }

    @Test
    void shardedCheckpointAndIndexErrors() throws IOException {
        raw(dir.resolve("model-00001-of-00002.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        raw(dir.resolve("model-00002-of-00002.safetensors"), "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
        try (SafeTensors st = SafeTensors.open(dir)) {
            assertTrue(st.contains("a") && st.contains("b"));
            assertEquals(Float.intBitsToFloat(0x03020100), st.get("b").getFloat(0));
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"c\":\"model-00003-of-00003.safetensors\"}}");
        assertTrue(fails(dir).getMessage().contains("model-00003-of-00003.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"z\":\"model-00002-of-00002.safetensors\"}}");
        assertTrue(fails(dir).getMessage().contains("'z'"));
    }

    @Test
    void emptyFolder() {
        assertTrue(fails(dir).getMessage().contains("no model.safetensors"));
    }

    @Test
    void mappingsAreSharedAndOutliveOneOwner() throws IOException {
        raw(dir.resolve("model.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        int before = SafeTensors.openFileCount();
        SafeTensors one = SafeTensors.open(dir);
        SafeTensors two = SafeTensors.open(dir);
        assertEquals(before + 1, SafeTensors.openFileCount(), "the same file is mapped once");
        TensorInfo a2 = two.get("a");
        one.close();
        assertEquals(Float.intBitsToFloat(0x03020100), a2.getFloat(0), "closing one owner keeps the other's tensors valid");
        two.close();
        assertEquals(before, SafeTensors.openFileCount());
        assertThrows(IllegalStateException.class, () -> a2.getFloat(0), "a tensor of a closed checkpoint is refused, not a crash");
        assertThrows(IllegalStateException.class, () -> two.get("a"));
    }
}
