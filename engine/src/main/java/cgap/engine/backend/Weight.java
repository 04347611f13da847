package cgap.engine.backend;

import cgap.engine.safetensors.DType;

/** A read-only weight tensor in a backend's memory: a vector [cols] (rows = 1) or a matrix [rows, cols]. */
public interface Weight {
    String name();

    DType dtype();

    int rows();

    int cols();
}
