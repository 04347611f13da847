package cgap.engine.cpu;

import cgap.engine.backend.Buf;

/** Activations on the heap: a row-major float array. */
public record CpuBuf(float[] data, int rows, int cols) implements Buf {
    public CpuBuf(int rows, int cols) {
        this(new float[Math.multiplyExact(rows, cols)], rows, cols);
    }
}
