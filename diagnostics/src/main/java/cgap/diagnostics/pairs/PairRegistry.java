package cgap.diagnostics.pairs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The registry of PT/IT pairs ({@code models.yaml}) and the resolution of a pair's checkpoints to folders on this
 * machine: a models directory, or the Hugging Face cache layout
 * {@code $HF_HUB_CACHE | $HF_HOME/hub | ~/.cache/huggingface/hub} {@code /models--ORG--NAME/snapshots/REV/}.
 */
public final class PairRegistry {
    /** One side of a pair: its hub id, pinned revision (or null) and an explicit path (or null). */
    public record Checkpoint(String id, String revision, String path) {
    }

    /** A pair as models.yaml describes it. Windows are inclusive [first, last] layer ranges. */
    public record Pair(String name, String family, Checkpoint pt, Checkpoint it, int layers, int dModel,
                       Map<String, int[]> windows, double tunedLensLrScale, String chatTemplate,
                       Map<String, Object> chatTemplateArgs, List<String> stopTokens, boolean dense) {
    }

    private final Path source;
    private final Map<String, Pair> pairs;

    private PairRegistry(Path source, Map<String, Pair> pairs) {
        this.source = source;
        this.pairs = pairs;
    }

    /** The repository's models.yaml (found from CGAP_ROOT or the working directory), else the copy in the jar. */
    public static PairRegistry load() {
        String root = System.getenv("CGAP_ROOT");
        Path p = Path.of(root != null ? root : ".").resolve("models.yaml");
        if (Files.isRegularFile(p)) return load(p);
        try (InputStream in = PairRegistry.class.getResourceAsStream("/cgap/models.yaml")) {
            if (in == null) throw new IllegalArgumentException("models.yaml not found (looked at " + p.toAbsolutePath() + " and in the jar)");
            return parse(new ObjectMapper(new YAMLFactory()).readTree(in), Path.of("models.yaml (built in)"));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the built-in models.yaml: " + e.getMessage(), e);
        }
    }

    public static PairRegistry load(Path file) {
        try {
            return parse(new ObjectMapper(new YAMLFactory()).readTree(file.toFile()), file);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot parse YAML: " + e.getMessage(), e);
        }
    }

