package cgap.engine;

import cgap.engine.cpu.CpuBackend;
import cgap.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Batched greedy generation (several prompts, one pass per step) gives every sequence the same tokens, logits and
 * activations, bit for bit, as generating it alone; and teacher forcing a generated sequence in one pass reproduces
 * the activations of its decoding steps bit for bit.
 */
class BatchedGenerationTest {
    @TempDir
    Path tmp;

    record Step(float[] logits, float[] resid, int chosen) {
    }

    static int[][] prompts(int vocab) {
        int[][] p = {TinyModels.randomTokens(1, 9), TinyModels.randomTokens(2, 3), TinyModels.randomTokens(3, 17),
                TinyModels.randomTokens(4, 1), TinyModels.randomTokens(5, 6)};
        for (int[] q : p) for (int i = 0; i < q.length; i++) q[i] = Math.floorMod(q[i], vocab);
        return p;
    }

    /** Stops on the token that sequence 1 makes at its fourth step, so sequences leave the batch at different steps. */
    static void check(Model model, int[][] prompts, int maxNew, int layer) {
        int stopToken;
        try (Session s = model.newSession()) {
            stopToken = s.generate(prompts[1], 4, null, Capture.NONE, null, null)[3];
        }
        IntPredicate stop = t -> t == stopToken;
        int b = prompts.length;
        Capture cap = Capture.lastRow(Point.RESID_POST, Point.MLP_OUT).onLayers(layer);
        // Alone.
        List<List<Step>> alone = new ArrayList<>();
        int[][] aloneTokens = new int[b][];
        for (int i = 0; i < b; i++) {
            List<Step> steps = new ArrayList<>();
            try (Session s = model.newSession()) {
                aloneTokens[i] = s.generate(prompts[i], maxNew, stop, cap, null,
                        (index, acts, logits, chosen) -> steps.add(new Step(logits.clone(), acts.get(Point.RESID_POST, layer), chosen)));
            }
            alone.add(steps);
        }
        // Together.
        Map<Integer, List<Step>> together = new HashMap<>();
        Session[] ss = new Session[b];
        for (int i = 0; i < b; i++) ss[i] = model.newSession();
        int[][] tokens;
        try {
            tokens = Session.generate(ss, prompts, maxNew, stop, cap, null, Session.Decoder.FINAL,
                    (seq, index, acts, logits, chosen) -> {
                        List<Step> l = together.computeIfAbsent(seq, k -> new ArrayList<>());
                        assertEquals(l.size(), index);
                        l.add(new Step(logits.clone(), acts.get(Point.RESID_POST, layer), chosen));
                    });
        } finally {
            for (Session s : ss) s.close();
        }
        boolean someStoppedEarly = false;
        for (int i = 0; i < b; i++) {
            assertArrayEquals(aloneTokens[i], tokens[i], "sequence " + i);
            someStoppedEarly |= tokens[i].length < maxNew;
            List<Step> x = alone.get(i), y = together.get(i);
            assertEquals(x.size(), y.size());
            for (int t = 0; t < x.size(); t++) {
                assertArrayEquals(x.get(t).logits(), y.get(t).logits(), "sequence " + i + " step " + t);
                assertArrayEquals(x.get(t).resid(), y.get(t).resid(), "sequence " + i + " step " + t);
            }
        }
        assertTrue(someStoppedEarly, "the stop predicate should end some sequence early");
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "qwen3", "gemma3", "olmo2"})
    void batchedEqualsAloneOnTinyFamilies(String family) throws Exception {
        Path dir = TinyModels.write(family, tmp.resolve(family), 42, "F32");
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(dir, be)) {
            check(m, prompts(m.vocabSize()), 20, 1);
        }
    }

    @Test
    void batchedEqualsAloneOnRealWeights() {
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(Shared.path("models/tinyllama-v0"), be)) {
            int[][] p = {{1, 9038, 2501, 263, 931}, {1, 450}, {1, 3118, 3786, 29892, 727, 471, 263}};
            check(m, p, 24, 3);
        }
    }

    @Test
    void teacherForcingReproducesDecodingSteps() {
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(Shared.path("models/tinyllama-v0"), be)) {
            int[] prompt = {1, 9038, 2501, 263, 931};
            int layer = 5, d = m.hiddenSize();
            List<float[]> steps = new ArrayList<>();
            int[] gen;
            try (Session s = m.newSession()) {
                gen = s.generate(prompt, 16, null, Capture.lastRow(Point.RESID_POST).onLayers(layer), null,
                        (index, acts, logits, chosen) -> steps.add(acts.get(Point.RESID_POST, layer)));
            }
            int[] forced = new int[prompt.length + gen.length - 1];
            System.arraycopy(prompt, 0, forced, 0, prompt.length);
            System.arraycopy(gen, 0, forced, prompt.length, gen.length - 1);
            try (Session s = m.newSession()) {
                float[] all = s.forward(forced, Capture.of(Point.RESID_POST).onLayers(layer)).get(Point.RESID_POST, layer);
                for (int t = 0; t < gen.length; t++) {
                    int row = prompt.length - 1 + t;
                    assertArrayEquals(steps.get(t), java.util.Arrays.copyOfRange(all, row * d, (row + 1) * d), "step " + t);
                }
            }
        }
    }

    @Test
    void badBatchesAreRefused() {
        try (CpuBackend be = new CpuBackend(1); Model m = Model.load(Shared.path("models/stories260K"), be);
             Session a = m.newSession()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Session.forward(new Session[]{a, a}, new int[][]{{1}, {1}}, Capture.NONE, null));
            assertTrue(e.getMessage().contains("twice"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Session.forward(new Session[]{a}, new int[][]{{}}, Capture.NONE, null));
            assertTrue(e.getMessage().contains("at least one token"), e.getMessage());
        }
    }
}
