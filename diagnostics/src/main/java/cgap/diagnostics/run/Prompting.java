package cgap.diagnostics.run;

import cgap.tokenizer.Tokenizer;
import cgap.tokenizer.template.ChatTemplate;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * How one model of a pair is prompted (SPEC §1, the native regime): the pretrained model gets the raw text with BOS
 * as its tokenizer says; the instruction-tuned model gets the text as one user message rendered by its own chat
 * template (with the generation prompt, no system message, the pair's template arguments), tokenized without
 * adding special tokens again (transformers' {@code apply_chat_template(tokenize=True)}).
 */
public final class Prompting {
    public enum Format {
        RAW, CHAT;

        public static Format parse(String s, String flag) {
            return switch (s) {
                case "raw" -> RAW;
                case "chat" -> CHAT;
                default -> throw new IllegalArgumentException(flag + " must be 'raw' or 'chat', got '" + s + "'");
            };
        }
    }

    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final String templateSource;
    private final Map<String, Object> templateArgs;
    private final Format format;
    private final Set<Integer> stopIds;

    private Prompting(Tokenizer tokenizer, ChatTemplate template, String templateSource, Map<String, Object> templateArgs,
                      Format format, Set<Integer> stopIds) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.templateSource = templateSource;
        this.templateArgs = templateArgs;
        this.format = format;
        this.stopIds = stopIds;
    }

    /**
     * @param modelDir       folder with tokenizer.json (+ tokenizer_config.json)
     * @param format         RAW or CHAT
     * @param templateSpec   where the template comes from when CHAT: null or "tokenizer_config" (the folder's own),
     *                       "resource:NAME" (shipped with cgap, used when the folder has none), or a file path
     * @param templateArgs   extra template arguments (e.g. enable_thinking=false)
     * @param stopTokens     end-of-turn strings that end generation besides the model's EOS ids
     * @param modelEos       EOS ids from the model's config.json / generation_config.json
     */
    public static Prompting load(Path modelDir, Format format, String templateSpec, Map<String, Object> templateArgs,
                                 List<String> stopTokens, List<Integer> modelEos) {
        Tokenizer tok = Tokenizer.load(modelDir);
        ChatTemplate tpl = null;
        String source = null;
        if (format == Format.CHAT) {
            Path cfg = modelDir.resolve("tokenizer_config.json");
            boolean own = Files.isRegularFile(cfg) && hasTemplate(cfg, modelDir);
            if (templateSpec != null && !templateSpec.equals("tokenizer_config") && !templateSpec.startsWith("resource:")) {
                tpl = ChatTemplate.of(readFile(Path.of(templateSpec)), tokenStrings(tok));
                source = templateSpec;
            } else if (own) {
                tpl = ChatTemplate.fromTokenizerConfig(cfg);
                source = cfg.toString();
            } else if (templateSpec != null && templateSpec.startsWith("resource:")) {
                String name = templateSpec.substring("resource:".length());
                tpl = ChatTemplate.of(resource(name), tokenStrings(tok));
                source = "cgap resource templates/" + name + ".jinja";
            } else {
                throw new IllegalArgumentException(modelDir + ": no chat_template in tokenizer_config.json (nor chat_template.jinja); "
                        + "give one with --chat-template FILE or a models.yaml entry, or prompt this model with the raw format");
            }
        }
        Set<Integer> stops = new TreeSet<>(modelEos);
        tok.eosId().ifPresent(stops::add);
        for (String s : stopTokens) {
            int id = tok.tokenToId(s);
            if (id >= 0) stops.add(id);
        }
        return new Prompting(tok, tpl, source, templateArgs == null ? Map.of() : templateArgs, format, stops);
    }

    private static boolean hasTemplate(Path cfg, Path dir) {
        if (Files.isRegularFile(dir.resolve("chat_template.jinja"))) return true;
        try {
            var n = new ObjectMapper().readTree(cfg.toFile());
            return n != null && n.hasNonNull("chat_template");
        } catch (IOException e) {
            throw new IllegalArgumentException(cfg + ": cannot parse JSON: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> tokenStrings(Tokenizer tok) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String k : List.of("bos_token", "eos_token", "unk_token", "pad_token")) {
            Object v = tok.tokenizerConfig().get(k);
            if (v instanceof Map<?, ?> map) v = map.get("content");
            if (v != null) m.put(k, v.toString());
        }
        return m;
    }

    static String readFile(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read chat template " + p + ": " + e.getMessage(), e);
        }
    }

    static String resource(String name) {
        try (InputStream in = Prompting.class.getResourceAsStream("/cgap/templates/" + name + ".jinja")) {
            if (in == null) throw new IllegalArgumentException("no chat template resource '" + name + "' shipped with cgap");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read chat template resource " + name + ": " + e.getMessage(), e);
        }
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Format format() {
        return format;
    }

    public String templateSource() {
        return templateSource;
    }

    public Set<Integer> stopIds() {
        return stopIds;
    }

    /** The exact text the model sees for a user message (the message itself for RAW). */
    public String render(String userText) {
        if (format == Format.RAW) return userText;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", "user");
        m.put("content", userText);
        return template.render(List.of(m), true, templateArgs);
    }

    /** Renders a whole conversation with the chat template (CHAT format only). */
    public String renderMessages(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        if (template == null) throw new IllegalStateException("no chat template loaded (raw format)");
        return template.render(messages, addGenerationPrompt, templateArgs);
    }

    /** Token ids of the prompt in this regime. */
    public int[] encode(String userText) {
        if (format == Format.RAW) return tokenizer.encode(userText, true);
        return tokenizer.encode(render(userText), false);
    }
}
