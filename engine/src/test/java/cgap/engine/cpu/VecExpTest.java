package cgap.engine.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The f32 exp and SiLU: vector lanes against the scalar form (bit for bit), both against double precision. */
class VecExpTest {
    @Test
    void expIsAccurateAndVectorEqualsScalar() {
        Random r = new Random(1);
        for (int n : new int[]{1, 15, 16, 17, 1037}) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) (-90 * r.nextDouble());
            x[0] = 0;
            if (n > 3) {
                x[1] = -87.29f;
                x[2] = Float.NEGATIVE_INFINITY;
                x[3] = -1e-9f;
            }
            float[] v = x.clone();
            double sum = VecExp.expShifted(v, 0, n, 0f);
            double ref = 0;
            for (int i = 0; i < n; i++) {
                float s = VecExp.exp(x[i]);
                assertEquals(Float.floatToRawIntBits(s), Float.floatToRawIntBits(v[i]), "vector and scalar exp differ at x = " + x[i]);
                double e = Math.exp(x[i]);
                if (x[i] >= VecExp.MIN_X) assertEquals(e, s, 3e-7 * e, "exp(" + x[i] + ")");
                else assertEquals(0f, s);
                ref += s;
            }
            assertEquals(ref, sum, 1e-6 * ref);
        }
        assertEquals(1f, VecExp.exp(0f));
    }

    @Test
    void positiveArgumentsUpToTheLimit() {
        Random r = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            float x = r.nextFloat() * VecExp.MAX_X;
            double e = Math.exp(x);
            assertEquals(e, VecExp.exp(x), 3e-7 * e, "exp(" + x + ")");
        }
        assertTrue(Float.isFinite(VecExp.exp(VecExp.MAX_X)));
    }

    @Test
    void siluMatchesScalarAndDouble() {
        Random r = new Random(8);
        int n = 5 * VecExp.F.length() + 3;
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
