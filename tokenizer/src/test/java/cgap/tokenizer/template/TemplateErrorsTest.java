package cgap.tokenizer.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Errors name their place; raise_exception surfaces its message; configs are read as transformers reads them. */
class TemplateErrorsTest {
  static final List<String> SYNTAX_ERRORS = List.of(
      "line one\n{% if x %}\n  {{ 1 + }}\n{% endif %}",
      "a\nb\n{% for x in %}{% endfor %}",
      "{% if true %}\nno end",
      "x\n\n   {% endfor %}",
      "{{ 'unterminated }}",
      "ok\n{% set %}",
      "{{ a b }}",
      "one\ntwo {% nosuchtag %}",
      "{% for x in y %}\n{% else %}\n{% else %}\n{% endfor %}",
      "{{ (1, 2 }}",
      "{# never closed");

  @Test
  void syntaxErrorsNameTheSameLineAsJinja2AndAColumn() {
    List<JinjaReference.Request> reqs = new ArrayList<>();
    for (String t : SYNTAX_ERRORS) reqs.add(new JinjaReference.Request(t, Map.of(), null));
    List<JinjaReference.Result> ref = JinjaReference.render(reqs);
    for (int i = 0; i < SYNTAX_ERRORS.size(); i++) {
      String t = SYNTAX_ERRORS.get(i);
      JinjaReference.Result r = ref.get(i);
      assertFalse(r.ok(), "Jinja2 accepted " + t);
      TemplateException e = assertThrows(TemplateException.class, () -> ChatTemplate.of(t, Map.of()), t);
      assertTrue(e.line() > 0 && e.column() > 0, e.getMessage());
      assertTrue(e.getMessage().startsWith("template line " + e.line() + ", column " + e.column() + ": "), e.getMessage());
      if (r.lineno() > 0) assertEquals(r.lineno(), e.line(), () -> "line for " + t + ": " + e.getMessage() + " vs Jinja2 " + r.error());
    }
  }

  @Test
  void columnPointsAtTheOffendingToken() {
    TemplateException e = assertThrows(TemplateException.class, () -> ChatTemplate.of("ab\n  {{ 1 + }}", Map.of()));
    assertEquals(2, e.line());
    assertEquals(10, e.column(), e.getMessage());
  }

  @Test
  void raiseExceptionSurfacesItsMessage() {
    ChatTemplate gemma = ChatTemplate.fromTokenizerConfig(JinjaReference.sharedRoot().resolve("tokenizers/gemma3/tokenizer_config.json"));
    List<Map<String, Object>> bad = List.of(Map.of("role", "user", "content", "a"), Map.of("role", "user", "content", "b"));
    TemplateException e = assertThrows(TemplateException.class, () -> gemma.render(bad, true, Map.of()));
    assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.reason());
    assertTrue(e.getMessage().contains("Conversation roles must alternate"), e.getMessage());
    assertTrue(e.line() > 1, e.getMessage());

    TemplateException e2 = assertThrows(TemplateException.class,
        () -> ChatTemplate.of("x\n{{ raise_exception('boom ' ~ 3) }}", Map.of()).render(List.of(), false, null));
    assertEquals("boom 3", e2.reason());
    assertEquals(2, e2.line());
  }

  @Test
  void runtimeErrorsNameTheirLine() {
    TemplateException e = assertThrows(TemplateException.class,
        () -> ChatTemplate.of("ok\n{{ nope.attr }}", Map.of()).render(List.of(), false, null));
    assertEquals(2, e.line());
    assertTrue(e.getMessage().contains("'nope' is undefined"), e.getMessage());
    TemplateException e2 = assertThrows(TemplateException.class,
        () -> ChatTemplate.of("{{ messages[0].content + 1 }}", Map.of()).render(List.of(Map.of("role", "user", "content", "x")), false, null));
    assertTrue(e2.getMessage().contains("TypeError"), e2.getMessage());
  }

  @Test
  void missingChatTemplateNamesTheFile() {
    Path cfg = JinjaReference.sharedRoot().resolve("tokenizers/mistral_7b_v0_1/tokenizer_config.json");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.fromTokenizerConfig(cfg));
    assertTrue(e.getMessage().contains(cfg.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("no chat_template"), e.getMessage());
  }

  @Test
  void namedTemplateListPicksDefaultAndAddedTokensAreStrings(@TempDir Path dir) throws IOException {
    Path cfg = dir.resolve("tokenizer_config.json");
    Files.writeString(cfg, """
        {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
         "eos_token": "</s>", "unk_token": null, "pad_token": "",
         "chat_template": [{"name": "tool_use", "template": "TOOLS"},
                           {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}{{ unk_token is defined }}{{ pad_token is defined }}"}]}
        """);
    ChatTemplate t = ChatTemplate.fromTokenizerConfig(cfg);
    assertEquals("<s>hi</s>FalseFalse", t.render(List.of(Map.of("role", "user", "content", "hi")), false, null));

    Path noDefault = dir.resolve("other.json");
    Files.writeString(noDefault, "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"}]}");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.fromTokenizerConfig(noDefault));
    assertTrue(e.getMessage().contains(noDefault.toString()) && e.getMessage().contains("default"), e.getMessage());
  }

  @Test
  void strftimeNowUsesTodayUnlessFixed() {
    ChatTemplate t = ChatTemplate.of("{{ strftime_now('%Y-%m-%d') }}", Map.of());
    String before = LocalDate.now().toString();
    String got = t.render(List.of(), false, null);
    String after = LocalDate.now().toString();
    assertTrue(got.equals(before) || got.equals(after), got);
    assertEquals("2024-07-26", t.render(List.of(), false, Map.of("__now__", "2024-07-26")));
    assertEquals("26 Jul 2024 09:05", ChatTemplate.of("{{ strftime_now('%d %b %Y %H:%M') }}", Map.of())
        .withNow(LocalDateTime.of(2024, 7, 26, 9, 5)).render(List.of(), false, null));
    // __now__ is not a template variable
    assertEquals("False", ChatTemplate.of("{{ __now__ is defined }}", Map.of()).render(List.of(), false, Map.of("__now__", "2024-07-26")));
  }

  @Test
  void qwen3ThinkingSwitchChangesOnlyTheGenerationPrompt() {
    ChatTemplate q = ChatTemplate.fromTokenizerConfig(JinjaReference.sharedRoot().resolve("tokenizers/qwen3/tokenizer_config.json"));
    List<Map<String, Object>> one = List.of(Map.of("role", "user", "content", "Hi"));
    String on = q.render(one, true, Map.of());
    String off = q.render(one, true, Map.of("enable_thinking", false));
    assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", on);
    assertEquals(on + "<think>\n\n</think>\n\n", off);
  }
}
