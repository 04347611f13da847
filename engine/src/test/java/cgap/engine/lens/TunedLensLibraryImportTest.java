package cgap.engine.lens;

import cgap.engine.Model;
import cgap.engine.ModelLoadException;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Import of the tuned-lens library's format. The fixture in src/test/resources/lens/tuned-lens-library was written by
 * tools/lens/make_tuned_lens_library_fixture.py (64 3), which builds params.pt as torch.save does (pickle protocol 2,
 * _rebuild_tensor_v2 over persistent storage ids, zip archive) with known values; translator 1 is stored with
 * strides (1, d).
 */
class TunedLensLibraryImportTest {
    @TempDir
    Path tmp;

    static Path fixture() throws Exception {
        return Path.of(TunedLensLibraryImportTest.class.getResource("/lens/tuned-lens-library/config.json").toURI()).getParent();
    }

    static float weight(int i, int r, int c) {
        return (float) ((i + 1) * 0.001 * (r - c) + (r == c ? 0.01 : 0.0));
    }

    @Test
    void importsTranslatorsOfTheBlocksAndDropsTheEmbeddingOne() throws Exception {
        Path a = TinyModels.write("llama", tmp.resolve("m"), 1, "F32");
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(a, be)) {
            TunedLens lens = TunedLensLibraryImport.load(fixture(), m);
            int d = m.hiddenSize();
            assertEquals(TunedLens.Parameterisation.RESIDUAL, lens.parameterisation());
            assertTrue(lens.hasProbe(0) && lens.hasProbe(1));
            assertFalse(lens.hasProbe(2));
            for (int l = 0; l < 2; l++) {
                int i = l + 1; // the library's translator i reads hidden_states[i], block i-1's output
                for (int r = 0; r < d; r++) {
                    for (int c = 0; c < d; c++) assertEquals(weight(i, r, c), lens.weight(l)[r * d + c], "layer " + l + " (" + r + ", " + c + ")");
                    assertEquals((float) (0.01 * i + 0.0001 * r), lens.bias(l)[r]);
                }
            }
            float[] h = new float[2 * d];
            Random rnd = new Random(1);
            for (int k = 0; k < h.length; k++) h[k] = (float) rnd.nextGaussian();
            float[] t = lens.translate(1, h, 2);
            for (int r = 0; r < 2; r++) {
                for (int o = 0; o < d; o++) {
                    double s = h[r * d + o] + lens.bias(1)[o];
                    for (int c = 0; c < d; c++) s += (double) weight(2, o, c) * h[r * d + c];
                    assertEquals(s, t[r * d + o], 1e-5, "h + A h + b");
                }
            }
            // saved in cgap's own format it binds to the model and round-trips
            lens.save(tmp.resolve("own"));
            assertArrayEquals(lens.weight(1), TunedLens.load(tmp.resolve("own"), m).weight(1));
        }
    }

    @Test
    void refusesAnotherShapeAndOtherLensTypes() throws Exception {
        Path g = TinyModels.write("gemma3", tmp.resolve("g"), 1, "F32");
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(g, be)) {
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> TunedLensLibraryImport.load(fixture(), m));
            assertTrue(e.getMessage().contains("3 layers") && e.getMessage().contains("has 64 and 6"), e.getMessage());
        }
        Path copy = Files.createDirectories(tmp.resolve("copy"));
        Files.copy(fixture().resolve("params.pt"), copy.resolve("params.pt"));
        Files.writeString(copy.resolve("config.json"), Files.readString(fixture().resolve("config.json")).replace("linear_tuned_lens", "mlp_lens"));
        Path a = TinyModels.write("llama", tmp.resolve("m"), 1, "F32");
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(a, be)) {
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> TunedLensLibraryImport.load(copy, m));
            assertTrue(e.getMessage().contains("mlp_lens"), e.getMessage());
            Files.writeString(copy.resolve("params.pt"), "not a zip");
            Files.writeString(copy.resolve("config.json"), Files.readString(fixture().resolve("config.json")));
            assertThrows(ModelLoadException.class, () -> TunedLensLibraryImport.load(copy, m));
        }
    }
}
