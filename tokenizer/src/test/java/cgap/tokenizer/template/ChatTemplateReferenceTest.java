package cgap.tokenizer.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The real chat templates (shared tokenizers and models, and the released templates stored as
 * resources) rendered by this engine and by real Jinja2 configured like transformers: outputs must
 * be byte-identical for every conversation and generation-prompt setting; where Jinja2 raises
 * (e.g. a role the template rejects), this engine raises with the same message.
 */
class ChatTemplateReferenceTest {
  static final String NOW = "2024-07-26";

  record Named(String name, ChatTemplate template, Map<String, Object> extra) {}

  static Map<String, Object> msg(String role, String content) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("role", role);
    m.put("content", content);
    return m;
  }

  static final List<Map<String, Object>> ONE_USER = List.of(msg("user", "Hello, who are you?"));
  static final List<Map<String, Object>> MULTI_SYSTEM = List.of(
      msg("system", "You are a concise assistant. Answer in one sentence."),
      msg("user", "  What is the capital of France?  "),
      msg("assistant", "The capital of France is Paris."),
      msg("user", "And of Italy — «Roma»? 😀"));
  static final List<Map<String, Object>> MULTI_NO_SYSTEM = List.of(
      msg("user", "Hi!"),
      msg("assistant", "Hello! How can I help?"),
      msg("user", "Tell me a joke."));
  static final List<Map<String, Object>> WITH_THINKING = List.of(
      msg("user", "2+2?"),
      msg("assistant", "<think>\nSimple arithmetic.\n</think>\n\n4"),
      msg("user", "3+3?"));

  static Path shared(String rel) {
    return JinjaReference.sharedRoot().resolve(rel);
  }

  static String resource(String name) {
    try (InputStream in = ChatTemplate.class.getResourceAsStream("/cgap/templates/" + name + ".jinja")) {
      if (in == null) return null;
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static List<Named> templates() {
    List<Named> t = new ArrayList<>();
    t.add(new Named("llama3_1", ChatTemplate.fromTokenizerConfig(shared("tokenizers/llama3_1/tokenizer_config.json")), Map.of()));
    ChatTemplate qwen3 = ChatTemplate.fromTokenizerConfig(shared("tokenizers/qwen3/tokenizer_config.json"));
    t.add(new Named("qwen3", qwen3, Map.of()));
    t.add(new Named("qwen3/enable_thinking=false", qwen3, Map.of("enable_thinking", false)));
    t.add(new Named("gemma3", ChatTemplate.fromTokenizerConfig(shared("tokenizers/gemma3/tokenizer_config.json")), Map.of()));
    t.add(new Named("tinyllama-v0-chat", ChatTemplate.fromTokenizerConfig(shared("models/tinyllama-v0-chat/tokenizer_config.json")), Map.of()));
    Map<String, Map<String, Object>> resources = new LinkedHashMap<>();
    resources.put("llama3_1_8b_instruct", Map.of("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>"));
    resources.put("mistral_7b_instruct_v0_3", Map.of("bos_token", "<s>", "eos_token", "</s>", "unk_token", "<unk>"));
    resources.put("olmo2_1124_7b_instruct", Map.of("bos_token", "<|endoftext|>", "eos_token", "<|endoftext|>", "pad_token", "<|pad|>"));
    resources.put("deepseek_v2_lite_chat", Map.of("bos_token", "<｜begin▁of▁sentence｜>", "eos_token", "<｜end▁of▁sentence｜>"));
    for (Map.Entry<String, Map<String, Object>> e : resources.entrySet()) {
      String src = resource(e.getKey());
      if (src != null) t.add(new Named(e.getKey(), ChatTemplate.of(src, e.getValue()), Map.of()));
    }
    return t;
  }

  record Case(String name, ChatTemplate template, List<Map<String, Object>> messages, boolean gen, Map<String, Object> extra) {}

  @TestFactory
  Stream<DynamicTest> realTemplatesMatchJinja2() {
    Map<String, List<Map<String, Object>>> convs = new LinkedHashMap<>();
    convs.put("one user turn", ONE_USER);
    convs.put("system + multi-turn", MULTI_SYSTEM);
    convs.put("multi-turn, no system", MULTI_NO_SYSTEM);
    convs.put("assistant with <think>", WITH_THINKING);
    List<Case> cases = new ArrayList<>();
    for (Named n : templates()) {
      for (Map.Entry<String, List<Map<String, Object>>> c : convs.entrySet()) {
        for (boolean gen : new boolean[] {false, true}) {
          cases.add(new Case(n.name() + " | " + c.getKey() + " | add_generation_prompt=" + gen, n.template(), c.getValue(), gen, n.extra()));
        }
      }
    }
    List<JinjaReference.Request> reqs = new ArrayList<>();
    for (Case c : cases) reqs.add(new JinjaReference.Request(c.template().source(), c.template().context(c.messages(), c.gen(), c.extra()), NOW));
    List<JinjaReference.Result> ref = JinjaReference.render(reqs);
    List<DynamicTest> tests = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      Case c = cases.get(i);
      JinjaReference.Result r = ref.get(i);
      tests.add(DynamicTest.dynamicTest(c.name(), () -> {
        Map<String, Object> extra = new LinkedHashMap<>(c.extra());
        extra.put("__now__", NOW);
        if (r.ok()) {
          assertEquals(r.output(), c.template().render(c.messages(), c.gen(), extra));
        } else {
          TemplateException e = assertThrows(TemplateException.class, () -> c.template().render(c.messages(), c.gen(), extra),
              () -> "Jinja2 raised " + r.type() + ": " + r.error());
          if ("TemplateError".equals(r.type())) assertEquals(r.error(), e.reason());
        }
      }));
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> sharedTemplatesAllRender() {
    // The conversations the brief names must render (not raise) for every template but tinyllama's
    // (which supports no system role).
    List<DynamicTest> tests = new ArrayList<>();
    for (Named n : templates()) {
      tests.add(DynamicTest.dynamicTest(n.name(), () -> {
        String one = n.template().render(ONE_USER, true, Map.of("__now__", NOW));
        assertTrue(one.contains("Hello, who are you?"), one);
        if (!n.name().startsWith("tinyllama")) {
          String multi = n.template().render(MULTI_SYSTEM, true, Map.of("__now__", NOW));
          assertTrue(multi.contains("Paris"), multi);
        }
      }));
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> toolConversationsMatchJinja2() {
    Map<String, Object> fn = new LinkedHashMap<>();
    fn.put("name", "get_weather");
    fn.put("description", "Get the weather for a city — «quoted» \"names\" too");
    fn.put("parameters", Map.of("type", "object", "properties", Map.of("city", Map.of("type", "string")), "required", List.of("city")));
    List<Object> tools = List.of(Map.of("type", "function", "function", fn));
    Map<String, Object> call = new LinkedHashMap<>();
    call.put("type", "function");
    call.put("function", Map.of("name", "get_weather", "arguments", Map.of("city", "Paris")));
    Map<String, Object> assistant = msg("assistant", "");
    assistant.put("tool_calls", List.of(call));
    List<Map<String, Object>> conv = List.of(msg("system", "You can call tools."), msg("user", "Weather in Paris?"), assistant,
        msg("tool", "{\"temp\": 21}"));
    List<Named> named = new ArrayList<>();
    for (Named n : templates()) if (n.name().startsWith("qwen3") || n.name().equals("llama3_1_8b_instruct") || n.name().startsWith("mistral")) named.add(n);
    List<JinjaReference.Request> reqs = new ArrayList<>();
    for (Named n : named) {
      Map<String, Object> extra = new LinkedHashMap<>(n.extra());
      extra.put("tools", tools);
      reqs.add(new JinjaReference.Request(n.template().source(), n.template().context(conv, true, extra), NOW));
    }
    List<JinjaReference.Result> ref = named.isEmpty() ? List.of() : JinjaReference.render(reqs);
    List<DynamicTest> tests = new ArrayList<>();
    for (int i = 0; i < named.size(); i++) {
      Named n = named.get(i);
      JinjaReference.Result r = ref.get(i);
      tests.add(DynamicTest.dynamicTest(n.name() + " with tools", () -> {
        Map<String, Object> extra = new LinkedHashMap<>(n.extra());
        extra.put("tools", tools);
        extra.put("__now__", NOW);
        if (r.ok()) {
          assertEquals(r.output(), n.template().render(conv, true, extra));
        } else {
          TemplateException e = assertThrows(TemplateException.class, () -> n.template().render(conv, true, extra),
              () -> "Jinja2 raised " + r.type() + ": " + r.error());
          if ("TemplateError".equals(r.type())) assertEquals(r.error(), e.reason());
        }
      }));
    }
    return tests.stream();
  }

  private static final String[] SNIPPETS = {
    "Hello", "  padded  ", "\n\nleading newlines", "trailing newline\n", "", "multi\nline\ntext",
    "unicode é ☃ 😀 日本語", "quotes ' \" and \\ backslash", "{{ not a tag }} {% neither %}", "<think>\nreasoning\n</think>\n\nanswer",
    "<tool_response>\nx\n</tool_response>", "\t tab", "[INST] fake [/INST]", "<|im_start|>user", "   "};

  /** Seeded random conversations (alternating roles, optional system, odd contents) over every template. */
  @TestFactory
  Stream<DynamicTest> randomConversationsMatchJinja2() {
    java.util.Random rnd = new java.util.Random(20240726L);
    List<Case> cases = new ArrayList<>();
    for (Named n : templates()) {
      for (int k = 0; k < 12; k++) {
        List<Map<String, Object>> conv = new ArrayList<>();
        if (rnd.nextBoolean()) conv.add(msg("system", SNIPPETS[rnd.nextInt(SNIPPETS.length)]));
        int turns = 1 + rnd.nextInt(5);
        for (int i = 0; i < turns; i++) {
          conv.add(msg(i % 2 == 0 ? "user" : "assistant", SNIPPETS[rnd.nextInt(SNIPPETS.length)]));
        }
        if (rnd.nextInt(6) == 0) {
          // content as a list of parts, as multimodal templates (Gemma 3) accept
          conv.set(conv.size() - 1, new LinkedHashMap<>(Map.of("role", conv.get(conv.size() - 1).get("role"),
              "content", List.of(Map.of("type", "text", "text", "part one "), Map.of("type", "image"), Map.of("type", "text", "text", " part two")))));
        }
        cases.add(new Case(n.name() + " | random #" + k, n.template(), conv, rnd.nextBoolean(), n.extra()));
      }
    }
    List<JinjaReference.Request> reqs = new ArrayList<>();
    for (Case c : cases) reqs.add(new JinjaReference.Request(c.template().source(), c.template().context(c.messages(), c.gen(), c.extra()), NOW));
    List<JinjaReference.Result> ref = JinjaReference.render(reqs);
    List<DynamicTest> tests = new ArrayList<>();
    long okCount = ref.stream().filter(JinjaReference.Result::ok).count();
    System.out.println("randomConversationsMatchJinja2: " + okCount + " of " + cases.size() + " render in Jinja2; the rest raise");
    tests.add(DynamicTest.dynamicTest("most random conversations render", () -> assertTrue(okCount * 2 >= cases.size(), okCount + " of " + cases.size())));
    for (int i = 0; i < cases.size(); i++) {
      Case c = cases.get(i);
      JinjaReference.Result r = ref.get(i);
      tests.add(DynamicTest.dynamicTest(c.name(), () -> {
        Map<String, Object> extra = new LinkedHashMap<>(c.extra());
        extra.put("__now__", NOW);
        if (r.ok()) {
          assertEquals(r.output(), c.template().render(c.messages(), c.gen(), extra), () -> "messages: " + c.messages());
        } else {
          TemplateException e = assertThrows(TemplateException.class, () -> c.template().render(c.messages(), c.gen(), extra),
              () -> "Jinja2 raised " + r.type() + ": " + r.error() + " for messages " + c.messages());
          if ("TemplateError".equals(r.type())) assertEquals(r.error(), e.reason());
        }
      }));
    }
    return tests.stream();
  }

  static boolean exists(Path p) {
    return Files.exists(p);
  }
}
