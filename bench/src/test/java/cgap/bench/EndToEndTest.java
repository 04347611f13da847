package cgap.bench;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./bench/e2e} end to end at a tiny shape: model written, converted to GGUF, both engines run in both dtypes,
 * the table printed and written. Speed is never asserted, only that every rate is a positive number.
 * Needs tools/llamacpp/setup.sh's cgap_llama_bench: in CI (CI=true) its absence fails the test, elsewhere skips it.
 */
class EndToEndTest {
    @Test
    void workerJvmsGetCgapJavaOptsAfterJava() {
        List<String> plain = EndToEnd.workerCommand(null, EndToEnd.class, "a", "b");
        assertEquals(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "cgap.bench.EndToEnd", "--worker", "a", "b"), plain.subList(1, plain.size()));
        assertEquals(plain, EndToEnd.workerCommand(" \t", EndToEnd.class, "a", "b"));
        List<String> opts = EndToEnd.workerCommand(" -Xmx512m \t -Dx=y ", EndToEnd.class, "a", "b");
        assertEquals(plain.get(0), opts.get(0));
        assertEquals(List.of("-Xmx512m", "-Dx=y"), opts.subList(1, 3));
        assertEquals(plain.subList(1, plain.size()), opts.subList(3, opts.size()));
    }

    @Test
    void tinyModelRunsOnBothEnginesAndPrintsTheTable(@TempDir Path tmp) throws Exception {
        String missing = EndToEnd.missing();
        if (missing != null) {
            String msg = "llama.cpp side of bench/e2e not available: " + missing;
            if ("true".equals(System.getenv("CI"))) throw new IllegalStateException(msg);
            Assumptions.abort(msg);
        }
        Path out = tmp.resolve("e2e.md");
        String[] args = {"--layers", "2", "--hidden", "64", "--heads", "4", "--kv-heads", "2", "--vocab", "512", "--prompt", "8",
                "--decode", "4", "--runs", "1", "--dtypes", "bf16,f32", "--cache", tmp.resolve("cache").toString(), "--out", out.toString()};
        EndToEnd.Report r = EndToEnd.run(args, new PrintStream(System.err, true));

        assertEquals(4, r.rows().size());
        List<String> seen = r.rows().stream().map(x -> x.engine() + "/" + x.dtype()).toList();
        assertEquals(List.of("cgap/BF16", "llama.cpp/BF16", "cgap/F32", "llama.cpp/F32"), seen);
        for (EndToEnd.Row row : r.rows()) {
            String what = row.engine() + " " + row.dtype();
            assertEquals(1, row.prefillTps().length, what);
            assertTrue(row.prefillMedian() > 0 && Double.isFinite(row.prefillMedian()), what + " prefill " + row.prefillMedian());
            assertTrue(row.decodeMedian() > 0 && Double.isFinite(row.decodeMedian()), what + " decode " + row.decodeMedian());
            assertTrue(row.firstPrefillTps() > 0 && row.firstDecodeTps() > 0, what + " first run");
            assertTrue(row.peakRssKb() > 0, what + " peak RSS " + row.peakRssKb());
        }
        String md = r.markdown();
        for (String s : List.of("| cgap | BF16 |", "| llama.cpp | BF16 |", "| cgap | F32 |", "| llama.cpp | F32 |",
                "| **cgap / llama.cpp** | BF16 |", "| **cgap / llama.cpp** | F32 |", "Machine: ", "Command: `./bench/e2e ")) {
            assertTrue(md.contains(s), "report lacks '" + s + "':\n" + md);
        }
        assertEquals(md, Files.readString(out));
        assertTrue(Files.isRegularFile(tmp.resolve("cache/llama-L2-d64-h4-kv2-i256-v512-bf16-s1/llama.cpp.gguf")));
    }
}
