package cgap.engine.cpu;

import cgap.engine.safetensors.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The optimised matrix product against the plain reference, F32 and BF16, awkward sizes, one and several threads. */
class MatMulTest {
    static MemorySegment weights(Arena arena, DType dt, int n, int k, Random r) {
        return cgap.engine.testing.TinyModels.randomWeights(arena, dt, n, k, r);
    }

    @Test
    void optimisedEqualsReference() {
        Random r = new Random(7);
        int[][] shapes = {{1, 1, 1}, {1, 16, 4}, {3, 15, 5}, {4, 33, 8}, {5, 172, 64}, {17, 64, 67}, {70, 48, 9}, {130, 80, 33}, {9, 1100, 13}, {2, 96, 301}, {1, 1030, 517}, {1, 1024, 517}};
        try (Arena arena = Arena.ofShared(); CpuBackend one = new CpuBackend(1); CpuBackend two = new CpuBackend(2)) {
            for (DType dt : new DType[]{DType.F32, DType.BF16}) {
                for (int[] s : shapes) {
                    int m = s[0], k = s[1], n = s[2];
                    float[] x = new float[m * k];
                    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                    MemorySegment w = weights(arena, dt, n, k, r);
                    float[] ref = new float[m * n];
                    MatMul.reference(x, m, k, w, dt, n, ref);
                    for (CpuBackend be : new CpuBackend[]{one, two}) {
                        CpuBuf xb = new CpuBuf(x, m, k), ob = new CpuBuf(m, n);
                        be.matmul(xb, new CpuWeight("w", dt, n, k, w), null, ob);
                        for (int i = 0; i < ref.length; i++) {
                            // Summation order differs: allow f32 rounding of a k-term sum.
                            assertEquals(ref[i], ob.data()[i], 1e-5f * k + 1e-5f * Math.abs(ref[i]),
                                    dt + " m=" + m + " k=" + k + " n=" + n + " threads=" + be.threads() + " at " + i);
                        }
                    }
                }
            }
        }
    }

    /** A row's result is the same bits whatever the other rows of the call: M = 1 … 37 (few-row kernels, then tiles) against each row alone. */
    @Test
    void rowResultsDoNotDependOnTheBatch() {
        Random r = new Random(11);
        try (Arena arena = Arena.ofShared(); CpuBackend one = new CpuBackend(1); CpuBackend two = new CpuBackend(2)) {
            for (DType dt : new DType[]{DType.F32, DType.BF16}) {
                // n 333: several output blocks of the few-row kernels per task (MatMul.OUT_BLOCK steps), and leftover rows;
                // k 64 and 1024 (multiples of 32): one BF16 row of x takes dot8Bf16Run, its runs of several steps
                for (int[] kn : new int[][]{{7, 45}, {64, 45}, {93, 45}, {1100, 45}, {64, 333}, {1030, 333}, {1024, 600}}) {
                    int k = kn[0], n = kn[1];
                    CpuWeight w = new CpuWeight("w", dt, n, k, weights(arena, dt, n, k, r));
                    for (int m : new int[]{1, 2, 3, 4, 5, 8, 13, 37}) {
                        float[] x = new float[m * k];
                        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                        for (CpuBackend be : new CpuBackend[]{one, two}) {
                            CpuBuf all = new CpuBuf(m, n);
                            be.matmul(new CpuBuf(x, m, k), w, null, all);
                            for (int i = 0; i < m; i++) {
                                float[] xi = java.util.Arrays.copyOfRange(x, i * k, (i + 1) * k);
                                CpuBuf alone = new CpuBuf(1, n);
                                (i % 2 == 0 ? one : two).matmul(new CpuBuf(xi, 1, k), w, null, alone);
                                for (int j = 0; j < n; j++) {
                                    assertEquals(Float.floatToRawIntBits(alone.data()[j]), Float.floatToRawIntBits(all.data()[i * n + j]),
                                            dt + " k=" + k + " m=" + m + " row " + i + " col " + j + " threads=" + be.threads());
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** The benchmarks' tile-alone entry: each accumulator lane is its x lane times its W lane summed over the block's steps, over every block. */
    @Test
    void tilesAloneAccumulatesEveryLaneOverEveryBlock() {
        int tiles = 2, blocks = 3, steps = MatMul.KC / MatMul.L, lanes = MatMul.L;
        int[] sz = MatMul.tilesAloneSizes(tiles);
        float[] xt = new float[sz[0]], wp = new float[sz[1]], acc = new float[sz[2]];
        Random r = new Random(3);
        for (int i = 0; i < xt.length; i++) xt[i] = (float) r.nextGaussian();
        for (int i = 0; i < wp.length; i++) wp[i] = (float) r.nextGaussian();
        java.util.Arrays.fill(acc, Float.NaN); // the first block must start from zero, not from what acc held
        long flops = MatMul.tilesAlone(xt, tiles, wp, acc, blocks);
        assertEquals(2L * tiles * MatMul.TR * MatMul.TC * MatMul.KC * blocks, flops);
        for (int t = 0; t < tiles; t++) {
            for (int row = 0; row < MatMul.TR; row++) {
                for (int c = 0; c < MatMul.TC; c++) {
                    for (int l = 0; l < lanes; l++) {
                        double want = 0;
                        for (int s = 0; s < steps; s++) {
                            want += (double) xt[t * MatMul.TR * MatMul.KC + s * MatMul.TR * lanes + row * lanes + l] * wp[s * MatMul.TC * lanes + c * lanes + l];
                        }
                        want *= blocks;
                        float got = acc[t * MatMul.TR * MatMul.TC * lanes + (row * MatMul.TC + c) * lanes + l];
                        assertEquals(want, got, 1e-3 * (1 + Math.abs(want)), "tile " + t + " row " + row + " W row " + c + " lane " + l);
                    }
                }
            }
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> MatMul.tilesAlone(new float[1], 1, wp, acc, 1));
    }
}
