package cgap.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A 1 MB text encodes in reasonable time (a generous bound: machines are shared) and round-trips. */
class ThroughputTest {
    @Test
    void oneMegabyte() {
        String text = EncodeThroughput.generate(1_000_000, 42);
        for (String rel : new String[] {"tokenizers/llama3_1", "models/tinyllama-v0", "tokenizers/gemma3"}) {
            Tokenizer tok = Tokenizer.load(TestPaths.sharedDir(rel));
            long t0 = System.nanoTime();
            int[] ids = tok.encode(text, false);
            double s = (System.nanoTime() - t0) / 1e9;
            assertTrue(s < 30, rel + ": 1 MB took " + s + " s");
            assertTrue(ids.length > 100_000, rel + ": " + ids.length + " tokens");
            String back = tok.decode(ids, false);
            assertEquals(text.getBytes(StandardCharsets.UTF_8).length, back.getBytes(StandardCharsets.UTF_8).length, rel);
            assertEquals(text, back, rel);
        }
    }
}
