package cgap.diagnostics.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptSetsTest {
    @TempDir
    Path dir;

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void paperFormat() throws IOException {
        Path f = write("p.jsonl", """
                {"id": "a1", "question": "Why is the sky blue?", "formats": {"A": "x", "B": "Question: Why is the sky blue?\\nAnswer:"}, "split": "F", "meta": {"k": [1, 2]}}

                {"id": "a2", "formats": {"B": "Write a poem."}, "split": "A"}
                """);
        List<Prompt> ps = PromptSets.load(f);
        assertEquals(2, ps.size());
        Prompt a = ps.get(0);
        assertEquals("a1", a.id());
        assertEquals("Question: Why is the sky blue?\nAnswer:", a.text());
        assertEquals(a.text(), a.rawText());
        assertEquals(a.text(), a.userMessage());
        assertEquals("Why is the sky blue?", a.question());
        assertEquals("Why is the sky blue?", a.userMessage(Prompt.UserMessage.QUESTION));
        assertEquals("F", a.fieldString("split"));
        assertEquals("2", a.fieldString("meta.k.1"));
        assertEquals("x", a.field("formats.A").orElseThrow());
        assertTrue(a.field("meta.k.7").isEmpty());
        assertNull(a.fieldString("nope"));
        // no question field and no Question/Answer form: the question is the text itself
        assertEquals("Write a poem.", ps.get(1).question());
        assertThrows(UnsupportedOperationException.class, () -> a.fields().put("x", 1));
    }

    @Test
    void questionDerivedFromQuestionAnswerForm() {
        assertEquals("What is 2+2?", Prompt.deriveQuestion("Question: What is 2+2?\nAnswer:"));
        assertEquals("two\nlines", Prompt.deriveQuestion("Question: two\nlines\nAnswer:"));
        assertEquals("Tell me.", Prompt.deriveQuestion("Tell me."));
        Prompt p = Prompt.of("x", "Question: Hi?\nAnswer:");
        assertEquals("Hi?", p.question());
        assertEquals("Question: Hi?\nAnswer:", p.userMessage());
    }

    @Test
    void plainJsonlAndTextFiles() throws IOException {
        List<Prompt> plain = PromptSets.load(write("plain.jsonl", """
                {"id": "one", "prompt": "Once upon a time"}
                {"prompt": "The dog"}
                {"id": 7, "prompt": "Numbers as ids"}
                """));
        assertEquals(List.of("one", "line-2", "7"), plain.stream().map(Prompt::id).toList());
        assertEquals("Once upon a time", plain.get(0).text());
        assertEquals("Once upon a time", plain.get(0).question());

        List<Prompt> text = PromptSets.load(write("prompts.txt", "\uFEFFFirst prompt\r\n\nSecond {\"not\": json}\r\n"));
        assertEquals(2, text.size());
        assertEquals("line-1", text.get(0).id());
        assertEquals("First prompt", text.get(0).text());
        assertEquals("line-3", text.get(1).id());
        assertEquals("Second {\"not\": json}", text.get(1).text());
        assertEquals(Map.of("id", "line-3", "prompt", "Second {\"not\": json}"), text.get(1).fields());
        assertEquals(PromptSets.Format.TEXT, PromptSets.formatOf(Path.of("a.txt")));
        assertEquals(PromptSets.Format.JSONL, PromptSets.formatOf(Path.of("a.JSONL")));
    }

    private PromptSetException error(String content) throws IOException {
        Path f = write("bad.jsonl", content);
        return assertThrows(PromptSetException.class, () -> PromptSets.load(f));
    }

    @Test
    void errorsNameFileLineAndField() throws IOException {
        PromptSetException e = error("""
                {"id": "a", "formats": {"B": "ok"}}
                {"id": "b", "formats": {"A": "only A"}}
                """);
        assertEquals(2, e.line());
        assertEquals("formats.B", e.field());
        assertTrue(e.source().endsWith("bad.jsonl"));
        assertTrue(e.getMessage().endsWith("bad.jsonl:2: field 'formats.B': missing"), e.getMessage());

        e = error("{\"id\": \"a\", \"formats\": {\"B\": 3}}\n");
        assertEquals("formats.B", e.field());
        assertTrue(e.getMessage().contains("expected a string"), e.getMessage());

        e = error("{\"formats\": {\"B\": \"x\"}}\n");
        assertEquals("id", e.field());
        assertEquals(1, e.line());

        e = error("{\"id\": \"a\", \"formats\": {\"B\": \"x\"}}\n{\"id\": \"a\", \"formats\": {\"B\": \"y\"}}\n");
        assertEquals("id", e.field());
        assertEquals(2, e.line());
        assertTrue(e.getMessage().contains("first on line 1"), e.getMessage());

        e = error("{\"id\": \"a\", \"formats\": {\"B\": \"x\"}}\n\n{\"id\": \"b\", \"formats\": {\"B\": \"x\"\n");
        assertEquals(3, e.line());
        assertNull(e.field());
        assertTrue(e.getMessage().contains("invalid JSON"), e.getMessage());

        e = error("[1, 2]\n");
        assertTrue(e.getMessage().contains("JSON object"));

        e = error("{\"id\": \"a\", \"text\": \"neither\"}\n");
        assertEquals("formats.B", e.field());

        e = error("{\"id\": \"a\", \"formats\": {\"B\": \"\"}}\n");
        assertTrue(e.getMessage().contains("empty"));

        e = error("{\"id\": \"a\", \"question\": 5, \"formats\": {\"B\": \"q\"}}\n");
        assertEquals("question", e.field());

        e = error("{\"id\": \"a\", \"formats\": \"B\"}\n");
        assertEquals("formats", e.field());

        e = error("{\"id\": {\"x\": 1}, \"prompt\": \"p\"}\n");
        assertEquals("id", e.field());
        // it is an IllegalArgumentException, which the CLI reports as a user error
        assertTrue(e instanceof IllegalArgumentException);
    }

    private static final String TEN = """
            {"id": "p0", "formats": {"B": "t0"}, "split": "A", "m": {"kind": "x"}}
            {"id": "p1", "formats": {"B": "t1"}, "split": "B", "m": {"kind": "y"}}
            {"id": "p2", "formats": {"B": "t2"}, "split": "A", "m": {"kind": "y"}}
            {"id": "p3", "formats": {"B": "t3"}, "split": "B", "m": {"kind": "x"}}
            {"id": "p4", "formats": {"B": "t4"}, "split": "A", "m": {"kind": "y"}, "n": 4}
            {"id": "p5", "formats": {"B": "t5"}, "split": "B", "m": {"kind": "x"}, "flag": true}
            {"id": "p6", "formats": {"B": "t6"}, "split": "A", "m": {"kind": "y"}}
            {"id": "p7", "formats": {"B": "t7"}, "split": "B", "m": {"kind": "x"}}
            {"id": "p8", "formats": {"B": "t8"}, "split": "A", "m": {"kind": "y"}}
            {"id": "p9", "formats": {"B": "t9"}, "split": "B", "m": {"kind": "x"}}
            """;

    private static List<String> ids(List<Prompt> ps) {
        return ps.stream().map(Prompt::id).toList();
    }

    @Test
    void whereSampleLimit() throws IOException {
        Path f = write("ten.jsonl", TEN);
        assertEquals(List.of("p0", "p2", "p4", "p6", "p8"), ids(PromptSets.load(f, PromptQuery.all().where("split=A"))));
        assertEquals(List.of("p2", "p4", "p6", "p8"), ids(PromptSets.load(f,
                PromptQuery.all().where("split=A").where("m.kind=y"))));
        assertEquals(List.of("p0", "p2", "p4", "p6", "p8"), ids(PromptSets.load(f, PromptQuery.all().where("split!=B"))));
        assertEquals(List.of("p4"), ids(PromptSets.load(f, PromptQuery.all().where("n=4"))));
        assertEquals(List.of("p5"), ids(PromptSets.load(f, PromptQuery.all().where("flag=true"))));
        assertEquals(List.of("p0", "p1", "p2"), ids(PromptSets.load(f, PromptQuery.all().limit(3))));
        assertEquals(10, PromptSets.load(f, PromptQuery.all().limit(30)).size());

        List<Prompt> s1 = PromptSets.load(f, PromptQuery.all().sample(4, 42L));
        List<Prompt> s2 = PromptSets.load(f, PromptQuery.all().sample(4, 42L));
        assertEquals(4, s1.size());
        assertEquals(ids(s1), ids(s2)); // seeded → reproducible
        List<String> sorted = ids(s1).stream().sorted().toList();
        assertEquals(sorted, ids(s1)); // kept in file order
        boolean someOtherSeedDiffers = false;
        for (long seed = 0; seed < 20; seed++) {
            someOtherSeedDiffers |= !ids(PromptSets.load(f, PromptQuery.all().sample(4, seed))).equals(ids(s1));
        }
        assertTrue(someOtherSeedDiffers);
        // the documented algorithm: partial Fisher–Yates with SplittableRandom(seed)
        java.util.SplittableRandom rng = new java.util.SplittableRandom(42L);
        int[] idx = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        for (int i = 0; i < 4; i++) {
            int j = i + rng.nextInt(10 - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        List<String> expected = java.util.Arrays.stream(idx, 0, 4).sorted().mapToObj(i -> "p" + i).toList();
        assertEquals(expected, ids(s1));

        // order: where, then sample, then limit
        List<Prompt> all = PromptSets.load(f, PromptQuery.all().where("split=B").sample(3, 5L).limit(2));
        assertEquals(2, all.size());
        assertTrue(all.stream().allMatch(p -> p.fieldString("split").equals("B")));
        List<Prompt> sampledB = PromptSets.load(f, PromptQuery.all().where("split=B").sample(3, 5L));
        assertEquals(ids(sampledB).subList(0, 2), ids(all));
        assertEquals(10, PromptSets.load(f, PromptQuery.all().sample(50, 1L)).size());
        assertEquals(0, PromptSets.load(f, PromptQuery.all().sample(0, 1L)).size());
    }

    @Test
    void filterErrors() throws IOException {
        Path f = write("ten.jsonl", TEN);
        PromptSetException e = assertThrows(PromptSetException.class,
                () -> PromptSets.load(f, PromptQuery.all().where("splt=A")));
        assertEquals("splt", e.field());
        assertThrows(IllegalArgumentException.class, () -> PromptFilter.parse("novalue"));
        assertThrows(IllegalArgumentException.class, () -> PromptFilter.parse("=x"));
        assertThrows(IllegalArgumentException.class, () -> PromptFilter.parse("!=x"));
        PromptFilter eqInValue = PromptFilter.parse("a.b=c=d");
        assertEquals("a.b", eqInValue.field());
        assertEquals("c=d", eqInValue.value());
        assertFalse(eqInValue.negated());
        assertTrue(PromptFilter.parse("x!=y").negated());
        assertEquals("x!=y", PromptFilter.parse("x!=y").toString());
        assertThrows(IllegalArgumentException.class, () -> PromptQuery.all().limit(-1));
        assertThrows(IllegalArgumentException.class, () -> PromptQuery.all().sample(-2, 0));
    }

    @Test
    void defaultPromptSet() {
        List<Prompt> ps = PromptSets.loadDefault();
        assertEquals(16, ps.size());
        for (Prompt p : ps) {
            assertTrue(p.id().startsWith("default_"));
            assertEquals("Question: " + p.question() + "\nAnswer:", p.text());
            assertEquals(p.fieldString("question"), p.question());
            assertTrue(p.question().length() < 80, p.question());
        }
        assertEquals(16, ps.stream().map(Prompt::question).distinct().count());
    }

    @Test
    void parseFromReader() throws IOException {
        List<Prompt> ps = PromptSets.parse(new StringReader("a\nb\n"), "inline", PromptSets.Format.TEXT);
        assertEquals(List.of("line-1", "line-2"), ids(ps));
        PromptSetException e = assertThrows(PromptSetException.class,
                () -> PromptSets.parse(new StringReader("{}\n"), "inline", PromptSets.Format.JSONL));
        assertEquals("inline", e.source());
        assertNotEquals(0, e.line());
    }
}
