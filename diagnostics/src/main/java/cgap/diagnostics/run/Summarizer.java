package cgap.diagnostics.run;

import cgap.diagnostics.metrics.LayerWindows;
import cgap.diagnostics.metrics.StepMetrics;
import cgap.diagnostics.stats.ClusterBootstrap;
import cgap.diagnostics.stats.Estimate;
import cgap.diagnostics.stats.PairedSample;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a run's step files into its statistics, exactly as SPEC §4 orders the averaging: within a token step over
 * the layers of a window, then over the token steps of a prompt (dropping the first {@code skipFirst}), then over
 * prompts with a percentile cluster bootstrap over prompts. The IT − PT gaps are paired by prompt id. Everything
 * is read back from the step files, so a resumed run and an uninterrupted one summarise identical bytes.
 */
public final class Summarizer {
    /** Per-prompt means of one side. */
    static final class SideData {
        final Map<String, double[]> kl = new LinkedHashMap<>();
        final Map<String, double[]> klRev = new LinkedHashMap<>();
        final Map<String, Double> lateKl = new LinkedHashMap<>();
        final Map<String, Double> lateKlRev = new LinkedHashMap<>();
        final Map<String, Double> remainingJs = new LinkedHashMap<>();
        final Map<String, Double> futureFlips = new LinkedHashMap<>();
        final Map<String, Double> entropy = new LinkedHashMap<>();
        final List<Integer> commitKl = new ArrayList<>();
        final List<Integer> commitTop1 = new ArrayList<>();
        final List<Integer> commitCos = new ArrayList<>();
        long steps;
        long generated;
        int prompts;
    }

    /** One curve with intervals, per layer. */
    public record Curve(double[] mean, double[] lo, double[] hi) {
        static Curve of(Estimate[] e) {
            int n = e.length;
            double[] m = new double[n], lo = new double[n], hi = new double[n];
            for (int i = 0; i < n; i++) {
                m[i] = e[i].value();
                lo[i] = e[i].lo();
                hi[i] = e[i].hi();
            }
            return new Curve(m, lo, hi);
        }
    }

    /** The statistics of a run. */
    public record Result(int layers, double[] depth, Map<String, Curve> curves, Map<String, Estimate> scalars,
                         Map<String, int[]> commitment, Map<String, long[]> counts) {
    }

    private final int layers;
    private final int skipFirst;
    private final ClusterBootstrap bootstrap;

    public Summarizer(int layers, int skipFirst, int resamples, long seed) {
        this.layers = layers;
        this.skipFirst = skipFirst;
        this.bootstrap = new ClusterBootstrap(resamples, seed, ClusterBootstrap.DEFAULT_LEVEL);
    }

    /** One side's per-prompt means for each of {@code readouts}, every step file read once. */
    SideData[] read(StepStore store, String side, List<String> ids, List<String> readouts) throws IOException {
        SideData[] out = new SideData[readouts.size()];
        for (int r = 0; r < out.length; r++) out[r] = new SideData();
        for (int i = 0; i < ids.size(); i++) {
            StepStore.Loaded f = store.read(side, i);
            String id = f.header().path("prompt_id").asText();
            if (!id.equals(ids.get(i))) throw new IOException(store.file(side, i) + ": holds prompt '" + id + "', expected '" + ids.get(i) + "' (was the prompt set changed?)");
            for (int r = 0; r < out.length; r++) add(out[r], f, id, readouts.get(r), store, side, i);
        }
        return out;
    }

    /** Adds one prompt's file to a side's data for one readout. */
    private void add(SideData d, StepStore.Loaded f, String id, String readout, StepStore store, String side, int i) throws IOException {
        int L = layers, lateFrom = LayerWindows.lateStart(L), lateTo = L - 1, preFinalTo = LayerWindows.latePreFinalEnd(L);
        d.prompts++;
        d.generated += f.header().path("generated_tokens").size();
        double[] kl = new double[L], klRev = new double[L];
        double late = 0, lateRev = 0, rjs = 0, flips = 0, ent = 0;
        int n = 0;
        for (int s = skipFirst; s < f.steps().size(); s++) {
            JsonNode st = f.steps().get(s);
            if (readout.equals("tuned")) {
                st = st.get("tuned");
                if (st == null) throw new IOException(store.file(side, i) + ": step " + s + " has no tuned readout");
            }
            double[] k = doubles(st.get("kl")), kr = doubles(st.get("kl_rev"));
            for (int l = 0; l < L; l++) {
                kl[l] += k[l];
                klRev[l] += kr[l];
            }
            late += LayerWindows.mean(k, lateFrom, lateTo);
            lateRev += LayerWindows.mean(kr, lateFrom, lateTo);
            if (preFinalTo >= lateFrom) {
                rjs += LayerWindows.mean(doubles(st.get("remaining_js")), lateFrom, preFinalTo);
                flips += LayerWindows.mean(ints(st.get("future_flips")), lateFrom, preFinalTo);
            }
            ent += st.get("entropy").asDouble();
            d.commitKl.add(st.get("commit_kl").get(1).asInt());
            d.commitTop1.add(st.get("commit_top1").asInt());
            if (st.has("commit_cos")) d.commitCos.add(st.get("commit_cos").get(1).asInt());
            n++;
        }
        d.steps += n;
        if (n == 0) {
            java.util.Arrays.fill(kl, Double.NaN);
            java.util.Arrays.fill(klRev, Double.NaN);
            late = lateRev = rjs = flips = ent = Double.NaN;
        } else {
            for (int l = 0; l < L; l++) {
                kl[l] /= n;
                klRev[l] /= n;
            }
            late /= n;
            lateRev /= n;
            rjs /= n;
            flips /= n;
            ent /= n;
        }
        d.kl.put(id, kl);
        d.klRev.put(id, klRev);
        d.lateKl.put(id, late);
        d.lateKlRev.put(id, lateRev);
        d.remainingJs.put(id, rjs);
        d.futureFlips.put(id, flips);
        d.entropy.put(id, ent);
    }

