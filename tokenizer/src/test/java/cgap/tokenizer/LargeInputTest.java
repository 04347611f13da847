package cgap.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Large and pathological inputs encode and round-trip (speed is measured by EncodeThroughput, not asserted).
 * A 1 MB text and 200 KB runs of one character encode and decode back to themselves. */
class LargeInputTest {
    @Test
    void oneMegabyte() {
        String text = EncodeThroughput.generate(1_000_000, 42);
        for (String rel : new String[] {"tokenizers/llama3_1", "models/tinyllama-v0", "tokenizers/gemma3"}) {
            Tokenizer tok = Tokenizer.load(TestPaths.sharedDir(rel));
            int[] ids = tok.encode(text, false);
            assertTrue(ids.length > 100_000, rel + ": " + ids.length + " tokens");
            String back = tok.decode(ids, false);
            assertEquals(text.getBytes(StandardCharsets.UTF_8).length, back.getBytes(StandardCharsets.UTF_8).length, rel);
            assertEquals(text, back, rel);
        }
    }

    /** Long runs of one character class: no regex stack overflow, no quadratic blow-up. */
    @Test
    void pathologicalRuns() {
        String[] runs = {" ", "\n", "a", "!", "7", "\u4e2d", "\ud83d\ude00", " \n", "\u2581", "<"};
        for (String rel : new String[] {"tokenizers/llama3_1", "tokenizers/qwen3", "tokenizers/smollm2", "models/tinyllama-v0", "tokenizers/gemma3"}) {
            Tokenizer tok = Tokenizer.load(TestPaths.sharedDir(rel));
            for (String r : runs) {
                String text = r.repeat(200_000 / r.length());
                    int[] ids = tok.encode(text, false);
                assertTrue(ids.length > 0);
                if (!r.equals("\u2581")) assertEquals(text, tok.decode(ids, false), rel + " run of " + r);
            }
        }
    }
}
