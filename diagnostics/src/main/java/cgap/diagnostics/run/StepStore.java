package cgap.diagnostics.run;

import cgap.diagnostics.metrics.StepMetrics;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The per-step rows of a run: {@code steps/<side>/<index>.jsonl.gz}, one file per prompt and model side, written
 * whole and atomically (temporary file, then rename) when that prompt is done. A killed run loses at most the
 * prompt in progress; a restarted run skips every prompt whose file exists. Line 1 is the prompt's record
 * ({@code prompt_id}, prompt tokens, generated tokens and text, why generation stopped); each further line is one
 * token step with its per-layer arrays.
 */
public final class StepStore {
    private static final JsonFactory JSON = new JsonFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final Path dir;

    public StepStore(Path runDir) {
        this.dir = runDir.resolve("steps");
    }

    public Path file(String side, int index) {
        return dir.resolve(side).resolve(String.format("%06d.jsonl.gz", index));
    }

    public boolean has(String side, int index) {
        return Files.isRegularFile(file(side, index));
    }

    /** One prompt's generation on one side. */
    public record PromptRecord(String promptId, int index, String side, int[] promptTokens, int[] generated, String text,
                               String stop) {
    }

    public void write(PromptRecord rec, List<StepMetrics> steps) throws IOException {
        write(rec, steps, null);
    }

    /**
     * As {@link #write(PromptRecord, List)}, with a second readout of the same steps (the tuned lens) under the key
     * {@code tuned} of each step line, in the same fields as the raw readout's; {@code tuned} may be null.
     */
    public void write(PromptRecord rec, List<StepMetrics> steps, List<StepMetrics> tuned) throws IOException {
        if (tuned != null && tuned.size() != steps.size()) throw new IllegalArgumentException(tuned.size() + " tuned steps for " + steps.size() + " raw steps");
        Path f = file(rec.side(), rec.index());
        Files.createDirectories(f.getParent());
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(tmp))) {
            JsonGenerator g = JSON.createGenerator(os);
            g.writeStartObject();
            g.writeStringField("prompt_id", rec.promptId());
            g.writeNumberField("index", rec.index());
            g.writeStringField("side", rec.side());
            g.writeFieldName("prompt_tokens");
            g.writeArray(rec.promptTokens(), 0, rec.promptTokens().length);
            g.writeFieldName("generated_tokens");
            g.writeArray(rec.generated(), 0, rec.generated().length);
            g.writeStringField("generated_text", rec.text());
            g.writeStringField("stop", rec.stop());
            g.writeNumberField("steps", steps.size());
            g.writeEndObject();
            g.writeRaw('\n');
            for (int s = 0; s < steps.size(); s++) {
                StepMetrics m = steps.get(s);
                g.writeStartObject();
                g.writeNumberField("step", s);
                g.writeNumberField("token", rec.generated()[s]);
                fields(g, m);
                if (tuned != null) {
                    g.writeFieldName("tuned");
                    g.writeStartObject();
                    fields(g, tuned.get(s));
                    g.writeEndObject();
                }
                g.writeEndObject();
                g.writeRaw('\n');
            }
            g.flush();
        }
        Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The per-step fields of one readout. */
    private static void fields(JsonGenerator g, StepMetrics m) throws IOException {
        arr(g, "kl", m.klForward());
        arr(g, "kl_rev", m.klReverse());
        arr(g, "js_adj", m.adjacentJs());
        arr(g, "top1", m.top1());
        g.writeNumberField("entropy", m.finalEntropy());
        g.writeNumberField("top1_prob", m.finalTop1Prob());
        g.writeNumberField("margin", Double.isInfinite(m.finalTop1Margin()) ? 1e30 : m.finalTop1Margin());
        arr(g, "commit_kl", m.klCommitForward());
        arr(g, "commit_kl_rev", m.klCommitReverse());
        g.writeNumberField("commit_top1", m.top1Commit());
        if (m.cosineToFinal() != null) {
            arr(g, "cos", m.cosineToFinal());
            arr(g, "commit_cos", m.cosineCommit());
        }
        arr(g, "remaining_js", m.remainingJs());
        arr(g, "future_flips", m.futureFlips());
    }

    private static void arr(JsonGenerator g, String name, double[] a) throws IOException {
        g.writeFieldName(name);
        g.writeStartArray();
        for (double v : a) {
            if (Double.isNaN(v)) g.writeNull(); // cosine of a zero vector: undefined, kept as null
            else g.writeNumber(v);
        }
        g.writeEndArray();
    }

    private static void arr(JsonGenerator g, String name, int[] a) throws IOException {
        g.writeFieldName(name);
        g.writeArray(a, 0, a.length);
    }

    /** Reads a prompt file back: the header and each step's JSON. */
    public record Loaded(JsonNode header, List<JsonNode> steps) {
    }

    public Loaded read(String side, int index) throws IOException {
        Path f = file(side, index);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(f)), StandardCharsets.UTF_8))) {
            String first = r.readLine();
            if (first == null) throw new IOException(f + ": empty step file");
            JsonNode header = MAPPER.readTree(first);
            List<JsonNode> steps = new ArrayList<>();
            for (String line; (line = r.readLine()) != null; ) if (!line.isBlank()) steps.add(MAPPER.readTree(line));
            if (steps.size() != header.path("steps").asInt(-1)) {
                throw new IOException(f + ": header says " + header.path("steps").asInt() + " steps, file holds " + steps.size());
            }
            return new Loaded(header, steps);
        }
    }
}
