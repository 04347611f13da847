package cgap.diagnostics.report;

import cgap.diagnostics.data.Prompt;
import cgap.diagnostics.run.StepStore;
import cgap.diagnostics.run.Summarizer;
import cgap.diagnostics.stats.Estimate;
import cgap.engine.model.ModelConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The files of a run made from its statistics: {@code summary.json} (schema in docs/SUMMARY.md), {@code summary.csv},
 * the figures (PNG and SVG) and {@code report.html}, one self-contained page (figures embedded as PNG data).
 */
public final class Report {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    public static final String SCHEMA = "cgap.summary/1";

    private Report() {
    }

    static ObjectNode estimate(Estimate e) {
        ObjectNode n = JSON.createObjectNode();
        num(n, "value", e.value());
        num(n, "lo", e.lo());
        num(n, "hi", e.hi());
        n.put("level", e.level());
        return n;
    }

    static void num(ObjectNode n, String k, double v) {
        if (Double.isFinite(v)) n.put(k, v);
        else n.putNull(k);
    }

    static ArrayNode arr(double[] a) {
        ArrayNode n = JSON.createArrayNode();
        for (double v : a) {
            if (Double.isFinite(v)) n.add(v);
            else n.addNull();
        }
        return n;
    }

    static ObjectNode curve(Summarizer.Curve c) {
        ObjectNode n = JSON.createObjectNode();
        n.set("mean", arr(c.mean()));
        n.set("lo", arr(c.lo()));
        n.set("hi", arr(c.hi()));
        return n;
    }

    static String version() {
        String v = Report.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }

    /** Everything a reader needs to trust and reproduce the numbers, as one JSON object. */
    public static ObjectNode summaryJson(Summarizer.Result s, JsonNode settings, Object resolved, ModelConfig pt, ModelConfig it,
                                         int skipFirst, int resamples, long seed) {
        return summaryJson(s, null, settings, resolved, pt, it, skipFirst, resamples, seed);
    }

    /** As above, with the tuned-lens readout's statistics (may be null) under the key {@code tuned}. */
    public static ObjectNode summaryJson(Summarizer.Result s, Summarizer.Result tuned, JsonNode settings, Object resolved, ModelConfig pt,
                                         ModelConfig it, int skipFirst, int resamples, long seed) {
        ObjectNode root = JSON.createObjectNode();
        root.put("schema", SCHEMA);
        root.put("cgap_version", version());
        root.put("created", Instant.now().toString());
        root.set("settings", settings);
        ObjectNode models = root.putObject("models");
        for (var e : Map.of("pt", pt, "it", it).entrySet()) {
            ObjectNode m = models.putObject(e.getKey());
            m.put("path", e.getValue().source().getParent().toString());
            m.put("model_type", e.getValue().modelType());
            m.put("layers", e.getValue().numLayers());
            m.put("hidden_size", e.getValue().hiddenSize());
            m.put("vocab_size", e.getValue().vocabSize());
            m.put("revision", snapshotRevision(e.getValue().source().getParent()));
        }
        root.put("layers", s.layers());
        root.set("depth", arr(s.depth()));
        ObjectNode stats = root.putObject("statistics");
        stats.put("readout", tuned == null ? "raw" : "raw (top level) and tuned (under the key tuned, same fields)");
        stats.put("kl_direction", "KL(p_l || p_L) (keys *_kl); the reverse KL(p_L || p_l) under keys *_kl_rev");
        stats.put("skip_first_steps", skipFirst);
        stats.put("aggregation", "mean over window layers within a step, over steps within a prompt, over prompts within a model");
        stats.put("interval", "percentile cluster bootstrap over prompts; IT - PT gaps paired by prompt id");
        stats.put("bootstrap_resamples", resamples);
        stats.put("bootstrap_seed", seed);
        stats.put("late_window", "[floor(0.8 L), L-1]");
        stats.put("final_half", "[floor(L/2), L-1]");
        readout(root, s);
        if (tuned != null) readout(root.putObject("tuned"), tuned);
        ObjectNode counts = root.putObject("counts");
        s.counts().forEach((k, v) -> counts.putObject(k).put("pt", v[0]).put("it", v[1]));
        return root;
    }

