package cgap.engine.safetensors;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a checkpoint: its name, type, shape and the zero-copy slice of the memory-mapped file that holds it.
 * The segment stays valid while the {@link SafeTensors} that produced it is open; afterwards any access throws
 * {@link IllegalStateException} (never a JVM crash).
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, MemorySegment data) {

    public long numel() {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return Math.toIntExact(shape[i]);
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** Reads element i as a float, whatever the floating type. Slow path for tests and small tensors. */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case BF16 -> Float.intBitsToFloat((data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xffff) << 16);
            case F16 -> Float.float16ToFloat(data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i));
            case F64 -> (float) data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
            default -> throw new IllegalStateException("tensor " + name + " in " + file + " has dtype " + dtype + ", not a float type");
        };
    }

    /** Copies the whole tensor to a float array (widening BF16/F16). */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE) throw new IllegalStateException("tensor " + name + " too large for an array: " + n);
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        return out;
    }
}
