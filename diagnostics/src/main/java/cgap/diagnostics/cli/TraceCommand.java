package cgap.diagnostics.cli;

import cgap.diagnostics.metrics.Metrics;
import cgap.engine.Activations;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Point;
import cgap.engine.Session;
import cgap.engine.backend.Backend;
import cgap.engine.cpu.CpuBackend;
import cgap.tokenizer.Tokenizer;
import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * {@code cgap trace --model DIR --prompt TEXT --max-new-tokens N --out FILE.json}: one prompt through one model.
 * Writes the prompt's token ids, the full next-token log-probabilities at the last prompt position, the greedy
 * continuation, and the raw-lens KL(p_l ‖ p_L) of every layer at the last prompt position. The field names
 * ({@code prompt_tokens}, {@code next_token_logprobs}, {@code generated_tokens}, {@code generated_text},
 * {@code kl_to_final}) are a contract other tools rely on.
 */
public final class TraceCommand {
    public static final String USAGE = """
            usage: cgap trace --model DIR --prompt TEXT [--max-new-tokens N] [--out FILE.json] [--threads N] [--no-bos]
              Runs TEXT (tokenized with the model's tokenizer.json, BOS as its tokenizer config says) through the model
              and writes prompt_tokens, next_token_logprobs, generated_tokens, generated_text (greedy) and kl_to_final
              (raw-lens KL(p_l || p_L) per layer at the last prompt position, nats). Default --out: stdout.""";

    private TraceCommand() {
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args a = new Args("trace", argv, Set.of("no-bos"), Set.of("model", "prompt", "max-new-tokens", "out", "threads"));
        Path dir = Path.of(a.require("model"));
        String prompt = a.require("prompt");
        int maxNew = a.getInt("max-new-tokens", 32);
        int threads = a.getInt("threads", Runtime.getRuntime().availableProcessors());
        if (!Files.isDirectory(dir)) throw new Args.UsageException("trace: --model " + dir + " is not a folder");
        Tokenizer tok = Tokenizer.load(dir);
        int[] ids = tok.encode(prompt, !a.flag("no-bos"));
        if (ids.length == 0) throw new Args.UsageException("trace: the prompt encodes to no tokens");
        try (Backend be = new CpuBackend(threads); Model model = Model.load(dir, be); Session s = model.newSession()) {
            if (model.vocabSize() < tok.vocabSize()) {
                err.println("trace: warning: tokenizer has " + tok.vocabSize() + " tokens, model vocabulary " + model.vocabSize());
            }
            int layers = model.numLayers(), v = model.vocabSize();
            Activations acts = s.forward(ids, Capture.lastRow(Point.RESID_POST));
            float[] resid = new float[layers * model.hiddenSize()];
            for (int l = 0; l < layers; l++) System.arraycopy(acts.get(Point.RESID_POST, l), 0, resid, l * model.hiddenSize(), model.hiddenSize());
            float[] lens = model.unembed(resid, layers);
            double[] finalLogp = logSoftmax(lens, (layers - 1) * v, v);
            float[][] perLayer = new float[layers][];
            for (int l = 0; l < layers; l++) perLayer[l] = java.util.Arrays.copyOfRange(lens, l * v, (l + 1) * v);
            double[] kl = Metrics.compute(perLayer, null).klForward();
            // Greedy continuation: the first token from the prompt's last position, then step by step.
            Set<Integer> stops = new HashSet<>(model.config().eosTokenIds());
            tok.eosId().ifPresent(stops::add);
            int first = Session.argmax(lens, (layers - 1) * v, v);
            int[] gen;
            if (maxNew <= 0) {
                gen = new int[0];
            } else if (stops.contains(first) || maxNew == 1) {
                gen = new int[]{first};
            } else {
                int[] rest = s.generate(new int[]{first}, maxNew - 1, stops::contains, Capture.NONE, null, null);
                gen = new int[rest.length + 1];
                gen[0] = first;
                System.arraycopy(rest, 0, gen, 1, rest.length);
            }
            String text = tok.decode(gen, true);
            String outPath = a.get("out");
            JsonFactory jf = new JsonFactory();
            try (JsonGenerator g = outPath == null ? jf.createGenerator(new java.io.OutputStreamWriter(out)) : jf.createGenerator(Path.of(outPath).toFile(), JsonEncoding.UTF8)) {
                g.useDefaultPrettyPrinter();
                g.writeStartObject();
                g.writeStringField("model", dir.toAbsolutePath().normalize().toString());
                g.writeStringField("model_type", model.config().modelType());
                g.writeNumberField("num_layers", layers);
                g.writeStringField("backend", be.name());
                g.writeStringField("prompt", prompt);
                g.writeFieldName("prompt_tokens");
                g.writeArray(ids, 0, ids.length);
                g.writeStringField("kl_direction", "KL(p_l || p_L)");
                g.writeFieldName("kl_to_final");
                g.writeArray(kl, 0, kl.length);
                g.writeFieldName("generated_tokens");
                g.writeArray(gen, 0, gen.length);
                g.writeStringField("generated_text", text);
                g.writeFieldName("next_token_logprobs");
                g.writeStartArray();
                for (double x : finalLogp) g.writeNumber((float) x);
                g.writeEndArray();
                g.writeEndObject();
            }
            if (outPath == null) out.println();
            else err.println("trace: wrote " + outPath + " (" + ids.length + " prompt tokens, " + gen.length + " generated)");
        }
        return 0;
    }

    /** log softmax of x[off, off+n) in double. */
    static double[] logSoftmax(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(x[off + i] - max);
        double lse = max + Math.log(sum);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = x[off + i] - lse;
        return out;
    }
}
