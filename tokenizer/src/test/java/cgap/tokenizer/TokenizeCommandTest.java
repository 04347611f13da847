package cgap.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizeCommandTest {
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code = TokenizeCommand.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printsIdsAndTokens() throws Exception {
        String dir = TestPaths.sharedDir("models/stories260K").toString();
        Result r = run("--model", dir, "--text", "Once upon a time");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("[1,403,407,261,378]", j.get("ids").toString());
        assertEquals("<s>", j.get("tokens").get(0).asText());
        assertEquals(5, j.get("tokens").size());
    }

    @Test
    void specialFlag() throws Exception {
        String dir = TestPaths.sharedDir("tokenizers/llama3_1").toString();
        JsonNode plain = new ObjectMapper().readTree(run("--model", dir, "--text", "<|eot_id|>hi").out());
        assertEquals("[128000,27,91,68,354,851,91,29,6151]", plain.get("ids").toString());
        JsonNode special = new ObjectMapper().readTree(run("--model", dir, "--text", "<|eot_id|>hi", "--special").out());
        assertEquals("[128000,128009,6151]", special.get("ids").toString());
        JsonNode noBos = new ObjectMapper().readTree(run("--model", dir, "--text", "hi", "--no-add-special-tokens").out());
        assertEquals("[6151]", noBos.get("ids").toString());
        assertEquals("hi", noBos.get("tokens").get(0).asText());
    }

    @Test
    void errorsExitTwo(@TempDir Path tmp) {
        Result missing = run("--text", "x");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("--model"), missing.err());
        Result noDir = run("--model", tmp.resolve("none").toString(), "--text", "x");
        assertEquals(2, noDir.code());
        assertTrue(noDir.err().contains("tokenizer.json"), noDir.err());
        assertEquals(2, run("--model").code());
        assertEquals(2, run("--bogus").code());
    }
}
