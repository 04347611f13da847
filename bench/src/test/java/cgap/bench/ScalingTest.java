package cgap.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./bench/scaling} end to end at a tiny shape (2 layers, d 64; four worker JVMs, a few seconds): every
 * configuration measured in its own process, the CSV, both figures (PNG + SVG) and the table written. Speed is never
 * asserted, only that every time and peak RSS is a positive number. Needs nothing outside the repository, so it runs
 * (and must pass) everywhere, CI included.
 */
class ScalingTest {
    @Test
    void tinyModelSweepsPromptAndVocabulary(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out"), md = tmp.resolve("scaling.md");
        String[] args = {"--layers", "2", "--hidden", "64", "--heads", "4", "--kv-heads", "2", "--intermediate", "128", "--vocab", "512",
                "--prompts", "8,16", "--vocabs", "256,512", "--vocab-prompt", "8", "--steps", "3", "--warmup", "1",
                "--cache", tmp.resolve("cache").toString(), "--out-dir", out.toString(), "--md", md.toString()};
        Scaling.Result r = Scaling.run(args, new PrintStream(System.err, true));

        assertEquals(List.of("prompt/8/512", "prompt/16/512", "vocab/8/256", "vocab/8/512"),
                r.points().stream().map(p -> p.sweep() + "/" + p.prompt() + "/" + p.vocab()).toList());
        for (Scaling.Row p : r.points()) {
            assertTrue(p.prefillMs() > 0 && p.stepMs() > 0 && p.forwardMs() > 0 && p.lensMs() > 0, p.toString());
            assertTrue(p.stepMinMs() <= p.stepMs() && p.stepMs() <= p.stepMaxMs(), p.toString());
            assertTrue(p.peakRssKb() > 0 && p.weightBytes() > 0, p.toString());
        }
        List<String> csv = Files.readAllLines(out.resolve("scaling.csv"));
        assertEquals(5, csv.size());
        assertTrue(csv.get(0).startsWith("sweep,prompt,vocab,"), csv.get(0));
        for (String f : List.of("scaling_prompt_length.png", "scaling_prompt_length.svg", "scaling_vocab.png", "scaling_vocab.svg")) {
            assertTrue(Files.size(out.resolve(f)) > 1000, f);
        }
        assertEquals(r.markdown(), Files.readString(md));
        assertTrue(r.markdown().contains("| prompt | 16 | 512 |") && r.markdown().contains("Command: `./bench/scaling "), r.markdown());
    }
}
