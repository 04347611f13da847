package cgap.tokenizer.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face chat template, rendered exactly as transformers renders it: Jinja2's
 * ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop controls, transformers'
 * own {@code tojson} filter and the globals {@code raise_exception} and {@code strftime_now}.
 *
 * <p>The context holds {@code messages}, {@code add_generation_prompt}, {@code tools} and {@code
 * documents} (None unless given in the extra arguments), the special tokens, and the extra
 * arguments. The extra argument {@code "__now__"} (ISO date or date-time) fixes the time seen by
 * {@code strftime_now}; it is not passed to the template.
 */
public final class ChatTemplate {
  /** Special-token attributes transformers puts in {@code special_tokens_map}. */
  static final List<String> SPECIAL_TOKEN_KEYS = List.of("bos_token", "eos_token", "unk_token", "sep_token",
      "pad_token", "cls_token", "mask_token", "additional_special_tokens");

  private final String source;
  private final List<Node> body;
  private final Lexer lexer;
  private final Map<String, Object> specialTokens;
  private final LocalDateTime fixedNow;

  private ChatTemplate(String source, Map<String, Object> specialTokens, LocalDateTime fixedNow) {
    this.source = source;
    this.lexer = new Lexer(source, true, true);
    this.body = new Parser(lexer).parseTemplate();
    Map<String, Object> st = new LinkedHashMap<>();
    if (specialTokens != null) {
      for (Map.Entry<String, Object> e : specialTokens.entrySet()) {
        if (e.getValue() != null) st.put(e.getKey(), Py.fromJava(e.getValue()));
      }
    }
    this.specialTokens = st;
    this.fixedNow = fixedNow;
  }

  /**
   * Reads {@code chat_template} from a tokenizer_config.json (a string, or a list of {@code {name,
   * template}} of which "default" is used; failing both, a sibling chat_template.jinja) and the
   * special tokens (strings or AddedToken objects).
   */
  public static ChatTemplate fromTokenizerConfig(Path tokenizerConfigJson) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(tokenizerConfigJson.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read tokenizer config " + tokenizerConfigJson, e);
    }
    if (root == null || !root.isObject()) throw new IllegalArgumentException(tokenizerConfigJson + " is not a JSON object");
    String template = null;
    JsonNode ct = root.get("chat_template");
    if (ct != null && ct.isTextual()) {
      template = ct.asText();
    } else if (ct != null && ct.isArray()) {
      List<String> names = new ArrayList<>();
      for (JsonNode t : ct) {
        names.add(t.path("name").asText());
        if ("default".equals(t.path("name").asText())) template = t.path("template").asText();
      }
      if (template == null) {
        throw new IllegalArgumentException(tokenizerConfigJson + ": chat_template has named templates " + names + " but no 'default'");
      }
    } else if (ct != null && ct.isObject()) {
      if (ct.has("default")) template = ct.get("default").asText();
      else throw new IllegalArgumentException(tokenizerConfigJson + ": chat_template has no 'default' template");
    } else {
      Path sibling = tokenizerConfigJson.toAbsolutePath().getParent().resolve("chat_template.jinja");
      if (Files.isRegularFile(sibling)) {
        try {
          template = Files.readString(sibling);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read " + sibling, e);
        }
      }
    }
    if (template == null) {
      throw new IllegalArgumentException(tokenizerConfigJson + " has no chat_template (and no chat_template.jinja beside it)");
    }
    return of(template, specialTokensOf(root));
  }

  /** The special tokens of a tokenizer_config.json as transformers' special_tokens_map has them. */
  static Map<String, Object> specialTokensOf(JsonNode root) {
    Map<String, Object> st = new LinkedHashMap<>();
    for (String key : SPECIAL_TOKEN_KEYS) {
      JsonNode v = root.get(key);
      if (v == null || v.isNull()) continue;
      if (key.equals("additional_special_tokens")) {
        if (!v.isArray() || v.isEmpty()) continue;
        List<Object> l = new ArrayList<>();
        for (JsonNode t : v) l.add(tokenText(t));
        st.put(key, l);
        continue;
      }
      String s = tokenText(v);
      if (s != null && !s.isEmpty()) st.put(key, s);
    }
    return st;
  }

  private static String tokenText(JsonNode v) {
    if (v.isTextual()) return v.asText();
    if (v.isObject() && v.has("content")) return v.get("content").asText();
    return null;
  }

  /** A template from source with the given special tokens (e.g. bos_token, eos_token). */
  public static ChatTemplate of(String templateSource, Map<String, Object> specialTokens) {
    Objects.requireNonNull(templateSource, "templateSource");
    return new ChatTemplate(templateSource, specialTokens, null);
  }

  /** A copy whose {@code strftime_now} sees {@code now} instead of the current time. */
  public ChatTemplate withNow(LocalDateTime now) {
    return new ChatTemplate(source, specialTokens, now);
  }

  /** The template source. */
  public String source() {
    return source;
  }

  /** The special tokens passed to the template. */
  public Map<String, Object> specialTokens() {
    return Map.copyOf(specialTokens);
  }

  /**
   * Renders the conversation. {@code extraArgs} (may be null) are further template variables, such
   * as {@code enable_thinking}, {@code tools}, {@code documents}, {@code date_string}.
   */
  public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extraArgs) {
    Map<String, Object> extra = extraArgs == null ? Map.of() : extraArgs;
    LocalDateTime now = fixedNow;
    if (extra.get("__now__") != null) now = parseNow(extra.get("__now__").toString());
    Map<String, Object> context = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : context(messages, addGenerationPrompt, extra).entrySet()) {
      context.put(e.getKey(), Py.fromJava(e.getValue()));
    }
    Interp in = new Interp(lexer, Globals.create(now));
    return in.render(body, context);
  }

  /** The template variables exactly as transformers passes them (Java values, JSON-compatible). */
  Map<String, Object> context(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extraArgs) {
    Map<String, Object> ctx = new LinkedHashMap<>();
    ctx.put("messages", messages);
    ctx.put("tools", null);
    ctx.put("documents", null);
    ctx.put("add_generation_prompt", addGenerationPrompt);
    ctx.putAll(specialTokens);
    if (extraArgs != null) {
      for (Map.Entry<String, Object> e : extraArgs.entrySet()) {
        if (!e.getKey().equals("__now__")) ctx.put(e.getKey(), e.getValue());
      }
    }
    return ctx;
  }

  /** Renders any template source against a raw context (for tests of the engine itself). */
  static String renderRaw(String templateSource, Map<String, Object> context, LocalDateTime now) {
    Lexer lexer = new Lexer(templateSource, true, true);
    List<Node> body = new Parser(lexer).parseTemplate();
    Map<String, Object> ctx = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : context.entrySet()) ctx.put(e.getKey(), Py.fromJava(e.getValue()));
    return new Interp(lexer, Globals.create(now)).render(body, ctx);
  }

  static LocalDateTime parseNow(String iso) {
    if (iso.length() <= 10) return LocalDate.parse(iso).atStartOfDay();
    return LocalDateTime.parse(iso);
  }
}
