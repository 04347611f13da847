package cgap.engine.lens;

import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Session;
import cgap.engine.Shared;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.lens.TunedLens.Parameterisation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A short tuned-lens training run on the real tinyllama-v0 checkpoint, on text the model writes itself (greedy
 * continuations of BOS + one random token): validation KL falls below the raw lens at every intermediate layer, and
 * the identity-initialised probe starts exactly at the raw lens.
 */
class TunedLensTinyLlamaTest {
    @TempDir
    Path tmp;

    static List<int[]> generated(Model m, long seed, int count, int len) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] prompt = {1, 300 + r.nextInt(5000)};
            try (Session s = m.newSession()) {
                int[] gen = s.generate(prompt, len - prompt.length, null, Capture.NONE, null, null);
                int[] seq = new int[len];
                System.arraycopy(prompt, 0, seq, 0, prompt.length);
                System.arraycopy(gen, 0, seq, prompt.length, gen.length);
                out.add(seq);
            }
        }
        return out;
    }

    @Test
    void trainingLowersValidationKlBelowTheRawLensAtEveryIntermediateLayer() {
        Path dir = Shared.path("models/tinyllama-v0");
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(dir, be)) {
            long t0 = System.nanoTime();
            List<int[]> train = generated(m, 1, 24, 64), val = generated(m, 2, 4, 64);
            long t1 = System.nanoTime();
            LensTrainer.Settings s = new LensTrainer.Settings(Parameterisation.AFFINE, 24, 256, 1.0, 0.0, 8, 8, 32, 2);
            LensTrainer t = new LensTrainer(m, s, train, val);
            List<LensTrainer.Eval> evals = new ArrayList<>();
            long[] tokens = {0};
            LensTrainer.Result r = t.train(tmp.resolve("lens"), new LensTrainer.Listener() {
                @Override
                public void eval(LensTrainer.Eval e) {
                    evals.add(e);
                }

                @Override
                public void step(LensTrainer.StepStats st) {
                    tokens[0] += st.tokens();
                }
            });
            long t2 = System.nanoTime();
            System.out.printf("tinyllama-v0 lens: generation %.1f s, training %.1f s (%d tokens, %.0f tokens/s incl. validation)%n",
                    (t1 - t0) / 1e9, (t2 - t1) / 1e9, tokens[0], tokens[0] / ((t2 - t1) / 1e9));
            double[] raw = r.rawKl();
            assertArrayEquals(raw, evals.getFirst().lensKl(), "step 0: the identity-initialised probe is the raw lens, exactly");
            double[] best = r.bestEval().lensKl();
            System.out.println("raw  " + java.util.Arrays.toString(raw));
            System.out.println("best " + java.util.Arrays.toString(best) + " at step " + r.bestStep());
            for (int l = 0; l < m.numLayers() - 1; l++) {
                assertTrue(best[l] < raw[l], "layer " + l + ": tuned " + best[l] + " vs raw " + raw[l]);
            }
            assertTrue(r.bestStep() > 0);
            t.close();
        }
    }
}
