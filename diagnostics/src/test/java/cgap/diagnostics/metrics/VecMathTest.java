package cgap.diagnostics.metrics;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The exponential and logarithm written out in the vectorised metric kernels, against java.lang.Math over their
 * working range and at the edges; and the vector loops against the scalar forms of the same polynomials, bit for bit.
 */
class VecMathTest {
    @Test
    void expRowMatchesMath() {
        Random r = new Random(3);
        int n = VecMath.N * 4000 + 5; // a vector part and a scalar tail
        float[] row = new float[n];
        float[] edges = {0, -0.0f, -1e-12f, -0.34657359f, -0.3465736f, -1, -700, -708, -707.99f, 0.5f, 3, -745, -1e30f,
                Float.NEGATIVE_INFINITY, -709};
        for (int i = 0; i < n; i++) row[i] = i < edges.length ? edges[i] : (float) (-r.nextDouble() * (i % 3 == 0 ? 1 : 720));
        row[n - 2] = -3.25f;
        double[] q = new double[n];
        double sum = MetricKernels.expRow(row, 0.0, null, q);
        double want = 0;
        for (int i = 0; i < n; i++) {
            double e = row[i] < -708 ? 0 : Math.exp(row[i]);
            want += e;
            assertEquals(e, q[i], Math.abs(e) * 1e-15, "exp(" + row[i] + ")");
            if (row[i] >= -708) assertEquals(VecMath.exp(row[i]), q[i], 0.0, "vector loop = scalar form at " + row[i]);
        }
        assertEquals(want, sum, want * 1e-14);
        boolean[] masked = new boolean[n];
        masked[3] = masked[n - 1] = true;
        MetricKernels.expRow(row, 0.0, masked, q);
        assertEquals(0.0, q[3], 0.0);
        assertEquals(0.0, q[n - 1], 0.0);
    }

    @Test
    void jsMatchesMath() {
        Random r = new Random(4);
        int n = VecMath.N * 4000 + 3;
        double[] pa = new double[n], pc = new double[n];
        for (int i = 0; i < n; i++) {
            pa[i] = i % 5 == 0 ? 0 : Math.exp(-r.nextDouble() * (i % 2 == 0 ? 2 : 700));
            pc[i] = i % 7 == 0 ? 0 : r.nextDouble();
        }
        pa[n - 1] = 1e-300;
        double want = 0;
        for (int i = 0; i < n; i++) {
            double m = 0.5 * (pa[i] + pc[i]);
            if (pa[i] > 0) want += pa[i] * Math.log(pa[i] / m);
            if (pc[i] > 0) want += pc[i] * Math.log(pc[i] / m);
        }
        assertEquals(0.5 * want, MetricKernels.js(pa, pc), Math.abs(want) * 1e-14);
        assertEquals(0.0, MetricKernels.js(pa, pa.clone()), 0.0, "JS of a row with itself is exactly 0");
        for (double x : new double[]{1e-300, 1e-17, 0.3, 0.70710678, 0.70710679, 1, 1.41421356, 1.5, 2}) {
            assertEquals(Math.log(x), VecMath.log(x), Math.abs(Math.log(x)) * 1e-15 + 1e-16, "log(" + x + ")");
        }
    }

    /**
     * {@link MetricKernels#js}'s vector loop against the scalar form of its logarithm ({@link VecMath#log}), bit for
     * bit. One id per row has probability in each trial (at a random lane of a one-vector row, or in the scalar tail),
     * so that the result is a single pair of terms and a difference of one ulp in a logarithm shows.
     */
    @Test
    void jsVectorLoopEqualsScalarFormBitForBit() {
        Random r = new Random(5);
        int w = VecMath.N;
        for (int trial = 0; trial < 20000; trial++) {
            double[] pa = new double[w + 1], pc = new double[w + 1];
            int at = r.nextInt(w + 1); // w: the scalar tail
            double a = Math.exp(-r.nextDouble() * (trial % 2 == 0 ? 3 : 690));
            double c = trial % 5 == 0 ? 0 : r.nextDouble() * (trial % 3 == 0 ? 1e-200 : 1);
            pa[at] = a;
            pc[at] = c;
            double m = 0.5 * (a + c);
            double want = a * VecMath.log(a / m);
            if (c > 0) want += c * VecMath.log(c / m);
            want = Math.max(0.0, 0.5 * want);
            double got = MetricKernels.js(pa, pc);
            assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got), "a=" + a + " c=" + c + " at " + at + ": " + want + " vs " + got);
        }
    }
}