    /** The per-layer curves, scalars and commitment layers of one readout. */
    static void readout(ObjectNode target, Summarizer.Result s) {
        ObjectNode curves = target.putObject("per_layer");
        s.curves().forEach((k, c) -> curves.set(k, curve(c)));
        ObjectNode sc = target.putObject("scalars");
        s.scalars().forEach((k, e) -> sc.set(k, estimate(e)));
        ObjectNode commit = target.putObject("commitment_layers");
        commit.put("conditions", "kl_0.1: KL(p_l||p_L) < 0.1 from l on; top1: argmax p_l = argmax p_L from l on; cos_0.9: cos(h_l, h_{L-1}) >= 0.9 from l on; else L-1");
        s.commitment().forEach((k, v) -> {
            ObjectNode c = commit.putObject(k);
            c.put("n", v.length);
            double mean = 0;
            for (int x : v) mean += x;
            num(c, "mean_layer", v.length == 0 ? Double.NaN : mean / v.length);
            num(c, "mean_depth_fraction", v.length == 0 || s.layers() < 2 ? Double.NaN : mean / v.length / (s.layers() - 1));
        });
    }

    static String snapshotRevision(Path dir) {
        Path parent = dir.getParent();
        return parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("snapshots") ? dir.getFileName().toString() : null;
    }

    public static String summaryCsv(Summarizer.Result s) {
        return summaryCsv(s, null);
    }

    /** One row per layer; the tuned readout's curves (when given) in columns prefixed {@code tuned_}. */
    public static String summaryCsv(Summarizer.Result s, Summarizer.Result tuned) {
        StringBuilder b = new StringBuilder("layer,depth");
        List<String> keys = new ArrayList<>(s.curves().keySet());
        List<String> tkeys = tuned == null ? List.of() : new ArrayList<>(tuned.curves().keySet());
        for (String k : keys) b.append(',').append(k).append("_mean,").append(k).append("_lo,").append(k).append("_hi");
        for (String k : tkeys) b.append(",tuned_").append(k).append("_mean,tuned_").append(k).append("_lo,tuned_").append(k).append("_hi");
        b.append('\n');
        for (int l = 0; l < s.layers(); l++) {
            b.append(l).append(',').append(fmt(s.depth()[l]));
            for (String k : keys) cells(b, s.curves().get(k), l);
            for (String k : tkeys) cells(b, tuned.curves().get(k), l);
            b.append('\n');
        }
        return b.toString();
    }

    private static void cells(StringBuilder b, Summarizer.Curve c, int l) {
        b.append(',').append(fmt(c.mean()[l])).append(',').append(fmt(c.lo()[l])).append(',').append(fmt(c.hi()[l]));
    }

    static String fmt(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "";
    }

    static Charts.Band band(String label, double[] x, Summarizer.Curve c, java.awt.Color color) {
        return new Charts.Band(label, x, c.mean(), c.lo(), c.hi(), color);
    }

    /** Writes figures/ and report.html. */
    public static void write(Path out, Summarizer.Result s, ObjectNode summary, StepStore store, List<String> ids, List<Prompt> prompts) throws IOException {
        write(out, s, null, summary, store, ids, prompts);
    }

