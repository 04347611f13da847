package cgap.diagnostics.run;

import cgap.diagnostics.metrics.Metrics;
import cgap.diagnostics.metrics.StepMetrics;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Point;
import cgap.engine.Session;

import java.util.ArrayList;
import java.util.List;

/**
 * One model of a pair with its prompting: generates greedily on a prompt and computes, at every token step, the
 * raw-lens distribution of every layer and the SPEC §3 metrics of the step. The [layers × vocab] logits of one step
 * are the only vocabulary-sized data alive at a time; nothing of size [layers × steps × vocab] is ever held.
 */
public final class Side {
    private final String name;
    private final Model model;
    private final Prompting prompting;

    public Side(String name, Model model, Prompting prompting) {
        this.name = name;
        this.model = model;
        this.prompting = prompting;
    }

    public String name() {
        return name;
    }

    public Model model() {
        return model;
    }

    public Prompting prompting() {
        return prompting;
    }

    /** What one prompt produced. */
    public record Result(int[] promptTokens, int[] generated, String text, String stop, List<StepMetrics> steps) {
    }

    public Result run(String userText, int maxNewTokens) {
        int[] ids = prompting.encode(userText);
        if (ids.length == 0) throw new IllegalArgumentException("prompt encodes to no tokens: '" + userText + "'");
        int layers = model.numLayers(), d = model.hiddenSize(), v = model.vocabSize();
        List<StepMetrics> steps = new ArrayList<>();
        Metrics metrics = new Metrics();
        try (Session s = model.newSession()) {
            int[] gen = s.generate(ids, maxNewTokens, prompting.stopIds()::contains, Capture.lastRow(Point.RESID_POST), null,
                    (index, acts, logits, chosen) -> {
                        float[] stacked = new float[layers * d];
                        float[][] resid = new float[layers][];
                        for (int l = 0; l < layers; l++) {
                            resid[l] = acts.get(Point.RESID_POST, l);
                            System.arraycopy(resid[l], 0, stacked, l * d, d);
                        }
                        float[] lens = model.unembed(stacked, layers);
                        float[][] perLayer = new float[layers][];
                        for (int l = 0; l < layers; l++) perLayer[l] = java.util.Arrays.copyOfRange(lens, l * v, (l + 1) * v);
                        steps.add(metrics.step(perLayer, resid, null));
                    });
            boolean stopped = gen.length > 0 && prompting.stopIds().contains(gen[gen.length - 1]);
            String text = prompting.tokenizer().decode(gen, true);
            return new Result(ids, gen, text, stopped ? "stop_token" : "max_new_tokens", steps);
        }
    }
}
