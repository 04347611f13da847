package cgap.diagnostics.stats;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterBootstrapTest {

    private static double[] normal(SplittableRandom rng, int n, double mu, double sigma) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = mu + sigma * rng.nextGaussian();
        }
        return x;
    }

    /**
     * 400 prompt means from N(1, 2²): the 95% percentile interval of the mean should cover 1 and have width
     * ≈ 2·1.96·2/√400 = 0.392. Seeded, so this exact interval is reproducible.
     */
    @Test
    void meanOfNormalSamples() {
        double[] x = normal(new SplittableRandom(1), 400, 1.0, 2.0);
        ClusterBootstrap b = new ClusterBootstrap(12345L);
        assertEquals(2000, b.resamples());
        assertEquals(0.95, b.level());
        Estimate e = b.mean(x);
        assertEquals(Aggregation.modelMean(x), e.value(), 1e-15);
        assertTrue(e.covers(1.0), e.toString());
        assertTrue(e.lo() < e.value() && e.value() < e.hi());
        assertEquals(0.392, e.width(), 0.392 * 0.12, e.toString());
        assertEquals(2000, e.resamples());
        assertEquals(12345L, e.seed());
        // deterministic: same seed → identical; another seed → different bounds
        assertEquals(e, new ClusterBootstrap(12345L).mean(x));
        assertNotEquals(e.lo(), new ClusterBootstrap(999L).mean(x).lo());
    }

    /** Over 200 independent data sets the nominal 95% interval covers the truth ≈ 95% of the time. */
    @Test
    void coverageIsNearNominal() {
        SplittableRandom data = new SplittableRandom(77);
        int covered = 0;
        int trials = 200;
        for (int t = 0; t < trials; t++) {
            double[] x = normal(data, 200, -0.5, 1.0);
            if (new ClusterBootstrap(500, t, 0.95).mean(x).covers(-0.5)) {
                covered++;
            }
        }
        // binomial(200, 0.95) has sd ≈ 3.1; the percentile bootstrap undercovers slightly at n = 200
        assertTrue(covered >= 176 && covered <= 199, "covered " + covered + "/" + trials);
    }

    /** The documented RNG order: one SplittableRandom(seed), resample → model → draw, each draw nextInt(n_f). */
    @Test
    void documentedDrawOrder() {
        int[] clusters = {3, 5};
        List<int[][]> seen = new ArrayList<>();
        new ClusterBootstrap(4, 42L, 0.9).run(clusters, counts -> {
            seen.add(new int[][] {counts[0].clone(), counts[1].clone()});
            assertEquals(3, java.util.Arrays.stream(counts[0]).sum());
            assertEquals(5, java.util.Arrays.stream(counts[1]).sum());
            return new double[] {0};
        });
        assertEquals(5, seen.size());
        assertArrayEquals(new int[] {1, 1, 1}, seen.get(0)[0]); // the original sample first
        SplittableRandom rng = new SplittableRandom(42L);
        for (int r = 1; r <= 4; r++) {
            int[] a = new int[3];
            for (int d = 0; d < 3; d++) {
                a[rng.nextInt(3)]++;
            }
            int[] c = new int[5];
            for (int d = 0; d < 5; d++) {
                c[rng.nextInt(5)]++;
            }
            assertArrayEquals(a, seen.get(r)[0], "resample " + r);
            assertArrayEquals(c, seen.get(r)[1], "resample " + r);
        }
    }

    /**
     * Equal-weight mean over models, resampled within each model: model A (10 prompts, mean ≈ 0), model B
     * (1000 prompts, mean ≈ 10). Equal weight → ≈ 5, not the pooled ≈ 9.9.
     */
    @Test
    void equalWeightOverModels() {
        SplittableRandom rng = new SplittableRandom(3);
        double[] a = normal(rng, 10, 0, 0.1);
        double[] b = normal(rng, 1000, 10, 0.1);
        Estimate e = new ClusterBootstrap(500, 1L, 0.95).equalWeightMean(List.of(a, b));
        assertEquals((Aggregation.modelMean(a) + Aggregation.modelMean(b)) / 2, e.value(), 1e-12);
        assertEquals(5.0, e.value(), 0.1);
        assertTrue(e.covers(e.value()));
    }

    /**
     * Paired resampling. Prompt difficulty a_i ~ N(0, 3²) is shared by PT and IT; IT = PT + 0.5 + N(0, 0.05²).
     * Resampling prompt ids jointly cancels a_i: the paired interval is ≈ 2·1.96·0.05/√300 ≈ 0.011 wide.
     * Resampling PT and IT independently (the wrong design for paired data) gives ≈ 2·1.96·3·√2/√300 ≈ 0.96.
     */
    @Test
    void pairedGapResamplesPromptIdsJointly() {
        SplittableRandom rng = new SplittableRandom(11);
        Map<String, Double> pt = new LinkedHashMap<>();
        Map<String, Double> it = new LinkedHashMap<>();
        for (int i = 0; i < 300; i++) {
            double a = 3 * rng.nextGaussian();
            pt.put("p" + i, a);
            it.put("p" + i, a + 0.5 + 0.05 * rng.nextGaussian());
        }
        PairedSample s = PairedSample.ofScalars(pt, it);
        ClusterBootstrap b = new ClusterBootstrap(1000, 5L, 0.95);
        Estimate paired = b.pairedGap(List.of(s));
        assertTrue(paired.covers(0.5), paired.toString());
        assertTrue(paired.width() < 0.02, paired.toString());

        double[] ptv = new double[300];
        double[] itv = new double[300];
        for (int i = 0; i < 300; i++) {
            ptv[i] = s.pt()[i][0];
            itv[i] = s.it()[i][0];
        }
        Estimate independent = b.run(new int[] {300, 300}, c ->
                new double[] {ClusterBootstrap.weightedMean(itv, c[1]) - ClusterBootstrap.weightedMean(ptv, c[0])})[0];
        assertTrue(independent.width() > 0.5, independent.toString());
        assertEquals(paired.value(), independent.value(), 1e-12);
    }

    /** Per-layer gap of one family: each component equals the scalar paired gap of that layer (same draws). */
    @Test
    void pairedGapPerLayer() {
        SplittableRandom rng = new SplittableRandom(8);
        Map<String, double[]> pt = new LinkedHashMap<>();
        Map<String, double[]> it = new LinkedHashMap<>();
        for (int i = 0; i < 50; i++) {
            double[] a = {rng.nextDouble(), rng.nextDouble(), rng.nextDouble()};
            pt.put("q" + i, a);
            it.put("q" + i, new double[] {a[0] + 0.1, a[1] + 0.2 + 0.1 * rng.nextGaussian(), a[2] + 0.3});
        }
        PairedSample s = PairedSample.of(pt, it);
        ClusterBootstrap b = new ClusterBootstrap(300, 9L, 0.9);
        Estimate[] perLayer = b.pairedGapPerLayer(s);
        assertEquals(3, perLayer.length);
        assertEquals(0.1, perLayer[0].value(), 1e-12);
        assertEquals(0.1, perLayer[0].lo(), 1e-12); // a constant shift has a zero-width interval
        assertEquals(0.3, perLayer[2].hi(), 1e-12);
        for (int l = 0; l < 3; l++) {
            Map<String, Double> a = new LinkedHashMap<>();
            Map<String, Double> c = new LinkedHashMap<>();
            for (int i = 0; i < 50; i++) {
                a.put(s.ids().get(i), s.pt()[i][l]);
                c.put(s.ids().get(i), s.it()[i][l]);
            }
            assertEquals(perLayer[l], b.pairedGap(List.of(PairedSample.ofScalars(a, c))), "layer " + l);
        }
        assertThrows(IllegalArgumentException.class, () -> b.pairedGap(List.of(s)));
    }

    @Test
    void pairingChecksPromptIds() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PairedSample.ofScalars(Map.of("a", 1.0, "b", 2.0), Map.of("a", 1.0, "c", 2.0)));
        assertTrue(e.getMessage().contains("[b]") && e.getMessage().contains("[c]"), e.getMessage());
        // ids are sorted, whatever the map order
        Map<String, Double> pt = new LinkedHashMap<>();
        pt.put("z", 1.0);
        pt.put("a", 2.0);
        assertEquals(List.of("a", "z"), PairedSample.ofScalars(pt, pt).ids());
    }

    /** NaN prompt means (no token step) are left out, also inside resamples. */
    @Test
    void nanPromptsAreLeftOut() {
        Estimate e = new ClusterBootstrap(200, 1L, 0.95).mean(new double[] {1, Double.NaN, 3});
        assertEquals(2.0, e.value(), 1e-15);
        assertTrue(e.resamples() <= 200 && e.resamples() > 150);
        assertTrue(e.lo() >= 1 && e.hi() <= 3);
    }

    @Test
    void type7Quantile() {
        double[] x = {1, 2, 3, 4};
        assertEquals(1.75, ClusterBootstrap.quantile(x, 0.25), 1e-15);
        assertEquals(2.5, ClusterBootstrap.quantile(x, 0.5), 1e-15);
        assertEquals(1.0, ClusterBootstrap.quantile(x, 0.0));
        assertEquals(4.0, ClusterBootstrap.quantile(x, 1.0));
        assertEquals(5.0, ClusterBootstrap.quantile(new double[] {5}, 0.3));
        assertTrue(Double.isNaN(ClusterBootstrap.quantile(new double[0], 0.3)));
        assertEquals(Double.POSITIVE_INFINITY, ClusterBootstrap.quantile(new double[] {1, Double.POSITIVE_INFINITY}, 0.5));
        assertEquals(Double.NEGATIVE_INFINITY, ClusterBootstrap.quantile(new double[] {Double.NEGATIVE_INFINITY, 1}, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new ClusterBootstrap(0, 1L, 0.95));
        assertThrows(IllegalArgumentException.class, () -> new ClusterBootstrap(10, 1L, 1.0));
    }
}
