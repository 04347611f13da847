package cgap.diagnostics.lens;

import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Session;
import cgap.engine.cpu.CpuBackend;
import cgap.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Test text written by a model itself: greedy continuations of BOS + one random token, decoded, one paragraph each. */
public final class GeneratedStories {
    private GeneratedStories() {
    }

    public static List<String> generate(Path modelDir, long seed, int count, int tokens) {
        Tokenizer tok = Tokenizer.load(modelDir);
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(modelDir, be)) {
            for (int i = 0; i < count; i++) {
                int[] prompt = {1, 300 + r.nextInt(5000)};
                try (Session s = m.newSession()) {
                    int[] gen = s.generate(prompt, tokens, t -> t == 2, Capture.NONE, null, null);
                    int[] all = new int[gen.length + 1];
                    all[0] = prompt[1];
                    System.arraycopy(gen, 0, all, 1, gen.length);
                    String text = tok.decode(all, true).strip().replaceAll("\\n\\s*\\n", "\n");
                    if (!text.isEmpty()) out.add(text);
                }
            }
        }
        return out;
    }

    /** Writes the stories as paragraphs separated by blank lines. */
    public static Path write(Path file, List<String> stories) throws IOException {
        Files.writeString(file, String.join("\n\n", stories) + "\n");
        return file;
    }
}
