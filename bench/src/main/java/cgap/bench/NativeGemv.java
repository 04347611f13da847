package cgap.bench;

import cgap.engine.cpu.MatMul;
import cgap.engine.safetensors.DType;
import cgap.engine.testing.LlamaCppReference;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The C twin of MatMul's BF16 decode GEMV ({@code bench/native/gemv_bf16.c}), compiled here with gcc and called through
 * FFM, for {@code ./bench/gemv-anatomy --native yes}: a yardstick of what the same split and arithmetic cost when a C
 * compiler schedules them. Benchmark only; the engine never loads native code for the CPU backend.
 */
final class NativeGemv {
    private final MethodHandle rows;
    private final MemorySegment x, out;
    private final int k, n;

    private NativeGemv(MethodHandle rows, MemorySegment x, MemorySegment out, int k, int n) {
        this.rows = rows;
        this.x = x;
        this.out = out;
        this.k = k;
        this.n = n;
    }

    /** Compiles the C source (under the repository root, {@link LlamaCppReference#repoRoot}) and binds it; x is prepared as MatMul does. */
    static NativeGemv build(Arena arena, float[] xs, int k, int n) throws IOException {
        Path src = LlamaCppReference.repoRoot().resolve("bench/native/gemv_bf16.c");
        if (!Files.isRegularFile(src)) throw new IOException("--native yes: C source not found at " + src.toAbsolutePath());
        Path lib = Files.createTempFile("cgap-gemv-bf16", ".so");
        lib.toFile().deleteOnExit();
        Process p = new ProcessBuilder("gcc", "-O3", "-march=native", "-shared", "-fPIC", "-o", lib.toString(), src.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        try {
            if (p.waitFor() != 0) throw new IOException("--native yes: gcc failed on " + src + ":\n" + log);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while compiling " + src, e);
        }
        MethodHandle h = Linker.nativeLinker().downcallHandle(SymbolLookup.libraryLookup(lib, arena).find("cgap_gemv_bf16_rows").orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS));
        float[] pair = MatMul.prepare(xs, 1, k, DType.BF16).rows();
        MemorySegment x = arena.allocate(4L * k, 64);
        MemorySegment.copy(pair, 0, x, ValueLayout.JAVA_FLOAT, 0, k);
        return new NativeGemv(h, x, arena.allocate(4L * n, 64), k, n);
    }

    /** Outputs [n0, n1) of W·x, W the whole mapped BF16 weight, eight rows per step as the product takes them. */
    void rows(MemorySegment w, int n0, int n1) {
        try {
            rows.invokeExact(w, x, k, n0, n1, out);
        } catch (Throwable e) {
            throw new IllegalStateException("native GEMV rows [" + n0 + ", " + n1 + ")", e);
        }
    }

    /** The largest |C − Java| over all outputs relative to the largest |Java| output; fails past 1e-4 (not the same product). */
    double check(float[] java) {
        double worst = 0, scale = 0;
        for (int j = 0; j < n; j++) {
            scale = Math.max(scale, Math.abs(java[j]));
            worst = Math.max(worst, Math.abs(out.getAtIndex(ValueLayout.JAVA_FLOAT, j) - java[j]));
        }
        double rel = worst / Math.max(scale, Float.MIN_NORMAL);
        if (!(rel <= 1e-4)) throw new IllegalStateException("the C kernel and CpuBackend.matmul disagree: largest difference " + rel + " of the largest output");
        return rel;
    }
}
