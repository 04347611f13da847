package cgap.diagnostics.cli;

import cgap.diagnostics.run.Prompting;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code cgap chat --model DIR --user TEXT [--no-generation-prompt] [--template-arg k=v] [--chat-template FILE]}. */
public final class ChatCommand {
    public static final String USAGE = """
            usage: cgap chat --model DIR --user TEXT [--system TEXT] [--no-generation-prompt] [--template-arg K=V]... [--chat-template FILE]
              Renders the model's chat template (tokenizer_config.json) for one user turn as transformers does and prints
              {"text": <rendered>, "ids": [...]} (ids: the rendered text tokenized without adding special tokens again).
              DIR may hold only tokenizer files.""";

    private ChatCommand() {
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args a = new Args("chat", argv, Set.of("no-generation-prompt"), Set.of("model", "user", "system", "template-arg", "chat-template"));
        Path dir = Path.of(a.require("model"));
        String user = a.require("user");
        Map<String, Object> args = a.keyValues("template-arg");
        Prompting p = Prompting.load(dir, Prompting.Format.CHAT, a.get("chat-template"), args, List.of(), List.of());
        List<Map<String, Object>> messages = new java.util.ArrayList<>();
        if (a.get("system") != null) messages.add(message("system", a.get("system")));
        messages.add(message("user", user));
        String text = p.renderMessages(messages, !a.flag("no-generation-prompt"));
        int[] ids = p.tokenizer().encode(text, false);
        JsonGenerator g = new JsonFactory().createGenerator(new OutputStreamWriter(out, StandardCharsets.UTF_8));
        g.writeStartObject();
        g.writeStringField("text", text);
        g.writeFieldName("ids");
        g.writeArray(ids, 0, ids.length);
        g.writeEndObject();
        g.flush();
        out.println();
        return 0;
    }

    static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
