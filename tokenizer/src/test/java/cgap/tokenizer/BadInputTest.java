package cgap.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad files fail with an IllegalArgumentException naming the file and the field. */
class BadInputTest {
    static IllegalArgumentException fails(Path dir) {
        return assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(dir));
    }

    static void contains(IllegalArgumentException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message lacks '" + p + "': " + e.getMessage());
    }

    static Path write(Path dir, String tokenizerJson) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson);
        return dir;
    }

    static final String OK_MODEL = "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}";

    @Test
    void missingFile(@TempDir Path tmp) {
        contains(fails(tmp.resolve("nowhere")), "tokenizer.json", "not found");
        contains(fails(tmp), "tokenizer.json", "not found");
    }

    @Test
    void malformedJson(@TempDir Path tmp) throws Exception {
        contains(fails(write(tmp, "{\"model\": {\"type\": \"BPE\", ")), "tokenizer.json", "malformed JSON");
        contains(fails(write(tmp.resolve("b"), "[1, 2]")), "tokenizer.json", "top level");
    }

    @Test
    void unknownModelType(@TempDir Path tmp) throws Exception {
        contains(fails(write(tmp, "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}")), "tokenizer.json", "model.type", "Unigram");
        contains(fails(write(tmp.resolve("m"), "{\"normalizer\":null}")), "tokenizer.json", "model");
    }

    @Test
    void badComponents(@TempDir Path tmp) throws Exception {
        contains(fails(write(tmp.resolve("p"), "{" + OK_MODEL + ",\"pre_tokenizer\":{\"type\":\"Frobnicate\"}}")),
                "tokenizer.json", "pre_tokenizer.type", "Frobnicate");
        contains(fails(write(tmp.resolve("n"), "{" + OK_MODEL + ",\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Precompiled\"}]}}")),
                "normalizer.normalizers[0].type", "Precompiled");
        contains(fails(write(tmp.resolve("d"), "{" + OK_MODEL + ",\"decoder\":{\"type\":\"Nope\"}}")), "decoder.type");
        contains(fails(write(tmp.resolve("r"), "{" + OK_MODEL + ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(unclosed\"},\"behavior\":\"Isolated\"}}")),
                "pre_tokenizer.pattern.Regex");
        contains(fails(write(tmp.resolve("x"), "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a zz\"]}}")),
                "model.merges[0]", "zz");
        contains(fails(write(tmp.resolve("v"), "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}")), "model.vocab");
        contains(fails(write(tmp.resolve("t"), "{" + OK_MODEL + ",\"added_tokens\":[{\"content\":\"x\"}]}")), "added_tokens[0]");
    }

    @Test
    void badConfig(@TempDir Path tmp) throws Exception {
        Path d = write(tmp.resolve("c"), "{" + OK_MODEL + "}");
        Files.writeString(d.resolve("tokenizer_config.json"), "{\"bos_token\": ");
        contains(fails(d), "tokenizer_config.json", "malformed JSON");
        Files.writeString(d.resolve("tokenizer_config.json"), "{\"bos_token\": \"<nope>\"}");
        contains(fails(d), "tokenizer_config.json", "bos_token", "<nope>");
        Files.writeString(d.resolve("tokenizer_config.json"), "{\"eos_token\": 5}");
        contains(fails(d), "tokenizer_config.json", "eos_token");
    }
}
