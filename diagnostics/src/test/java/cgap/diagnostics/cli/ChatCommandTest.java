package cgap.diagnostics.cli;

import cgap.diagnostics.Main;
import cgap.engine.Shared;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

/** {@code cgap chat} on real tokenizer folders (no weights needed). */
class ChatCommandTest {
    static JsonNode chat(int expectRc, String... args) throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        assertEquals(expectRc, rc, e.toString(StandardCharsets.UTF_8));
        return rc == 0 ? new ObjectMapper().readTree(o.toString(StandardCharsets.UTF_8)) : null;
    }

    @Test
    void qwen3WithThinkingOff() throws Exception {
        JsonNode j = chat(0, "chat", "--model", Shared.path("tokenizers/qwen3").toString(), "--user", "Hi", "--template-arg", "enable_thinking=false");
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", j.get("text").asText());
        assertEquals(151644, j.get("ids").get(0).asInt(), "<|im_start|> parsed as one special token");
    }

    @Test
    void sharedChatModelWithoutGenerationPrompt() throws Exception {
        JsonNode j = chat(0, "chat", "--model", Shared.path("models/tinyllama-v0-chat").toString(), "--user", "Tell a story", "--no-generation-prompt");
        assertEquals("<s>[INST] Tell a story [/INST]", j.get("text").asText());
        assertEquals(1, j.get("ids").get(0).asInt());
    }

    @Test
    void folderWithoutTemplateIsAClearError() throws Exception {
        chat(1, "chat", "--model", Shared.path("models/stories260K").toString(), "--user", "Hi");
        chat(2, "chat", "--model", Shared.path("tokenizers/qwen3").toString(), "--user", "Hi", "--template-arg", "novalue");
    }
}
