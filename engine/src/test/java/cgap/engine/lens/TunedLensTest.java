package cgap.engine.lens;

import cgap.engine.Activations;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.ModelLoadException;
import cgap.engine.Point;
import cgap.engine.Session;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.lens.TunedLens.Parameterisation;
import cgap.engine.safetensors.SafeTensorFile;
import cgap.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Storage, refusal of another model, identity initialisation and resumable, deterministic training on tiny models. */
class TunedLensTest {
    @TempDir
    Path tmp;

    static List<int[]> randomSequences(long seed, int count, int len) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] t = TinyModels.randomTokens(seed + i, len);
            t[0] = 1;
            out.add(t);
        }
        return out;
    }

    @Test
    void saveLoadGivesIdenticalReadoutsAndAnotherModelIsRefused() throws Exception {
        Path a = TinyModels.write("llama", tmp.resolve("a"), 1, "F32");
        Path b = TinyModels.write("llama", tmp.resolve("b"), 2, "F32");
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(a, be); Model other = Model.load(b, be)) {
            for (Parameterisation p : Parameterisation.values()) {
                TunedLens lens = TunedLens.identity(m, p);
                Random r = new Random(4);
                for (int l = 0; l < m.numLayers(); l++) {
                    if (!lens.hasProbe(l)) continue;
                    for (int i = 0; i < lens.weight(l).length; i++) lens.weight(l)[i] += (float) (0.1 * r.nextGaussian());
                    for (int i = 0; i < lens.bias(l).length; i++) lens.bias(l)[i] += (float) (0.1 * r.nextGaussian());
                }
                Path dir = tmp.resolve("lens-" + p.id());
                lens.save(dir);
                assertTrue(Files.isRegularFile(dir.resolve("lens.json")));
                try (SafeTensorFile st = SafeTensorFile.open(dir.resolve("lens.safetensors"))) {
                    int probes = p == Parameterisation.AFFINE ? m.numLayers() : m.numLayers() - 1;
                    assertEquals(2 * probes, st.tensors().size());
                    assertTrue(st.tensors().containsKey("layers.0.weight"));
                    assertEquals(p == Parameterisation.AFFINE, st.tensors().containsKey("layers." + (m.numLayers() - 1) + ".bias"));
                }
                TunedLens back = TunedLens.load(dir, m);
                assertEquals(p, back.parameterisation());
                int rows = 5;
                Activations acts;
                try (Session s = m.newSession()) {
                    acts = s.forward(TinyModels.randomTokens(3, rows), Capture.of(Point.RESID_POST));
                }
                for (int l = 0; l < m.numLayers(); l++) {
                    float[] h = acts.get(Point.RESID_POST, l);
                    assertArrayEquals(lens.translate(l, h, rows), back.translate(l, h, rows));
                    assertArrayEquals(lens.readout(m, l, h, rows), back.readout(m, l, h, rows));
                }
                if (p == Parameterisation.RESIDUAL) {
                    int last = m.numLayers() - 1;
                    assertFalse(back.hasProbe(last));
                    assertArrayEquals(acts.get(Point.RESID_POST, last), back.translate(last, acts.get(Point.RESID_POST, last), rows));
                }
                ModelLoadException e = assertThrows(ModelLoadException.class, () -> TunedLens.load(dir, other));
                assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
                assertTrue(e.getMessage().contains(TunedLens.unembeddingHash(m)), e.getMessage());
                assertTrue(e.getMessage().contains(TunedLens.unembeddingHash(other)), e.getMessage());
                assertNotEquals(TunedLens.unembeddingHash(m), TunedLens.unembeddingHash(other));
            }
        }
    }

    @Test
    void identityLensReadsExactlyTheRawLens() throws Exception {
        Path a = TinyModels.write("gemma3", tmp.resolve("g"), 1, "BF16");
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(a, be)) {
            for (Parameterisation p : Parameterisation.values()) {
                TunedLens lens = TunedLens.identity(m, p);
                int rows = 6;
                Activations acts;
                try (Session s = m.newSession()) {
                    acts = s.forward(TinyModels.randomTokens(8, rows), Capture.of(Point.RESID_POST));
                }
                for (int l = 0; l < m.numLayers(); l++) {
                    float[] h = acts.get(Point.RESID_POST, l);
                    assertArrayEquals(m.unembed(h, rows), lens.readout(m, l, h, rows));
                }
            }
            LensTrainer t = new LensTrainer(m, settings(Parameterisation.AFFINE, 4, 40, 2, 1), randomSequences(100, 4, 20), randomSequences(200, 2, 17));
            double[] raw = t.rawLensKl();
            assertArrayEquals(raw, t.evaluate(TunedLens.identity(m, Parameterisation.AFFINE), 0).lensKl(), "step-0 KL of the identity probe is the raw lens's");
            assertArrayEquals(raw, t.evaluate(TunedLens.identity(m, Parameterisation.RESIDUAL), 0).lensKl());
            assertEquals(0.0, raw[m.numLayers() - 1], 1e-6, "the raw lens of the last block is the model's own distribution");
            t.close();
        }
    }

    static LensTrainer.Settings settings(Parameterisation p, int steps, long tokens, int evalEvery, int ckptEvery) {
        return new LensTrainer.Settings(p, steps, tokens, 1.0, 1e-3, evalEvery, ckptEvery, 8, 2);
    }

    @Test
    void resumedTrainingIsBitIdenticalToUninterrupted() throws Exception {
        Path a = TinyModels.write("qwen3", tmp.resolve("q"), 3, "F32");
        List<int[]> train = randomSequences(300, 9, 23), val = randomSequences(400, 3, 19);
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(a, be)) {
            for (Parameterisation p : Parameterisation.values()) {
                LensTrainer.Settings s = settings(p, 10, 60, 3, 2);
                Path whole = tmp.resolve("whole-" + p.id()), parts = tmp.resolve("parts-" + p.id());
                LensTrainer t1 = new LensTrainer(m, s, train, val);
                List<Double> evals = new ArrayList<>();
                LensTrainer.Result r1 = t1.train(whole, new LensTrainer.Listener() {
                    @Override
                    public void eval(LensTrainer.Eval e) {
                        evals.add(e.total());
                    }
                });
                assertTrue(r1.finished());
                assertEquals(List.of(0, 3, 6, 9, 10).size(), evals.size(), "evaluations at 0, every 3 steps and the end");
                // Interrupted after step 5 (the checkpoint of step 4 plus the one written at the stop), then resumed
                // by a fresh trainer, as a killed process restarted with the same command would be.
                LensTrainer.Result half = new LensTrainer(m, s, train, val).train(parts, null, 5);
                assertFalse(half.finished());
                assertEquals(5, half.stepsDone());
                int[] resumedAt = {-1};
                LensTrainer.Result r2 = new LensTrainer(m, s, train, val).train(parts, new LensTrainer.Listener() {
                    @Override
                    public void resumed(int step) {
                        resumedAt[0] = step;
                    }
                }, s.steps());
                assertEquals(5, resumedAt[0]);
                assertTrue(r2.finished());
                assertEquals(r1.bestStep(), r2.bestStep());
                assertArrayEquals(r1.bestEval().lensKl(), r2.bestEval().lensKl());
                for (int l = 0; l < m.numLayers(); l++) {
                    if (!r1.best().hasProbe(l)) continue;
                    assertArrayEquals(r1.best().weight(l), r2.best().weight(l), "layer " + l);
                    assertArrayEquals(r1.best().bias(l), r2.best().bias(l), "layer " + l);
                }
                assertArrayEquals(Files.readAllBytes(whole.resolve(LensTrainer.CHECKPOINT)), Files.readAllBytes(parts.resolve(LensTrainer.CHECKPOINT)),
                        "final checkpoints (parameters, momentum, state) are identical");
                TunedLens saved = TunedLens.load(whole, m);
                assertArrayEquals(r1.best().weight(0), saved.weight(0), "the best lens is what lies in the folder");
                // the same folder with other settings is refused
                LensTrainer.Settings other = new LensTrainer.Settings(p, 10, 60, 0.5, 1e-3, 3, 2, 8, 2);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LensTrainer(m, other, train, val).train(parts, null));
                assertTrue(e.getMessage().contains("settings"), e.getMessage());
                IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> new LensTrainer(m, s, val, train).train(parts, null));
                assertTrue(e2.getMessage().contains("token data"), e2.getMessage());
            }
        }
    }

    @Test
    void threadCountDoesNotChangeTheResult() throws Exception {
        Path a = TinyModels.write("llama", tmp.resolve("l"), 5, "BF16");
        List<int[]> train = randomSequences(500, 6, 30), val = randomSequences(600, 2, 12);
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(a, be)) {
            LensTrainer.Settings one = new LensTrainer.Settings(Parameterisation.AFFINE, 4, 60, 1, 0, 2, 2, 7, 1);
            LensTrainer.Settings two = new LensTrainer.Settings(Parameterisation.AFFINE, 4, 60, 1, 0, 2, 2, 7, 2);
            TunedLens x = new LensTrainer(m, one, train, val).train(tmp.resolve("one"), null).best();
            TunedLens y = new LensTrainer(m, two, train, val).train(tmp.resolve("two"), null).best();
            for (int l = 0; l < m.numLayers(); l++) assertArrayEquals(x.weight(l), y.weight(l));
        }
    }
}
