package cgap.diagnostics.cli;

import cgap.diagnostics.Main;
import cgap.engine.Shared;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code cgap trace}: the JSON field contract other tools rely on. */
class TraceCommandTest {
    @TempDir
    Path tmp;

    @Test
    void contractFieldsOnStories260K() throws Exception {
        Path out = tmp.resolve("t.json");
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int rc = Main.run(new String[]{"trace", "--model", Shared.path("models/stories260K").toString(), "--prompt", "Once upon a time",
                "--max-new-tokens", "12", "--out", out.toString()}, new PrintStream(new ByteArrayOutputStream()), new PrintStream(e));
        assertEquals(0, rc, e.toString());
        JsonNode j = new ObjectMapper().readTree(out.toFile());
        assertEquals("[1,403,407,261,378]", j.get("prompt_tokens").toString());
        assertEquals(512, j.get("next_token_logprobs").size());
        double sum = 0;
        for (JsonNode x : j.get("next_token_logprobs")) sum += Math.exp(x.asDouble());
        assertEquals(1.0, sum, 1e-4, "log-probabilities of a distribution");
        assertEquals(12, j.get("generated_tokens").size());
        assertTrue(j.get("generated_text").asText().startsWith(", there was a little girl named Lily."), j.get("generated_text").asText());
        JsonNode kl = j.get("kl_to_final");
        assertEquals(5, kl.size());
        assertEquals(0.0, kl.get(4).asDouble(), 1e-6, "the last layer's raw lens is the final distribution");
        for (JsonNode x : kl) assertTrue(x.asDouble() >= 0);
    }
}
