package cgap.engine.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vectorised f32 exp and SiLU against their scalar forms (bit for bit) and against double precision. */
class VecExpTest {
    @Test
    void scalarExpIsAccurate() {
        Random r = new Random(3);
        double worst = 0;
        for (int i = 0; i < 200_000; i++) {
            float x = VecExp.MIN_ARG + r.nextFloat() * (VecExp.MAX_ARG - VecExp.MIN_ARG);
            double exact = Math.exp(x);
            float got = VecExp.exp(x);
            double ulps = Math.abs(got - exact) / Math.ulp((float) exact);
            worst = Math.max(worst, ulps);
        }
        assertTrue(worst <= 4, "worst error " + worst + " ulp");
        assertEquals(1f, VecExp.exp(0f));
        assertEquals(0f, VecExp.exp(-100f));
        assertEquals(0f, VecExp.exp(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(VecExp.exp(Float.NaN)));
    }

    @Test
    void expShiftedEqualsScalarBitForBit() {
        Random r = new Random(5);
        float[] lanes = new float[MatMul.L];
        for (int n = 1; n <= 3 * MatMul.L + 5; n++) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 30);
            x[r.nextInt(n)] = -200f; // under the range: exactly 0
            float max = Float.NEGATIVE_INFINITY;
            for (float v : x) max = Math.max(max, v);
            float[] y = x.clone();
            float sum = VecExp.expShifted(y, n, max, lanes);
            double exactSum = 0;
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(VecExp.exp(x[i] - max)), Float.floatToRawIntBits(y[i]), "n " + n + " at " + i);
                exactSum += Math.exp((double) x[i] - max);
            }
            assertEquals(exactSum, sum, 1e-6 * exactSum, "sum, n " + n);
        }
    }

    @Test
    void siluMatchesScalarAndDouble() {
        Random r = new Random(8);
        int n = 5 * MatMul.L + 3;
        float[] g = new float[n], u = new float[n], out = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) (r.nextGaussian() * 8);
            u[i] = (float) r.nextGaussian();
        }
        g[0] = -120f;
        g[1] = 95f;
        VecExp.siluMul(g, u, out, 0, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(VecExp.silu(g[i]) * u[i]), Float.floatToRawIntBits(out[i]), "at " + i);
            double exact = g[i] / (1 + Math.exp(-(double) g[i])) * u[i];
            assertEquals(exact, out[i], 1e-6 * Math.abs(exact) + 1e-30, "silu at " + i + " g=" + g[i]);
        }
    }
}
