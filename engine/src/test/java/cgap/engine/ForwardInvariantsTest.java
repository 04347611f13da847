package cgap.engine;

import cgap.engine.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Properties of the forward pass on a real checkpoint that hold whatever the reference says. */
class ForwardInvariantsTest {
    static CpuBackend be;
    static Model model;
    static final int[] TOKENS = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};

    @BeforeAll
    static void load() {
        be = new CpuBackend(2);
        model = Model.load(Shared.path("models/stories260K"), be);
    }

    @AfterAll
    static void close() {
        model.close();
        be.close();
    }

    @Test
    void batchedPrefillEqualsTokenByToken() {
        float[] batched;
        try (Session s = model.newSession()) {
            Activations a = s.forward(TOKENS, Capture.of(Point.RESID_POST).onLayers(2));
            batched = model.unembed(a.finalResid(), TOKENS.length);
            float[] mid = a.get(Point.RESID_POST, 2);
            try (Session t = model.newSession()) {
                int v = model.vocabSize(), d = model.hiddenSize();
                for (int i = 0; i < TOKENS.length; i++) {
                    Activations b = t.forward(new int[]{TOKENS[i]}, Capture.of(Point.RESID_POST).onLayers(2));
                    float[] logits = model.unembed(b.finalResid(), 1);
                    // Every kernel computes a row the same way whatever the other rows: the same bits, not merely close.
                    assertArrayEquals(java.util.Arrays.copyOfRange(batched, i * v, (i + 1) * v), logits, "position " + i);
                    assertArrayEquals(java.util.Arrays.copyOfRange(mid, i * d, (i + 1) * d), b.get(Point.RESID_POST, 2), "position " + i);
                }
                assertEquals(TOKENS.length, t.position());
            }
        }
    }

    @Test
    void lastLayerLensIsTheModelsOwnDistribution() {
        int last = model.numLayers() - 1;
        try (Session s = model.newSession()) {
            Activations a = s.forward(TOKENS, Capture.lastRow(Point.RESID_POST));
            assertArrayEquals(a.finalResid(), a.get(Point.RESID_POST, last));
            assertArrayEquals(model.unembed(a.finalResid(), 1), model.unembed(a.get(Point.RESID_POST, last), 1));
            assertNotEquals(model.unembed(a.get(Point.RESID_POST, 0), 1)[5], model.unembed(a.get(Point.RESID_POST, last), 1)[5]);
        }
    }

    @Test
    void pointsComposeAsTheBlockDoes() {
        int d = model.hiddenSize();
        try (Session s = model.newSession()) {
            Activations a = s.forward(TOKENS, Capture.of(Point.values()));
            for (int l = 0; l < model.numLayers(); l++) {
                float[] pre = a.get(Point.RESID_PRE, l), ao = a.get(Point.ATTN_OUT, l), mid = a.get(Point.RESID_MID, l);
                float[] mo = a.get(Point.MLP_OUT, l), post = a.get(Point.RESID_POST, l);
                for (int i = 0; i < pre.length; i++) {
                    assertEquals(pre[i] + ao[i], mid[i], 1e-6f, "llama: resid_mid = resid_pre + attn_out");
                    assertEquals(mid[i] + mo[i], post[i], 1e-6f, "llama: resid_post = resid_mid + mlp_out");
                }
                if (l > 0) assertArrayEquals(a.get(Point.RESID_POST, l - 1), pre);
            }
            assertEquals(TOKENS.length * d, a.get(Point.MLP_IN, 0).length);
        }
    }

    @Test
    void selfSwapIsExactlyTheIdentity() {
        try (Model donor = Model.load(Shared.path("models/stories260K"), be);
             Session a = model.newSession(); Session b = model.newSession()) {
            float[] plain = a.forward(TOKENS, Capture.NONE).finalResid();
            float[] swapped = b.forward(TOKENS, Capture.NONE, MlpEdit.swap(donor, Set.of(1, 2, 3))).finalResid();
            assertArrayEquals(plain, swapped);
        }
    }

    @Test
    void greedyStoryFromBos() {
        try (Session s = model.newSession()) {
            int[] out = s.generate(new int[]{1}, 12, t -> t == 2, Capture.NONE, null, null);
            // "Once upon a time, there was a little girl named Lily." in stories260K's vocabulary.
            assertArrayEquals(new int[]{403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421}, out);
        }
    }
}