    static double[] doubles(JsonNode a) {
        double[] x = new double[a.size()];
        for (int i = 0; i < x.length; i++) x[i] = a.get(i).isNull() ? Double.NaN : a.get(i).asDouble();
        return x;
    }

    static int[] ints(JsonNode a) {
        int[] x = new int[a.size()];
        for (int i = 0; i < x.length; i++) x[i] = a.get(i).asInt();
        return x;
    }

    /**
     * The statistics of several readouts of the same run, reading each step file once: "raw" (the logit lens) and/or
     * "tuned" (the tuned lens, when the run has one).
     */
    public List<Result> summarize(StepStore store, List<String> ids, List<String> readouts) throws IOException {
        for (String r : readouts) if (!r.equals("raw") && !r.equals("tuned")) throw new IllegalArgumentException("readout must be raw or tuned, got " + r);
        SideData[] pt = read(store, "pt", ids, readouts), it = read(store, "it", ids, readouts);
        List<Result> out = new ArrayList<>();
        for (int r = 0; r < readouts.size(); r++) out.add(result(pt[r], it[r]));
        return out;
    }

    private Result result(SideData pt, SideData it) {
        int L = layers;
        double[] depth = new double[L];
        for (int l = 0; l < L; l++) depth[l] = L == 1 ? 1 : (double) l / (L - 1);
        Map<String, Curve> curves = new LinkedHashMap<>();
        curves.put("pt_kl", perLayer(pt.kl));
        curves.put("it_kl", perLayer(it.kl));
        curves.put("gap_kl", Curve.of(bootstrap.pairedGapPerLayer(PairedSample.of(pt.kl, it.kl))));
        curves.put("pt_kl_rev", perLayer(pt.klRev));
        curves.put("it_kl_rev", perLayer(it.klRev));
        curves.put("gap_kl_rev", Curve.of(bootstrap.pairedGapPerLayer(PairedSample.of(pt.klRev, it.klRev))));
        Map<String, Estimate> scalars = new LinkedHashMap<>();
        int half = LayerWindows.finalHalfStart(L);
        scalars.put("final_half_gap", pairedScalar(windowMeans(pt.kl, half, L - 1), windowMeans(it.kl, half, L - 1)));
        scalars.put("final_half_gap_rev", pairedScalar(windowMeans(pt.klRev, half, L - 1), windowMeans(it.klRev, half, L - 1)));
        scalars.put("pt_late_kl", bootstrap.mean(values(pt.lateKl)));
        scalars.put("it_late_kl", bootstrap.mean(values(it.lateKl)));
        scalars.put("late_kl_gap", pairedScalar(pt.lateKl, it.lateKl));
        scalars.put("late_kl_gap_rev", pairedScalar(pt.lateKlRev, it.lateKlRev));
        scalars.put("remaining_adjacent_js_gap", pairedScalar(pt.remainingJs, it.remainingJs));
        scalars.put("future_top1_flips_gap", pairedScalar(pt.futureFlips, it.futureFlips));
        scalars.put("pt_final_entropy", bootstrap.mean(values(pt.entropy)));
        scalars.put("it_final_entropy", bootstrap.mean(values(it.entropy)));
        Map<String, int[]> commitment = new LinkedHashMap<>();
        commitment.put("pt_kl_0.1", toArray(pt.commitKl));
        commitment.put("it_kl_0.1", toArray(it.commitKl));
        commitment.put("pt_top1", toArray(pt.commitTop1));
        commitment.put("it_top1", toArray(it.commitTop1));
        commitment.put("pt_cos_0.9", toArray(pt.commitCos));
        commitment.put("it_cos_0.9", toArray(it.commitCos));
        Map<String, long[]> counts = new LinkedHashMap<>();
        counts.put("prompts", new long[]{pt.prompts, it.prompts});
        counts.put("token_steps", new long[]{pt.steps, it.steps});
        counts.put("generated_tokens", new long[]{pt.generated, it.generated});
        return new Result(L, depth, curves, scalars, commitment, counts);
    }

    private Curve perLayer(Map<String, double[]> byPrompt) {
        Estimate[] e = new Estimate[layers];
        for (int l = 0; l < layers; l++) {
            double[] v = new double[byPrompt.size()];
            int i = 0;
            for (double[] x : byPrompt.values()) v[i++] = x[l];
            e[l] = bootstrap.mean(v);
        }
        return Curve.of(e);
    }

    private Map<String, Double> windowMeans(Map<String, double[]> byPrompt, int from, int to) {
        Map<String, Double> m = new LinkedHashMap<>();
        byPrompt.forEach((k, v) -> m.put(k, LayerWindows.mean(v, from, to)));
        return m;
    }

    private Estimate pairedScalar(Map<String, Double> pt, Map<String, Double> it) {
        return bootstrap.pairedGap(List.of(PairedSample.ofScalars(pt, it)));
    }

    private static double[] values(Map<String, Double> m) {
        return m.values().stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static int[] toArray(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Commitment layers need the metrics' own thresholds in the summary's labels. */
    static String klThresholdLabel() {
        return "KL(p_l||p_L) < " + StepMetrics.KL_THRESHOLDS.get(1);
    }
}
