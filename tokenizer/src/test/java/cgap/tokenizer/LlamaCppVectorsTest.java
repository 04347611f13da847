package cgap.tokenizer;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * llama.cpp's tokenizer test vectors ({@code models/ggml-vocab-NAME.gguf.inp/.out}, written by
 * llama.cpp's convert_hf_to_gguf_update.py with Python transformers'
 * {@code AutoTokenizer.encode(text, add_special_tokens=False)}) replayed through the matching
 * tokenizer.json of ../shared: llama-bpe (Meta-Llama-3) with llama3_1, qwen2 (Qwen1.5, the
 * vocabulary of Qwen2/2.5/3) with qwen3.
 *
 * <p>The vectors come with llama.cpp's source, unpacked by tools/llamacpp/setup.sh (another
 * part of the project) under tools/llamacpp/build/llama.cpp. When that tool is part of the
 * checkout and CI=true, missing vectors fail the test; otherwise they skip it.
 */
class LlamaCppVectorsTest {
    static Path modelsDir() {
        Path root = TestPaths.repoRoot();
        for (String rel : List.of("tools/llamacpp/build/llama.cpp/models",
                "tools/llamacpp/node_modules/node-llama-cpp/llama/llama.cpp/models")) {
            Path p = root.resolve(rel);
            if (Files.isRegularFile(p.resolve("ggml-vocab-llama-bpe.gguf.inp"))) return p;
        }
        return null;
    }

    static List<String> readInputs(Path inp) throws Exception {
        String raw = Files.readString(inp, StandardCharsets.UTF_8);
        String sep = "\n__ggml_vocab_test__\n";
        List<String> out = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length()) {
            int next = raw.indexOf(sep, pos);
            if (next < 0) { out.add(raw.substring(pos)); break; }
            out.add(raw.substring(pos, next));
            pos = next + sep.length();
        }
        return out;
    }

    static List<int[]> readOutputs(Path out) throws Exception {
        List<int[]> res = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            String t = line.strip();
            res.add(t.isEmpty() ? new int[0] : Arrays.stream(t.split(" ")).mapToInt(Integer::parseInt).toArray());
        }
        return res;
    }

    @TestFactory
    List<DynamicTest> vectors() {
        Path models = modelsDir();
        if (models == null) {
            boolean expected = Files.isRegularFile(TestPaths.repoRoot().resolve("tools/llamacpp/setup.sh"));
            TestPaths.require(!expected, "llama.cpp vocab test vectors not found: run tools/llamacpp/setup.sh");
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "llama.cpp vocab test vectors not present (tools/llamacpp not set up)");
        }
        List<DynamicTest> tests = new ArrayList<>();
        String[][] pairs = {{"llama-bpe", "tokenizers/llama3_1"}, {"qwen2", "tokenizers/qwen3"}};
        for (String[] pair : pairs) {
            tests.add(DynamicTest.dynamicTest(pair[0] + " vs " + pair[1], () -> {
                Path inp = models.resolve("ggml-vocab-" + pair[0] + ".gguf.inp");
                Path out = models.resolve("ggml-vocab-" + pair[0] + ".gguf.out");
                assertTrue(Files.isRegularFile(inp) && Files.isRegularFile(out), "missing " + inp + " / .out");
                List<String> texts = readInputs(inp);
                List<int[]> expected = readOutputs(out);
                assertEquals(expected.size(), texts.size(), "inputs and outputs differ in count for " + pair[0]);
                Tokenizer tok = Tokenizer.load(TestPaths.sharedDir(pair[1]));
                List<String> bad = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) {
                    int[] mine = tok.encode(texts.get(i), false);
                    if (!Arrays.equals(mine, expected.get(i))) {
                        bad.add("#" + i + " " + ReferenceParityTest.abbrev(texts.get(i)) + "\n  java=" + Arrays.toString(mine)
                                + "\n  hf  =" + Arrays.toString(expected.get(i)));
                    }
                }
                assertEquals(List.of(), bad, bad.size() + " of " + texts.size() + " llama.cpp vectors differ for " + pair[0]);
            }));
        }
        return tests;
    }
}
