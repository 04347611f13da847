package cgap.tokenizer.template;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The reference renderer: real Jinja2 in Python, configured as transformers configures it
 * (tools/jinjaref/render.py). Without python3/jinja2 the calling test fails under CI=true and is
 * skipped otherwise.
 */
final class JinjaReference {
  static final ObjectMapper JSON = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, false);

  /** One reference outcome: output when ok, else the Python exception type and message. */
  record Result(boolean ok, String output, String type, String error, int lineno) {}

  record Request(String template, Map<String, Object> context, String now) {}

  private JinjaReference() {}

  static Path repoRoot() {
    String env = System.getenv("CGAP_ROOT");
    if (env != null && !env.isBlank() && Files.isDirectory(Paths.get(env, "tools", "jinjaref"))) return Paths.get(env).toAbsolutePath();
    Path p = Paths.get("").toAbsolutePath();
    while (p != null) {
      if (Files.isRegularFile(p.resolve("tools/jinjaref/render.py"))) return p;
      p = p.getParent();
    }
    throw new IllegalStateException("cannot find the repository root (set CGAP_ROOT)");
  }

  static Path sharedRoot() {
    return repoRoot().resolve("../shared").normalize();
  }

  private static Boolean available;

  /** Fails (CI=true) or skips (otherwise) the calling test when python3 with jinja2 is missing. */
  static synchronized void require() {
    if (available == null) {
      try {
        Process p = new ProcessBuilder("python3", "-c", "import jinja2").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        available = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
      } catch (IOException | InterruptedException e) {
        available = false;
      }
    }
    if (!available) {
      String msg = "python3 with jinja2 is not available: the reference renderer (tools/jinjaref/render.py) cannot run;"
          + " run tools/jinjaref/setup.sh";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) fail(msg);
      Assumptions.abort(msg + " (skipped outside CI)");
    }
  }

  static List<Result> render(List<Request> requests) {
    require();
    try {
      ObjectNode root = JSON.createObjectNode();
      ArrayNode batch = root.putArray("batch");
      for (Request r : requests) {
        ObjectNode o = batch.addObject();
        o.put("template", r.template());
        o.set("context", JSON.valueToTree(r.context()));
        if (r.now() != null) o.put("now", r.now());
      }
      Path script = repoRoot().resolve("tools/jinjaref/render.py");
      Process p = new ProcessBuilder("python3", script.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      try (OutputStream os = p.getOutputStream()) {
        os.write(JSON.writeValueAsBytes(root));
      }
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        fail("reference renderer failed: " + new String(out, StandardCharsets.UTF_8));
      }
      JsonNode res = JSON.readTree(out);
      List<Result> results = new ArrayList<>();
      for (JsonNode n : res) {
        results.add(new Result(n.path("ok").asBoolean(), n.path("output").asText(null), n.path("type").asText(null),
            n.path("error").asText(null), n.path("lineno").asInt(0)));
      }
      return results;
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("reference renderer could not run", e);
    }
  }

  static Result render(String template, Map<String, Object> context, String now) {
    return render(List.of(new Request(template, context, now))).get(0);
  }
}