    /** As above, with the tuned readout's figures and tables beside the raw ones when {@code tuned} is given. */
    public static void write(Path out, Summarizer.Result s, Summarizer.Result tuned, ObjectNode summary, StepStore store, List<String> ids,
                             List<Prompt> prompts) throws IOException {
        Path fig = out.resolve("figures");
        double[] x = s.depth();
        Map<String, Summarizer.Curve> c = s.curves();
        byte[] kl = Charts.save(Charts.bands("Raw-lens KL(p_l || p_L) per layer", "normalised depth l/(L-1)", "KL (nats)",
                List.of(band("PT", x, c.get("pt_kl"), Charts.PT), band("IT", x, c.get("it_kl"), Charts.IT)), false), fig.resolve("kl_per_layer"));
        byte[] gap = Charts.save(Charts.bands("Convergence gap IT - PT per layer (95% CI)", "normalised depth l/(L-1)", "KL_IT - KL_PT (nats)",
                List.of(band("IT - PT", x, c.get("gap_kl"), Charts.GAP)), true), fig.resolve("gap_per_layer"));
        byte[] klRev = Charts.save(Charts.bands("Raw-lens KL(p_L || p_l) per layer (reverse direction)", "normalised depth l/(L-1)", "KL (nats)",
                List.of(band("PT", x, c.get("pt_kl_rev"), Charts.PT), band("IT", x, c.get("it_kl_rev"), Charts.IT)), false), fig.resolve("kl_rev_per_layer"));
        var cm = s.commitment();
        byte[] commit = Charts.save(Charts.histograms("Commitment layer (KL < 0.1 from l on)", "layer",
                List.of("PT", "IT"), List.of(cm.get("pt_kl_0.1"), cm.get("it_kl_0.1")), List.of(Charts.PT, Charts.IT), s.layers() - 1), fig.resolve("commitment_kl"));
        byte[] top1 = Charts.save(Charts.histograms("Commitment layer (top-1 = final top-1 from l on)", "layer",
                List.of("PT", "IT"), List.of(cm.get("pt_top1"), cm.get("it_top1")), List.of(Charts.PT, Charts.IT), s.layers() - 1), fig.resolve("commitment_top1"));
        List<byte[]> figs = new ArrayList<>(List.of(kl, gap, klRev, commit, top1));
        List<String> alts = new ArrayList<>(List.of("KL per layer, PT vs IT", "gap per layer", "reverse KL per layer",
                "commitment layer histogram (KL)", "commitment layer histogram (top-1)"));
        if (tuned != null) {
            Map<String, Summarizer.Curve> t = tuned.curves();
            figs.add(Charts.save(Charts.bands("Raw vs tuned lens: KL(p_l || p_L) per layer", "normalised depth l/(L-1)", "KL (nats)",
                    List.of(band("PT raw", x, c.get("pt_kl"), Charts.PT), band("IT raw", x, c.get("it_kl"), Charts.IT),
                            band("PT tuned", x, t.get("pt_kl"), Charts.PT_TUNED), band("IT tuned", x, t.get("it_kl"), Charts.IT_TUNED)), false),
                    fig.resolve("kl_per_layer_raw_vs_tuned")));
            alts.add("KL per layer, raw and tuned lens");
            figs.add(Charts.save(Charts.bands("Tuned-lens convergence gap IT - PT per layer (95% CI)", "normalised depth l/(L-1)", "KL_IT - KL_PT (nats)",
                    List.of(band("IT - PT, tuned", x, t.get("gap_kl"), Charts.GAP)), true), fig.resolve("gap_per_layer_tuned")));
            alts.add("gap per layer, tuned lens");
        }
        double[][] val = lensValidation(summary.path("lenses"));
        if (val != null) {
            figs.add(lensValidationFigure(fig.resolve("lens_validation_kl"), "Lens validation KL per layer (from tune-lens): raw vs tuned",
                    List.of("PT raw", "PT tuned", "IT raw", "IT tuned"), val));
            alts.add("lens validation KL per layer, raw vs tuned");
        }
        Files.writeString(out.resolve("report.html"), html(s, tuned, summary, val, figs, alts, store, ids));
    }

    /** The four validation curves (PT raw, PT tuned, IT raw, IT tuned) recorded by tune-lens, or null when absent. */
    static double[][] lensValidation(JsonNode lenses) {
        JsonNode pt = lenses.path("pt").path("training"), it = lenses.path("it").path("training");
        JsonNode[] series = {pt.path("raw_lens_validation_kl"), pt.path("validation_kl"), it.path("raw_lens_validation_kl"), it.path("validation_kl")};
        double[][] v = new double[4][];
        for (int i = 0; i < 4; i++) {
            if (!series[i].isArray() || series[i].isEmpty()) return null;
            v[i] = new double[series[i].size()];
            for (int l = 0; l < v[i].length; l++) v[i][l] = series[i].get(l).isNull() ? Double.NaN : series[i].get(l).asDouble();
            if (v[i].length != v[0].length) return null; // lenses of different depths: no common table
        }
        return v;
    }

