package cgap.engine.cpu;

import cgap.engine.backend.Weight;
import cgap.engine.safetensors.DType;

import java.lang.foreign.MemorySegment;

/** A weight on the CPU: the memory-mapped checkpoint bytes themselves (F32 or BF16), or an F32 copy of F16 data. */
public record CpuWeight(String name, DType dtype, int rows, int cols, MemorySegment seg) implements Weight {
}
