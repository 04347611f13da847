package cgap.diagnostics.cli;

import cgap.diagnostics.Main;
import cgap.diagnostics.lens.GeneratedStories;
import cgap.engine.Model;
import cgap.engine.Shared;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.lens.TunedLens;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code cgap tune-lens} end to end with tiny settings: on tinyllama-v0 (raw text) and tinyllama-v0-chat (the same
 * text wrapped in its chat template), on stories tinyllama-v0 wrote itself; the lens beats the raw lens at every
 * intermediate layer, loads onto its model and not onto the other, resumes, and refuses changed settings.
 */
class TuneLensCommandTest {
    @TempDir
    static Path tmp;
    static Path text;

    @BeforeAll
    static void stories() throws Exception {
        List<String> s = GeneratedStories.generate(Shared.path("models/tinyllama-v0"), 3, 40, 60);
        text = GeneratedStories.write(tmp.resolve("stories.txt"), s);
    }

    record Run(int rc, String out, String err) {
    }

    static Run cgap(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc = Main.run(args, new PrintStream(o), new PrintStream(e));
        return new Run(rc, o.toString(), e.toString());
    }

    static void assertBeatsRawLens(Path out, int probedIntermediate) throws Exception {
        JsonNode tr = new ObjectMapper().readTree(out.resolve("lens.json").toFile()).get("training");
        JsonNode val = tr.get("validation_kl"), raw = tr.get("raw_lens_validation_kl");
        assertTrue(tr.get("best_step").asInt() > 0, tr.toString());
        for (int l = 0; l < probedIntermediate; l++) {
            assertTrue(val.get(l).asDouble() < raw.get(l).asDouble(), "layer " + l + ": tuned " + val.get(l) + " vs raw " + raw.get(l));
        }
    }

    @Test
    void pretrainedEndToEndResumeAndRefusals() throws Exception {
        Path pt = Shared.path("models/tinyllama-v0"), it = Shared.path("models/tinyllama-v0-chat");
        Path out = tmp.resolve("pt-lens");
        String[] cmd = {"tune-lens", "--model", pt.toString(), "--text", text.toString(), "--out", out.toString(), "--steps", "16",
                "--tokens-per-step", "256", "--seq-len", "64", "--eval-every", "8", "--checkpoint-every", "4", "--val-fraction", "0.1", "--threads", "2"};
        Run r = cgap(cmd);
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("written to " + out), r.out());
        assertTrue(r.err().contains("tokens/s") && r.err().contains("(early/mid/late)") && r.err().contains("step 16/16"), r.err());
        assertTrue(r.err().contains("cycled"), "a 40-story corpus is too small for 16 x 256 tokens, and the run says so: " + r.err());
        for (String f : List.of("lens.json", "lens.safetensors", "checkpoint.safetensors", "tune.json", "validation_kl.csv", "validation_kl.png", "validation_kl.svg")) assertTrue(Files.isRegularFile(out.resolve(f)), f);
        assertBeatsRawLens(out, 7);
        try (CpuBackend be = new CpuBackend(2); Model m = Model.load(pt, be); Model other = Model.load(it, be)) {
            TunedLens lens = TunedLens.load(out, m);
            assertEquals(TunedLens.Parameterisation.AFFINE, lens.parameterisation());
            var e = assertThrows(cgap.engine.ModelLoadException.class, () -> TunedLens.load(out, other));
            assertTrue(e.getMessage().contains("refusing"), e.getMessage());
        }
        byte[] lensBytes = Files.readAllBytes(out.resolve("lens.safetensors"));
        Run again = cgap(cmd);
        assertEquals(0, again.rc(), again.err());
        assertTrue(again.err().contains("resuming from the checkpoint at step 16 of 16"), again.err());
        assertArrayEquals(lensBytes, Files.readAllBytes(out.resolve("lens.safetensors")));
        String[] changed = cmd.clone();
        changed[changed.length - 1] = "2";
        changed = java.util.stream.Stream.concat(java.util.Arrays.stream(changed), java.util.stream.Stream.of("--lr-scale", "0.5")).toArray(String[]::new);
        Run refused = cgap(changed);
        assertEquals(2, refused.rc(), refused.err());
        assertTrue(refused.err().contains("other settings") && refused.err().contains("lr_scale 1.0 -> 0.5"), refused.err());
        Run bad = cgap("tune-lens", "--model", pt.toString(), "--text", text.toString(), "--out", tmp.resolve("x").toString(), "--param", "diagonal");
        assertEquals(2, bad.rc());
        assertTrue(bad.err().contains("unknown lens parameterisation 'diagonal'"), bad.err());
        Run help = cgap("tune-lens", "--help");
        assertEquals(0, help.rc());
        assertTrue(help.out().contains("--tokens-per-step"));
    }

    @Test
    void instructionTunedOnChatWrappedText() throws Exception {
        Path it = Shared.path("models/tinyllama-v0-chat");
        Path out = tmp.resolve("it-lens");
        Run r = cgap("tune-lens", "--model", it.toString(), "--text", text.toString(), "--out", out.toString(), "--chat", "--param", "residual",
                "--steps", "16", "--tokens-per-step", "256", "--seq-len", "80", "--eval-every", "8", "--val-fraction", "0.1", "--threads", "2");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.err().contains("wrapped in the chat template"), r.err());
        assertBeatsRawLens(out, 7);
        JsonNode lens = new ObjectMapper().readTree(out.resolve("lens.json").toFile());
        assertEquals("residual", lens.get("parameterisation").asText());
        assertEquals(7, lens.get("probed_layers").size(), "no probe on the last block");
    }
}