    /**
     * Per-layer validation KL curves (one per label, equal lengths) as a figure (PNG and SVG at {@code base}); returns
     * the PNG. Used by the run report and by tune-lens.
     */
    public static byte[] lensValidationFigure(Path base, String title, List<String> labels, double[][] curves) throws IOException {
        java.awt.Color[] colors = curves.length == 2 ? new java.awt.Color[]{Charts.PT, Charts.PT_TUNED}
                : new java.awt.Color[]{Charts.PT, Charts.PT_TUNED, Charts.IT, Charts.IT_TUNED};
        List<Charts.Band> bands = new ArrayList<>();
        for (int i = 0; i < curves.length; i++) {
            double[] x = new double[curves[i].length];
            for (int l = 0; l < x.length; l++) x[l] = l;
            bands.add(new Charts.Band(labels.get(i), x, curves[i], curves[i], curves[i], colors[i % colors.length]));
        }
        Files.createDirectories(base.getParent());
        return Charts.save(Charts.bands(title, "layer", "validation KL(p_L || p_l) (nats)", bands, false), base);
    }

    static String esc(String t) {
        return t == null ? "" : t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    static String img(byte[] png, String alt) {
        return "<figure><img alt=\"" + esc(alt) + "\" src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(png) + "\"></figure>\n";
    }

    static String est(Estimate e) {
        return String.format(Locale.ROOT, "%+.4f [%+.4f, %+.4f]", e.value(), e.lo(), e.hi());
    }

    static String html(Summarizer.Result s, Summarizer.Result tuned, ObjectNode summary, double[][] val, List<byte[]> figs, List<String> alts,
                       StepStore store, List<String> ids) throws IOException {
        JsonNode set = summary.get("settings");
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>cgap run: ").append(esc(set.path("pair").asText()))
                .append("</title><style>body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}"
                        + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                        + "th{background:#f4f4f4}td.l,th.l{text-align:left}figure{margin:1em 0}img{max-width:100%}"
                        + ".note{background:#fff6d6;border:1px solid #e8d48a;padding:.6em 1em}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em}</style></head><body>\n");
        h.append("<h1>Convergence gap: ").append(esc(set.path("pair").asText())).append("</h1>\n");
        h.append("<p class=\"note\">").append(esc(set.path("description").asText())).append("</p>\n");
        long[] prompts = s.counts().get("prompts"), steps = s.counts().get("token_steps");
        h.append(String.format(Locale.ROOT, "<p>%d prompts; %d PT and %d IT token steps (first %d step(s) of each generation dropped); " + (tuned == null ? "raw lens; " : "raw and tuned lens; ")
                        + "95%% percentile cluster bootstrap over prompts (%d resamples, seed %d); IT − PT gaps paired by prompt.</p>\n",
                prompts[0], steps[0], steps[1], summary.path("statistics").path("skip_first_steps").asInt(),
                summary.path("statistics").path("bootstrap_resamples").asInt(), summary.path("statistics").path("bootstrap_seed").asLong()));
        h.append("<h2>Headline</h2><table><tr><th class=\"l\">quantity</th><th>raw lens [95% CI]</th>")
                .append(tuned == null ? "" : "<th>tuned lens [95% CI]</th>").append("</tr>\n");
        String[][] rows = {{"final_half_gap", "final-half gap IT − PT, KL(p_l‖p_L)"}, {"final_half_gap_rev", "final-half gap IT − PT, KL(p_L‖p_l)"},
                {"late_kl_gap", "late KL (final 20%) IT − PT"}, {"pt_late_kl", "late KL, PT"}, {"it_late_kl", "late KL, IT"},
                {"remaining_adjacent_js_gap", "remaining adjacent JS IT − PT"}, {"future_top1_flips_gap", "future top-1 flips IT − PT"},
                {"pt_final_entropy", "final entropy, PT"}, {"it_final_entropy", "final entropy, IT"}};
        for (String[] r : rows) {
            Estimate e = s.scalars().get(r[0]);
            if (e == null) continue;
            h.append("<tr><td class=\"l\">").append(esc(r[1])).append("</td><td>").append(est(e)).append("</td>");
            if (tuned != null) h.append("<td>").append(est(tuned.scalars().get(r[0]))).append("</td>");
            h.append("</tr>\n");
        }
        h.append("</table>\n<h2>Figures</h2>\n");
        for (int i = 0; i < figs.size(); i++) h.append(img(figs.get(i), alts.get(i)));
        h.append("<h2>Per layer</h2><table><tr><th>layer</th><th>depth</th><th>PT KL</th><th>IT KL</th><th>IT − PT [95% CI]</th>")
                .append(tuned == null ? "" : "<th>PT KL, tuned</th><th>IT KL, tuned</th><th>IT − PT, tuned [95% CI]</th>").append("</tr>\n");
        var pt = s.curves().get("pt_kl");
        var it = s.curves().get("it_kl");
        var g = s.curves().get("gap_kl");
        for (int l = 0; l < s.layers(); l++) {
            h.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%.3f</td><td>%.4f</td><td>%.4f</td><td>%+.4f [%+.4f, %+.4f]</td>",
                    l, s.depth()[l], pt.mean()[l], it.mean()[l], g.mean()[l], g.lo()[l], g.hi()[l]));
            if (tuned != null) {
                var tp = tuned.curves().get("pt_kl");
                var ti = tuned.curves().get("it_kl");
                var tg = tuned.curves().get("gap_kl");
                h.append(String.format(Locale.ROOT, "<td>%.4f</td><td>%.4f</td><td>%+.4f [%+.4f, %+.4f]</td>",
                        tp.mean()[l], ti.mean()[l], tg.mean()[l], tg.lo()[l], tg.hi()[l]));
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n");
        if (val != null) {
            h.append("<h2>Tuned lenses</h2><p>Validation KL per layer recorded when the lenses were trained (<code>cgap tune-lens</code>): "
                    + "the tuned lens should sit below the raw lens at every intermediate layer.</p>\n<table><tr><th>layer</th><th>PT raw</th>"
                    + "<th>PT tuned</th><th>IT raw</th><th>IT tuned</th></tr>\n");
            for (int l = 0; l < val[0].length; l++) {
                h.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td></tr>\n",
                        l, val[0][l], val[1][l], val[2][l], val[3][l]));
            }
            h.append("</table>\n");
        }
        h.append("<h2>Commitment layers</h2><table><tr><th class=\"l\">condition</th><th>mean layer</th><th>mean depth fraction</th><th>steps</th></tr>\n");
        summary.path("commitment_layers").fields().forEachRemaining(e -> {
            if (!e.getValue().isObject()) return;
            h.append(String.format(Locale.ROOT, "<tr><td class=\"l\">%s</td><td>%s</td><td>%s</td><td>%d</td></tr>\n", esc(e.getKey()),
                    e.getValue().path("mean_layer").isNull() ? "–" : String.format(Locale.ROOT, "%.2f", e.getValue().path("mean_layer").asDouble()),
                    e.getValue().path("mean_depth_fraction").isNull() ? "–" : String.format(Locale.ROOT, "%.3f", e.getValue().path("mean_depth_fraction").asDouble()),
                    e.getValue().path("n").asInt()));
        });
        h.append("</table>\n<h2>Examples</h2>\n");
        for (int i = 0; i < Math.min(3, ids.size()); i++) {
            JsonNode ph = store.read("pt", i).header(), ih = store.read("it", i).header();
            h.append("<h3>").append(esc(ids.get(i))).append("</h3><p>PT:</p><pre>").append(esc(ph.path("generated_text").asText()))
                    .append("</pre><p>IT:</p><pre>").append(esc(ih.path("generated_text").asText())).append("</pre>\n");
        }
        h.append("<h2>Settings</h2><pre>").append(esc(JSON.writeValueAsString(set.deepCopy()).replaceAll("(?s)\"prompt_ids\" : \\[.*?\\]", "\"prompt_ids\" : [...]")))
                .append("</pre>\n<p>Models:</p><pre>").append(esc(JSON.writeValueAsString(summary.get("models")))).append("</pre>\n");
        h.append("<p>Written by cgap ").append(esc(version())).append(". Per-step data in <code>steps/</code>, numbers in <code>summary.json</code> and <code>summary.csv</code>, figures as PNG and SVG in <code>figures/</code>.</p>\n");
        h.append("</body></html>\n");
        return h.toString();
    }

    /** The lines printed at the end of a run. */
    public static String headline(Summarizer.Result s, Path out) {
        Estimate fh = s.scalars().get("final_half_gap"), late = s.scalars().get("late_kl_gap");
        return String.format(Locale.ROOT, "final-half gap IT-PT %s nats; late-KL gap %s; %d+%d token steps%nwrote %s (summary.json, summary.csv, figures/, report.html)",
                est(fh), est(late), s.counts().get("token_steps")[0], s.counts().get("token_steps")[1], out.toAbsolutePath().normalize());
    }
}
