package cgap.engine.backend;

/** A row-major f32 matrix of activations living in a backend's memory (host arrays on CPU, device memory on GPU). */
public interface Buf {
    int rows();

    int cols();
}
