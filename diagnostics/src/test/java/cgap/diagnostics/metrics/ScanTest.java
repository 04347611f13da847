package cgap.diagnostics.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link MetricKernels#scan} (vector passes) against {@link MetricKernels#scanScalar} (one id at a time). */
class ScanTest {

    private static void same(float[] row, boolean[] masked, String what) {
        double[] want = new double[3], got = new double[3];
        int a = MetricKernels.scanScalar(row, masked, want);
        int b = MetricKernels.scan(row, masked, got);
        assertEquals(a, b, what + ": top-1 id");
        assertEquals(want[1], got[1], 0.0, what + ": top-1 logit");
        assertEquals(want[2], got[2], 0.0, what + ": top-2 logit");
    }

    @Test
    void matchesScalarScanOnRowsWithTiesMasksAndTails() {
        Random r = new Random(11);
        for (int trial = 0; trial < 3000; trial++) {
            int n = 1 + r.nextInt(trial % 3 == 0 ? 40 : 700); // below, at and across vector widths, with tails
            float[] row = new float[n];
            int levels = trial % 4 == 0 ? 3 : 1 << 20; // few distinct values: ties at the top, and between top-1 and top-2
            for (int i = 0; i < n; i++) row[i] = (float) (r.nextInt(levels) - levels / 2) * 0.25f;
            boolean[] masked = null;
            if (trial % 2 == 1) {
                masked = new boolean[n];
                for (int i = 0; i < n; i++) masked[i] = r.nextInt(4) == 0;
                masked[r.nextInt(n)] = false;
                for (int i = 0; i < n; i++) if (masked[i] && r.nextBoolean()) row[i] = Float.NaN; // ignored where masked
            }
            if (trial % 5 == 0) row[r.nextInt(n)] = Float.NEGATIVE_INFINITY;
            boolean any = false;
            for (int i = 0; i < n; i++) any |= (masked == null || !masked[i]) && row[i] != Float.NEGATIVE_INFINITY;
            if (!any) continue;
            same(row, masked, "trial " + trial + " (n " + n + ")");
        }
    }

    @Test
    void topAtEveryPositionIncludingTheTail() {
        for (int n : new int[] {1, 15, 16, 17, 33, 100}) {
            for (int at = 0; at < n; at++) {
                float[] row = new float[n];
                for (int i = 0; i < n; i++) row[i] = -i;
                row[at] = 5;
                same(row, null, "n " + n + " top at " + at);
                row[n - 1 - at] = 5; // a tie: the lower id wins, the top-2 logit is the top-1's
                same(row, null, "n " + n + " tie at " + at + " and " + (n - 1 - at));
            }
        }
    }

    @Test
    void badLogitsAreReportedAtTheFirstBadId() {
        for (int n : new int[] {7, 16, 40, 1000}) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                float[] row = new float[n];
                row[n / 2] = bad;
                row[n - 1] = bad;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MetricKernels.scan(row, null, new double[3]));
                assertEquals("logit at id " + n / 2 + " is " + bad, e.getMessage());
                boolean[] masked = new boolean[n];
                masked[n / 2] = true;
                masked[n - 1] = true;
                same(row, masked, "bad logits at masked ids");
            }
        }
        float[] allMasked = {1, 2, Float.NEGATIVE_INFINITY};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MetricKernels.scan(allMasked, new boolean[] {true, true, false}, new double[3]));
        assertEquals("every id of the row is masked or -inf", e.getMessage());
    }
}
