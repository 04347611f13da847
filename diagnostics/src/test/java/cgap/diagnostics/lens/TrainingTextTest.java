package cgap.diagnostics.lens;

import cgap.diagnostics.run.Prompting;
import cgap.engine.Shared;
import cgap.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/** Documents from text and JSONL, tokenization raw and chat-wrapped, packing, shuffling and the split. */
class TrainingTextTest {
    @TempDir
    Path tmp;

    @Test
    void documentsFromParagraphsLinesAndJsonl() throws Exception {
        Path para = Files.writeString(tmp.resolve("a.txt"), "One story\nstill one.\n\n  \nTwo.\n\nThree\n");
        assertEquals(List.of("One story\nstill one.", "Two.", "Three"), TrainingText.documents(para, null));
        Path lines = Files.writeString(tmp.resolve("b.txt"), "first\nsecond\n\nx".replace("\n\nx", "\nthird\n"));
        assertEquals(List.of("first", "second", "third"), TrainingText.documents(lines, null));
        Path jl = Files.writeString(tmp.resolve("c.jsonl"), "{\"text\": \"alpha\", \"formats\": {\"B\": \"Q: a\"}}\n\n{\"text\": \"beta\", \"formats\": {\"B\": \"Q: b\"}}\n");
        assertEquals(List.of("alpha", "beta"), TrainingText.documents(jl, null));
        assertEquals(List.of("Q: a", "Q: b"), TrainingText.documents(jl, "formats.B"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainingText.documents(jl, "question"));
        assertTrue(e.getMessage().contains("c.jsonl line 1") && e.getMessage().contains("'question'"), e.getMessage());
        Path empty = Files.writeString(tmp.resolve("d.txt"), "\n \n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainingText.documents(empty, null)).getMessage().contains("no text"));
    }

    @Test
    void rawAndChatTokenization() {
        Path pt = Shared.path("models/tinyllama-v0"), it = Shared.path("models/tinyllama-v0-chat");
        Tokenizer tok = Tokenizer.load(pt);
        int[] raw = TrainingText.encoder(pt, false).apply("Once upon a time");
        assertArrayEquals(tok.encode("Once upon a time", true), raw);
        assertEquals(1, raw[0], "BOS first");
        int[] chat = TrainingText.encoder(it, true).apply("Once upon a time");
        Prompting p = Prompting.load(it, Prompting.Format.CHAT, "tokenizer_config", Map.of(), List.of(), List.of());
        assertEquals("<s>[INST] Once upon a time [/INST]", p.render("Once upon a time"));
        assertArrayEquals(p.encode("Once upon a time"), chat);
        assertEquals(1, chat[0]);
        assertEquals(1, java.util.Arrays.stream(chat).filter(x -> x == 1).count(), "BOS once, not added twice");
        assertThrows(IllegalArgumentException.class, () -> TrainingText.encoder(pt, true), "tinyllama-v0 has no chat template");
    }

    @Test
    void packingShufflingAndSplit() {
        // document i is i+2 copies of the token i (so documents can be recognised in the sequences)
        List<String> docs = new java.util.ArrayList<>();
        for (int i = 0; i < 30; i++) docs.add(Integer.toString(i));
        Function<String, int[]> enc = s -> {
            int i = Integer.parseInt(s);
            int[] t = new int[i + 2];
            java.util.Arrays.fill(t, i);
            return t;
        };
        TrainingText.Corpus c = TrainingText.build(docs, enc, 40, 0.2, 7);
        long total = 0;
        int[] seen = new int[30];
        for (List<int[]> part : List.of(c.train(), c.validation())) {
            for (int[] seq : part) {
                assertTrue(seq.length <= 40 && seq.length >= 2, "length " + seq.length);
                total += seq.length;
                for (int t : seq) seen[t]++;
            }
        }
        assertEquals(30 * 31 / 2 + 30, total, "every token kept once");
        for (int i = 0; i < 30; i++) assertEquals(i + 2, seen[i]);
        assertEquals(c.trainTokens() + c.validationTokens(), total);
        int n = c.train().size() + c.validation().size();
        assertEquals(Math.max(1, Math.round(n * 0.2)), c.validation().size());
        TrainingText.Corpus again = TrainingText.build(docs, enc, 40, 0.2, 7), other = TrainingText.build(docs, enc, 40, 0.2, 8);
        assertArrayEquals(c.train().getFirst(), again.train().getFirst(), "the seed fixes the order");
        boolean differs = false;
        for (int i = 0; i < Math.min(c.train().size(), other.train().size()); i++) differs |= !java.util.Arrays.equals(c.train().get(i), other.train().get(i));
        assertTrue(differs || c.train().size() != other.train().size(), "another seed, another order");
        // a document longer than the sequence length is cut into pieces; a 1-token rest is dropped
        TrainingText.Corpus cut = TrainingText.build(List.of("43", "59"), enc, 20, 0.3, 1);
        List<Integer> lengths = new java.util.ArrayList<>();
        for (List<int[]> part : List.of(cut.train(), cut.validation())) for (int[] seq : part) lengths.add(seq.length);
        java.util.Collections.sort(lengths);
        assertEquals(List.of(5, 20, 20, 20, 20, 20), lengths);
    }
}
