package cgap.diagnostics.run;

import cgap.diagnostics.Main;
import cgap.engine.Shared;
import cgap.engine.Model;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.lens.TunedLens;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** {@code cgap run} end to end: outputs, invariants, resume after a real kill, refusals. */
class RunCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path tmp;
    static Path pair;

    @BeforeAll
    static void buildPair() throws IOException {
        pair = DefaultPair.build(tmp.resolve("pair"));
    }

    record Cli(int rc, String out, String err) {
    }

    static Cli cgap(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Cli(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    static JsonNode summary(Path out) throws IOException {
        return JSON.readTree(out.resolve("summary.json").toFile());
    }

    static List<String> defaultArgs(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("run", "--pt", pair.resolve("pt").toString(), "--it", pair.resolve("it").toString(),
                "--out", out.toString(), "--max-new-tokens", "40", "--bootstrap", "300", "--threads", "2"));
        a.addAll(List.of(more));
        return a;
    }

    @Test
    void producesEveryOutputWithSaneNumbers() throws IOException {
        Path out = tmp.resolve("basic");
        Cli c = cgap(defaultArgs(out).toArray(String[]::new));
        assertEquals(0, c.rc(), c.err());
        for (String f : List.of("run.json", "summary.json", "summary.csv", "report.html", "figures/kl_per_layer.png", "figures/kl_per_layer.svg",
                "figures/gap_per_layer.png", "figures/gap_per_layer.svg", "figures/commitment_kl.png", "figures/commitment_top1.svg")) {
            assertTrue(Files.size(out.resolve(f)) > 100, f);
        }
        assertEquals(16, countFiles(out.resolve("steps/pt")));
        JsonNode s = summary(out);
        int L = s.get("layers").asInt();
        assertEquals(8, L);
        for (String side : List.of("pt_kl", "it_kl", "pt_kl_rev", "it_kl_rev")) {
            JsonNode mean = s.get("per_layer").get(side).get("mean");
            for (int l = 0; l < L; l++) assertTrue(mean.get(l).asDouble() >= 0, side + " KL >= 0 at layer " + l);
            assertEquals(0.0, mean.get(L - 1).asDouble(), 1e-9, side + ": the last layer's raw lens is the model's own distribution");
        }
        // The synthetic IT amplifies its last MLPs: it converges later, by construction.
        assertTrue(s.get("scalars").get("final_half_gap").get("lo").asDouble() > 0, s.get("scalars").toString());
        assertEquals(L + 1, Files.readAllLines(out.resolve("summary.csv")).size());
        assertTrue(c.out().contains("final-half gap"), c.out());
    }

    @Test
    void samePtAndItGiveExactlyZeroGap() throws IOException {
        Path out = tmp.resolve("same");
        Cli c = cgap("run", "--pt", pair.resolve("pt").toString(), "--it", pair.resolve("pt").toString(), "--it-format", "raw",
                "--out", out.toString(), "--max-new-tokens", "24", "--bootstrap", "200", "--limit", "6");
        assertEquals(0, c.rc(), c.err());
        JsonNode g = summary(out).get("per_layer").get("gap_kl");
        for (String k : List.of("mean", "lo", "hi")) for (JsonNode v : g.get(k)) assertEquals(0.0, v.asDouble(), 0.0, "gap " + k);
        assertEquals(0.0, summary(out).get("scalars").get("final_half_gap").get("value").asDouble(), 0.0);
    }

    @Test
    void mismatchedPairIsRefused() {
        Path stories = Shared.path("models/stories260K");
        Cli c = cgap("run", "--pt", pair.resolve("pt").toString(), "--it", stories.toString(), "--out", tmp.resolve("bad").toString());
        assertEquals(1, c.rc());
        assertTrue(c.err().contains("not a PT/IT pair") && c.err().contains("vocab_size 260 vs 512"), c.err());
    }

    @Test
    void resumeAfterKillEqualsUninterrupted() throws Exception {
        Path whole = tmp.resolve("whole"), killed = tmp.resolve("killed");
        assertEquals(0, cgap(defaultArgs(whole).toArray(String[]::new)).rc());
        // The same run in a separate JVM, killed (SIGKILL) once a few prompts are done.
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path")));
        // the same -XX options as this JVM (e.g. -XX:MaxVectorSize, which sets the kernels' lane count and so their bits)
        java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(x -> x.startsWith("-XX:")).forEach(cmd::add);
        cmd.add("cgap.diagnostics.Main");
        // Another batch size in each of the three runs: a prompt's results do not depend on its batch.
        cmd.addAll(defaultArgs(killed, "--threads", "1", "--batch", "3"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("killed.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (countFiles(killed.resolve("steps/it")) < 3 && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(p.isAlive(), "the run finished before it could be killed: " + Files.readString(tmp.resolve("killed.log")));
        p.destroyForcibly().waitFor();
        int done = countFiles(killed.resolve("steps/it"));
        assertTrue(done < 16 && !Files.exists(killed.resolve("summary.json")), "killed mid-run, " + done + " prompts done");
        try (Stream<Path> s = Files.walk(killed)) {
            s.filter(f -> f.toString().endsWith(".tmp")).forEach(f -> {
                try {
                    Files.delete(f); // what a kill mid-write leaves: a temporary, never a truncated result
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
        }
        Cli resumed = cgap(defaultArgs(killed, "--batch", "5").toArray(String[]::new));
        assertEquals(0, resumed.rc(), resumed.err());
        assertTrue(resumed.err().contains("(resumed)"), resumed.err());
        ObjectNode a = (ObjectNode) summary(whole), b = (ObjectNode) summary(killed);
        a.remove("created");
        b.remove("created");
        assertEquals(a, b, "a resumed run ends with the same summary as an uninterrupted one");
        for (String side : List.of("pt", "it")) {
            for (int i = 0; i < 16; i++) {
                String f = String.format("steps/%s/%06d.jsonl.gz", side, i);
                assertArrayEquals(gunzip(whole.resolve(f)), gunzip(killed.resolve(f)), f);
            }
        }
    }

    /**
     * With identity lenses (the starting point of training, which returns h bit for bit) the tuned readout is the raw
     * lens exactly: every per-layer curve, scalar and commitment figure of "tuned" equals its raw twin. Lenses of
     * another model are refused.
     */
    @Test
    void tunedReadoutWithIdentityLensesEqualsTheRawLens() throws IOException {
        Path lenses = tmp.resolve("identity-lenses");
        try (CpuBackend be = new CpuBackend(1); Model pt = Model.load(pair.resolve("pt"), be); Model it = Model.load(pair.resolve("it"), be);
             Model other = Model.load(Shared.path("models/stories260K"), be)) {
            TunedLens.identity(pt, TunedLens.Parameterisation.AFFINE).save(lenses.resolve("pt"));
            TunedLens.identity(it, TunedLens.Parameterisation.RESIDUAL).save(lenses.resolve("it"));
            TunedLens.identity(other, TunedLens.Parameterisation.AFFINE).save(lenses.resolve("other"));
        }
        Path out = tmp.resolve("tuned");
        Cli c = cgap(defaultArgs(out, "--limit", "5", "--lens", "tuned", "--pt-lens", lenses.resolve("pt").toString(),
                "--it-lens", lenses.resolve("it").toString()).toArray(String[]::new));
        assertEquals(0, c.rc(), c.err());
        JsonNode s = summary(out);
        assertEquals("raw+tuned", s.get("settings").get("readout").asText());
        JsonNode tuned = s.get("tuned");
        assertEquals(s.get("per_layer"), tuned.get("per_layer"), "identity lenses read exactly the raw lens");
        assertEquals(s.get("scalars"), tuned.get("scalars"));
        assertEquals(s.get("commitment_layers"), tuned.get("commitment_layers"));
        assertEquals("affine", s.get("lenses").get("pt").get("parameterisation").asText());
        assertEquals("residual", s.get("lenses").get("it").get("parameterisation").asText());
        for (String f : List.of("figures/kl_per_layer_raw_vs_tuned.png", "figures/kl_per_layer_raw_vs_tuned.svg", "figures/gap_per_layer_tuned.png")) {
            assertTrue(Files.size(out.resolve(f)) > 100, f);
        }
        assertTrue(Files.readAllLines(out.resolve("summary.csv")).get(0).contains("tuned_gap_kl_mean"));
        assertTrue(Files.readString(out.resolve("report.html")).contains("tuned lens [95% CI]"));

        Cli other = cgap(defaultArgs(tmp.resolve("tuned-other"), "--limit", "2", "--lens", "tuned", "--pt-lens", lenses.resolve("other").toString(),
                "--it-lens", lenses.resolve("it").toString()).toArray(String[]::new));
        assertEquals(1, other.rc(), other.err());
        assertTrue(other.err().contains("--pt-lens"), other.err());
        Cli missing = cgap(defaultArgs(tmp.resolve("tuned-missing"), "--lens", "tuned").toArray(String[]::new));
        assertEquals(2, missing.rc());
        assertTrue(missing.err().contains("--pt-lens DIR and --it-lens DIR"), missing.err());
    }

    @Test
    void changedSettingsAreRefusedOnResume() {
        Path out = tmp.resolve("changed");
        assertEquals(0, cgap(defaultArgs(out, "--limit", "2").toArray(String[]::new)).rc());
        Cli c = cgap(defaultArgs(out, "--limit", "3").toArray(String[]::new));
        assertEquals(2, c.rc());
        assertTrue(c.err().contains("holds a run with other settings"), c.err());
    }

    @Test
    void realPairEndToEnd() throws IOException {
        Path out = tmp.resolve("tinyllama");
        Cli c = cgap("run", "--pt", Shared.path("models/tinyllama-v0").toString(), "--it", Shared.path("models/tinyllama-v0-chat").toString(),
                "--prompts", Shared.path("datasets/tinystories_instructions_heldout.jsonl").toString(), "--limit", "6",
                "--max-new-tokens", "32", "--bootstrap", "300", "--out", out.toString());
        assertEquals(0, c.rc(), c.err());
        JsonNode s = summary(out);
        assertEquals(8, s.get("layers").asInt());
        assertEquals(6, s.get("counts").get("prompts").get("it").asInt());
        // IT was prompted through its chat template: [INST] ... [/INST]
        String header = new String(gunzip(out.resolve("steps/it/000000.jsonl.gz")), StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
        JsonNode h = JSON.readTree(header);
        assertEquals(1, h.get("prompt_tokens").get(0).asInt(), "BOS from the template");
        assertTrue(Files.readString(out.resolve("report.html")).contains("data:image/png;base64,"));
    }

    static int countFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> s = Files.list(dir)) {
            return (int) s.filter(f -> f.toString().endsWith(".jsonl.gz")).count();
        }
    }

    static byte[] gunzip(Path f) throws IOException {
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(f))) {
            return in.readAllBytes();
        }
    }
}