    static PairRegistry parse(JsonNode root, Path file) {
        JsonNode ps = root == null ? null : root.get("pairs");
        if (ps == null || !ps.isObject()) throw new IllegalArgumentException(file + ": missing mapping 'pairs'");
        Map<String, Pair> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = ps.fields(); it.hasNext(); ) {
            var e = it.next();
            String name = e.getKey(), where = file + ": pairs." + name;
            JsonNode n = e.getValue();
            Map<String, int[]> windows = new LinkedHashMap<>();
            JsonNode w = need(n, "windows", where);
            for (String k : List.of("early", "mid", "late")) {
                JsonNode r = need(w, k, where + ".windows");
                if (!r.isArray() || r.size() != 2) throw new IllegalArgumentException(where + ".windows." + k + ": expected [first, last], found " + r);
                windows.put(k, new int[]{r.get(0).asInt(), r.get(1).asInt()});
            }
            Map<String, Object> args = new LinkedHashMap<>();
            JsonNode a = n.get("chat_template_args");
            if (a != null && a.isObject()) a.fields().forEachRemaining(f -> args.put(f.getKey(), scalar(f.getValue())));
            List<String> stops = new ArrayList<>();
            JsonNode st = n.get("stop_tokens");
            if (st != null) st.forEach(s -> stops.add(s.asText()));
            int layers = need(n, "layers", where).asInt();
            for (int[] r : windows.values()) {
                if (r[0] < 0 || r[1] >= layers || r[0] > r[1]) throw new IllegalArgumentException(where + ": window [" + r[0] + ", " + r[1] + "] is outside layers 0.." + (layers - 1));
            }
            out.put(name, new Pair(name, need(n, "family", where).asText(), checkpoint(need(n, "pt", where), where + ".pt"),
                    checkpoint(need(n, "it", where), where + ".it"), layers, need(n, "d_model", where).asInt(), windows,
                    n.path("tuned_lens_lr_scale").asDouble(1.0), n.path("chat_template").asText("tokenizer_config"), args, stops,
                    n.path("dense").asBoolean(true)));
        }
        return new PairRegistry(file, out);
    }

    private static Object scalar(JsonNode v) {
        if (v.isBoolean()) return v.asBoolean();
        if (v.isIntegralNumber()) return v.asLong();
        if (v.isNumber()) return v.asDouble();
        if (v.isNull()) return null;
        return v.asText();
    }

    private static Checkpoint checkpoint(JsonNode n, String where) {
        String id = need(n, "id", where).asText();
        JsonNode rev = n.get("revision"), path = n.get("path");
        return new Checkpoint(id, rev == null || rev.isNull() ? null : rev.asText(), path == null || path.isNull() ? null : path.asText());
    }

    private static JsonNode need(JsonNode n, String f, String where) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) throw new IllegalArgumentException(where + ": missing field '" + f + "'");
        return v;
    }

    public Path source() {
        return source;
    }

    public Map<String, Pair> pairs() {
        return pairs;
    }

    public Pair get(String name) {
        Pair p = pairs.get(name);
        if (p == null) throw new IllegalArgumentException("unknown pair '" + name + "' (known in " + source + ": " + String.join(", ", pairs.keySet()) + ")");
        return p;
    }

    /** The Hugging Face hub cache folder this process would use. */
    public static Path hubCache(Map<String, String> env) {
        if (env.get("HF_HUB_CACHE") != null) return Path.of(env.get("HF_HUB_CACHE"));
        if (env.get("HF_HOME") != null) return Path.of(env.get("HF_HOME"), "hub");
        return Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
    }

    /**
     * Finds a checkpoint's folder: its explicit path (relative to the repository root), else
     * {@code modelsDir/NAME} or {@code modelsDir/ORG--NAME} or {@code modelsDir/ORG/NAME}, else the hub cache snapshot
     * of the pinned revision, of {@code refs/main}, or the only snapshot. The message of a failure lists every place tried.
     */
    public static Path resolve(Checkpoint c, Path modelsDir, Path repoRoot, Map<String, String> env) {
        List<Path> tried = new ArrayList<>();
        if (c.path() != null) {
            Path p = repoRoot.resolve(c.path()).normalize();
            if (isModel(p)) return p;
            tried.add(p);
        }
        String[] parts = c.id().split("/", 2);
        String name = parts[parts.length - 1];
        if (modelsDir != null) {
            for (Path p : List.of(modelsDir.resolve(name), modelsDir.resolve(c.id().replace("/", "--")), modelsDir.resolve(c.id()))) {
                if (isModel(p)) return p;
                tried.add(p);
            }
        }
        Path repo = hubCache(env).resolve("models--" + c.id().replace("/", "--"));
        Path snaps = repo.resolve("snapshots");
        String rev = c.revision();
        if (rev == null) {
            try {
                Path ref = repo.resolve("refs").resolve("main");
                if (Files.isRegularFile(ref)) rev = Files.readString(ref).trim();
            } catch (IOException ignored) {
                // fall through to the snapshot listing
            }
        }
        if (rev != null) {
            Path p = snaps.resolve(rev);
            if (isModel(p)) return p;
            tried.add(p);
        } else if (Files.isDirectory(snaps)) {
            try (var s = Files.list(snaps)) {
                List<Path> all = s.filter(PairRegistry::isModel).toList();
                if (all.size() == 1) return all.get(0);
                if (all.size() > 1) throw new IllegalArgumentException(c.id() + ": " + all.size() + " snapshots in " + snaps
                        + " and no revision pinned in models.yaml nor refs/main; pin one");
            } catch (IOException ignored) {
                // reported below
            }
            tried.add(snaps.resolve("<revision>"));
        } else {
            tried.add(snaps.resolve("<revision>"));
        }
        throw new IllegalArgumentException("checkpoint " + c.id() + " not found; looked in: " + tried
                + " (give --models-dir, set HF_HOME/HF_HUB_CACHE, or pass --pt/--it folders)");
    }

    static boolean isModel(Path p) {
        return Files.isRegularFile(p.resolve("config.json"));
    }
}
