package cgap.diagnostics.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Loading prompt sets. Three formats:
 * <ul>
 *   <li><b>the paper's JSONL</b> (a line with a {@code formats} object): {@code id} (string) and
 *       {@code formats.B} (string, the raw text) are required; {@code question}, {@code source}, {@code split},
 *       {@code question_type} and any other field are kept in {@link Prompt#fields()};</li>
 *   <li><b>plain JSONL</b>: {@code {"id": …, "prompt": …}}; {@code prompt} required, {@code id} optional
 *       (default {@code line-N});</li>
 *   <li><b>text</b>: one prompt per line, blank lines skipped, id {@code line-N} (N the 1-based line).</li>
 * </ul>
 * A file ending in {@code .jsonl}, {@code .ndjson} or {@code .json} is read as JSONL (paper or plain decided
 * per line), anything else as text. In JSONL blank lines are skipped. UTF-8; a leading byte-order mark and
 * trailing {@code \r} are dropped. Ids must be unique. Every error is a {@link PromptSetException} naming
 * the file, the line and the field.
 */
public final class PromptSets {
    /** Classpath location of the built-in prompt set. */
    public static final String DEFAULT_RESOURCE = "/cgap/prompts/default.jsonl";

    /** Input formats. */
    public enum Format {
        /** JSONL, paper or plain decided per line. */
        JSONL,
        /** One prompt per line. */
        TEXT
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private PromptSets() {
    }

    /** Loads a whole file, the format chosen by its extension. */
    public static List<Prompt> load(Path file) throws IOException {
        return load(file, PromptQuery.all());
    }

    /** Loads a file and applies a query (filters, sample, limit). */
    public static List<Prompt> load(Path file, PromptQuery query) throws IOException {
        String name = file.toString();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return query.apply(parse(r, name, formatOf(file)), name);
        }
    }

    /** The built-in prompt set ({@value #DEFAULT_RESOURCE}). */
    public static List<Prompt> loadDefault() {
        try (InputStream in = PromptSets.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + DEFAULT_RESOURCE + " is missing from the classpath");
            }
            return parse(new InputStreamReader(in, StandardCharsets.UTF_8), DEFAULT_RESOURCE, Format.JSONL);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The format a file name implies. */
    public static Format formatOf(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".jsonl") || n.endsWith(".ndjson") || n.endsWith(".json") ? Format.JSONL : Format.TEXT;
    }

    /** Parses prompts from a reader; {@code source} names it in errors. */
    public static List<Prompt> parse(Reader reader, String source, Format format) throws IOException {
        BufferedReader r = reader instanceof BufferedReader b ? b : new BufferedReader(reader);
        List<Prompt> out = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        String line;
        int no = 0;
        while ((line = r.readLine()) != null) {
            no++;
            if (no == 1 && line.startsWith("\uFEFF")) {
                line = line.substring(1);
            }
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.isBlank()) {
                continue;
            }
            Prompt p = format == Format.JSONL ? jsonLine(line, source, no) : Prompt.of("line-" + no, line);
            Integer first = seen.putIfAbsent(p.id(), no);
            if (first != null) {
                throw new PromptSetException(source, no, "id", "duplicate id '" + p.id() + "' (first on line " + first + ")");
            }
            out.add(p);
        }
        return List.copyOf(out);
    }

    private static Prompt jsonLine(String line, String source, int no) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new PromptSetException(source, no, null, "invalid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new PromptSetException(source, no, null, "expected a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> fields = JSON.convertValue(node, LinkedHashMap.class);
        if (node.has("formats")) {
            String id = requiredId(node, source, no);
            JsonNode formats = node.get("formats");
            if (!formats.isObject()) {
                throw new PromptSetException(source, no, "formats", "expected an object");
            }
            String text = requiredString(formats.get("B"), "formats.B", source, no);
            String question = null;
            if (node.has("question") && !node.get("question").isNull()) {
                question = requiredString(node.get("question"), "question", source, no);
            }
            return new Prompt(id, text, question, fields);
        }
        if (node.has("prompt")) {
            String text = requiredString(node.get("prompt"), "prompt", source, no);
            String id = node.has("id") ? requiredId(node, source, no) : "line-" + no;
            return new Prompt(id, text, null, fields);
        }
        throw new PromptSetException(source, no, "formats.B", "missing (a line needs 'formats.B', or 'prompt' for plain JSONL)");
    }

    private static String requiredId(JsonNode node, String source, int no) {
        JsonNode id = node.get("id");
        if (id == null || id.isNull()) {
            throw new PromptSetException(source, no, "id", "missing");
        }
        if (!id.isTextual() && !id.isIntegralNumber()) {
            throw new PromptSetException(source, no, "id", "expected a string, got " + id.getNodeType());
        }
        String s = id.asText();
        if (s.isEmpty()) {
            throw new PromptSetException(source, no, "id", "empty");
        }
        return s;
    }

    private static String requiredString(JsonNode v, String field, String source, int no) {
        if (v == null || v.isNull()) {
            throw new PromptSetException(source, no, field, "missing");
        }
        if (!v.isTextual()) {
            throw new PromptSetException(source, no, field, "expected a string, got " + v.getNodeType());
        }
        if (v.asText().isEmpty()) {
            throw new PromptSetException(source, no, field, "empty");
        }
        return v.asText();
    }
}
