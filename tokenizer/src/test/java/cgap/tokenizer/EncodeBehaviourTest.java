package cgap.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Encoding behaviour that does not need node: ids recorded from the reference (so a regression
 * shows even where node is absent), the Rust rules the reference gets wrong, config handling, and
 * added-token flags on small synthetic tokenizers.
 */
class EncodeBehaviourTest {
    static Tokenizer shared(String rel) {
        return Tokenizer.load(TestPaths.sharedDir(rel));
    }

    @Test
    void sentencePieceModelsAsRecorded() {
        Tokenizer s = shared("models/stories260K");
        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, s.encode("Once upon a time", true));
        assertArrayEquals(new int[] {403, 407, 261, 378}, s.encode("Once upon a time", false));
        Tokenizer t = shared("models/tinyllama-v0-chat");
        assertArrayEquals(new int[] {1, 4612, 2619, 260, 647}, t.encode("Once upon a time", true));
        // <s> parsed as special; Prepend normalizer applies to every piece (legacy SentencePiece behaviour)
        assertArrayEquals(new int[] {1, 1, 836, 1389, 2313, 31908, 11678, 836, 31873, 1389, 2313, 31908},
                t.encode("<s>[INST] Hi [/INST]", true));
        assertArrayEquals(new int[] {718, 31829, 31901, 31907, 1389, 2313, 31908, 11678, 836, 31873, 1389, 2313, 31908},
                t.encode("<s>[INST] Hi [/INST]", false, true));
        Tokenizer m = shared("tokenizers/mistral_7b_v0_1");
        assertArrayEquals(new int[] {1, 5713, 3714, 264, 727}, m.encode("Once upon a time", true));
    }

    @Test
    void byteLevelModelsAsRecorded() {
        Tokenizer l = shared("tokenizers/llama3_1");
        assertArrayEquals(new int[] {128000, 128009, 6151}, l.encode("<|eot_id|>hi", true));
        assertArrayEquals(new int[] {27, 91, 68, 354, 851, 91, 29, 6151}, l.encode("<|eot_id|>hi", false, true));
        Tokenizer q = shared("tokenizers/qwen3");
        assertArrayEquals(new int[] {12522, 5193, 264, 882}, q.encode("Once upon a time", true)); // no BOS
        assertArrayEquals(new int[] {151644, 872, 198, 151657}, q.encode("<|im_start|>user\n<tool_call>", true));
        // split_special_tokens leaves non-special added tokens (<tool_call>) matched, as transformers does
        assertArrayEquals(new int[] {27, 91, 318, 4906, 91, 29, 872, 198, 151657}, q.encode("<|im_start|>user\n<tool_call>", false, true));
        Tokenizer s = shared("tokenizers/smollm2");
        assertArrayEquals(new int[] {6403, 1980, 253, 655}, s.encode("Once upon a time", true));
    }

    @Test
    void gemmaAsRecorded() {
        Tokenizer g = shared("tokenizers/gemma3");
        assertArrayEquals(new int[] {2, 14946, 3324, 496, 990}, g.encode("Once upon a time", true));
        assertArrayEquals(new int[] {2, 105, 2364, 107, 10979, 106}, g.encode("<start_of_turn>user\nHi<end_of_turn>", true));
        assertArrayEquals(new int[] {236820, 3041, 236779, 1340, 236779, 887, 236813, 2364, 107, 10979, 236820, 643, 236779, 1340, 236779, 887, 236813},
                g.encode("<start_of_turn>user\nHi<end_of_turn>", false, true));
    }

    /** Rust's Digits pre-tokenizer uses char::is_numeric (Unicode N*), not ASCII \d as the JS reference does. */
    @Test
    void digitsSplitUnicodeNumbersLikeRust() {
        Tokenizer s = shared("tokenizers/smollm2");
        int[] whole = s.encode("x ٠١ ²", false);
        int[] pieces = Components.concat(List.of(s.encode("x ", false), s.encode("٠", false), s.encode("١", false),
                s.encode(" ", false), s.encode("²", false)));
        assertArrayEquals(pieces, whole);
    }

    @Test
    void bosEosVocabAndConfig() {
        Tokenizer t = shared("models/tinyllama-v0");
        assertEquals(OptionalInt.of(1), t.bosId());
        assertEquals(OptionalInt.of(2), t.eosId());
        assertEquals(32000, t.vocabSize());
        assertEquals("<s>", t.idToToken(1));
        assertEquals(1, t.tokenToId("<s>"));
        assertEquals(-1, t.tokenToId("no such token ever"));
        assertNull(t.idToToken(999_999));
        assertEquals("LlamaTokenizer", t.tokenizerConfig().get("tokenizer_class"));
        Tokenizer l = shared("tokenizers/llama3_1");
        assertEquals(OptionalInt.of(128000), l.bosId());
        assertEquals(OptionalInt.of(128009), l.eosId()); // <|eot_id|> per tokenizer_config.json
        assertEquals(128256, l.vocabSize());
        Tokenizer q = shared("tokenizers/qwen3");
        assertEquals(OptionalInt.empty(), q.bosId()); // bos_token: null
        assertEquals(OptionalInt.of(151645), q.eosId());
        assertEquals(151669, q.vocabSize());
        Tokenizer g = shared("tokenizers/gemma3");
        assertEquals(OptionalInt.of(2), g.bosId());
        assertEquals(OptionalInt.of(106), g.eosId()); // <end_of_turn>
        assertEquals(262145, g.vocabSize()); // <image_soft_token> has id 262144
        Tokenizer s = shared("tokenizers/smollm2"); // no tokenizer_config.json
        assertTrue(s.tokenizerConfig().isEmpty());
        assertEquals(OptionalInt.of(0), s.eosId());
        assertTrue(shared("models/tinyllama-v0-chat").tokenizerConfig().get("chat_template") instanceof String);
    }

    @Test
    void loadAcceptsTheFileItself() {
        Path f = TestPaths.sharedDir("models/stories260K").resolve("tokenizer.json");
        Tokenizer t = Tokenizer.load(f);
        assertEquals(OptionalInt.of(1), t.bosId());
        assertEquals(512, t.vocabSize());
    }

    @Test
    void emptyText() {
        assertArrayEquals(new int[] {1}, shared("models/stories260K").encode("", true));
        assertArrayEquals(new int[0], shared("models/stories260K").encode("", false));
        assertArrayEquals(new int[0], shared("tokenizers/qwen3").encode("", true));
    }

    // ------------------------------------------------------------------ synthetic tokenizers

    /** A tiny character-level BPE over a-z, space and ▁ with a few merges, plus given added tokens. */
    static Path synthetic(Path dir, String normalizer, String preTokenizer, String addedTokens, String config, String post) throws Exception {
        return synthetic(dir, normalizer, preTokenizer, addedTokens, config, post, "null");
    }

    static Path synthetic(Path dir, String normalizer, String preTokenizer, String addedTokens, String config, String post, String decoder) throws Exception {
        StringBuilder vocab = new StringBuilder();
        int id = 0;
        vocab.append("\"<unk>\":").append(id++).append(",\"<s>\":").append(id++).append(",\"</s>\":").append(id++);
        for (char c = 'a'; c <= 'z'; c++) vocab.append(",\"").append(c).append("\":").append(id++);
        vocab.append(",\" \":").append(id++).append(",\"\u2581\":").append(id++);
        vocab.append(",\"ab\":").append(id++).append(",\"abc\":").append(id++).append(",\"\u2581a\":").append(id++);
        vocab.append(",\"<sep>\":").append(id++).append(",\"<w>\":").append(id++);
        String json = "{\"version\":\"1.0\",\"added_tokens\":[" + addedTokens + "],"
                + "\"normalizer\":" + normalizer + ",\"pre_tokenizer\":" + preTokenizer + ","
                + "\"post_processor\":" + post + ",\"decoder\":" + decoder + ","
                + "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"fuse_unk\":true,\"byte_fallback\":false,"
                + "\"vocab\":{" + vocab + "},\"merges\":[\"a b\",\"ab c\",\"\u2581 a\"]}}";
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), json);
        if (config != null) Files.writeString(dir.resolve("tokenizer_config.json"), config);
        return dir;
    }

    static String added(int id, String content, boolean lstrip, boolean rstrip, boolean singleWord, boolean normalized, boolean special) {
        return "{\"id\":" + id + ",\"content\":\"" + content + "\",\"single_word\":" + singleWord + ",\"lstrip\":" + lstrip
                + ",\"rstrip\":" + rstrip + ",\"normalized\":" + normalized + ",\"special\":" + special + "}";
    }

    @Test
    void addedTokenStripFlags(@TempDir Path tmp) throws Exception {
        int sep = 34, w = 35;
        String tokens = added(sep, "<sep>", true, true, false, false, true) + "," + added(w, "<w>", false, false, true, false, false);
        Tokenizer t = Tokenizer.load(synthetic(tmp.resolve("t"), "null", "null", tokens, null, "null"));
        int a = t.tokenToId("a"), b = t.tokenToId("b"), space = t.tokenToId(" ");
        // lstrip/rstrip swallow the spaces around <sep>
        assertArrayEquals(new int[] {a, sep, b}, t.encode("a  <sep>  b", false));
        // single_word: only matched when not inside a word
        assertArrayEquals(new int[] {a, space, w, space, b}, t.encode("a <w> b", false));
        int lt = t.tokenToId("<unk>");
        int[] inside = t.encode("a<w>b", false);
        assertFalse(java.util.Arrays.stream(inside).anyMatch(x -> x == w), "single_word token matched inside a word");
        assertEquals(a, inside[0]);
        assertEquals(lt, inside[1]); // '<' is unknown; the letter w separates it from the unknown '>'
        // split_special_tokens leaves the special <sep> as text but keeps non-special <w>
        int[] split = t.encode("<sep> <w>", false, true);
        assertEquals(w, split[split.length - 1]);
        assertFalse(java.util.Arrays.stream(split).anyMatch(x -> x == sep));
    }

    @Test
    void unknownCharactersFuse(@TempDir Path tmp) throws Exception {
        Tokenizer t = Tokenizer.load(synthetic(tmp.resolve("t"), "null", "null", "", null, "null"));
        int unk = 0;
        assertArrayEquals(new int[] {t.tokenToId("abc"), unk, t.tokenToId("a")}, t.encode("abcXYZa", false));
    }

    @Test
    void metaspacePrependSchemes(@TempDir Path tmp) throws Exception {
        String sep = added(34, "<sep>", false, false, false, false, true);
        String first = "{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"prepend_scheme\":\"first\",\"split\":true}";
        Tokenizer f = Tokenizer.load(synthetic(tmp.resolve("f"), "null", first, sep, null, "null"));
        int ma = f.tokenToId("\u2581a"), meta = f.tokenToId("\u2581"), a = f.tokenToId("a"), b = f.tokenToId("b");
        assertArrayEquals(new int[] {ma, meta, b}, f.encode("a b", false));
        // after a special token, "first" does not prepend again
        assertArrayEquals(new int[] {34, a, meta, b}, f.encode("<sep>a b", false));
        assertArrayEquals(new int[] {ma, 34, a}, f.encode("a<sep>a", false));
        String always = first.replace("first", "always");
        Tokenizer al = Tokenizer.load(synthetic(tmp.resolve("a"), "null", always, sep, null, "null"));
        assertArrayEquals(new int[] {34, ma}, al.encode("<sep>a", false));
        String never = first.replace("first", "never");
        Tokenizer nv = Tokenizer.load(synthetic(tmp.resolve("n"), "null", never, sep, null, "null"));
        assertArrayEquals(new int[] {a, ma}, nv.encode("a a", false));
    }

    /** PreTrainedTokenizerFast adds config-declared tokens that tokenizer.json lacks. */
    @Test
    void configDeclaredTokensAreAdded(@TempDir Path tmp) throws Exception {
        String cfg = "{\"tokenizer_class\":\"PreTrainedTokenizerFast\",\"eos_token\":\"</s>\","
                + "\"added_tokens_decoder\":{\"40\":{\"content\":\"<new>\",\"lstrip\":false,\"rstrip\":false,"
                + "\"single_word\":false,\"normalized\":false,\"special\":true}}}";
        Tokenizer t = Tokenizer.load(synthetic(tmp.resolve("c"), "null", "null", "", cfg, "null"));
        int a = t.tokenToId("a");
        assertArrayEquals(new int[] {a, 2, 40, a}, t.encode("a</s><new>a", false));
        assertEquals(40, t.tokenToId("<new>"));
        assertEquals(41, t.vocabSize());
        assertEquals("a a", t.decode(t.encode("a</s><new>a", false), true)); // no decoder: joined with spaces
        int[] split = t.encode("a</s>", false, true);
        assertTrue(split.length > 2, "split_special_tokens leaves </s> as text");
    }

    @Test
    void metaspaceDecoder(@TempDir Path tmp) throws Exception {
        String pre = "{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"prepend_scheme\":\"always\",\"split\":true}";
        String dec = "{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"prepend_scheme\":\"always\",\"split\":true}";
        Tokenizer t = Tokenizer.load(synthetic(tmp.resolve("m"), "null", pre, "", null, "null", dec));
        assertEquals("a b", t.decode(t.encode("a b", false), false));
        // Rust drops every replacement char of the first token
        int meta = t.tokenToId("\u2581"), a = t.tokenToId("a");
        assertEquals(" a", t.decode(new int[] {meta, meta, a}, false));
        String never = dec.replace("always", "never");
        Tokenizer n = Tokenizer.load(synthetic(tmp.resolve("n"), "null", pre, "", null, "null", never));
        assertEquals("  a", n.decode(new int[] {meta, meta, a}, false));
    }

    @Test
    void normalizedAddedTokenMatchedAfterNormalization(@TempDir Path tmp) throws Exception {
        String norm = "{\"type\":\"Lowercase\"}";
        Tokenizer t = Tokenizer.load(synthetic(tmp.resolve("t"), norm, "null", added(35, "<w>", false, false, false, true, false), null, "null"));
        assertArrayEquals(new int[] {t.tokenToId("a"), 35}, t.encode("A<W>", false));
    }

    @Test
    void llamaConfigFlagsRebuildThePostProcessor(@TempDir Path tmp) throws Exception {
        String template = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                + "\"pair\":[],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}}";
        String specials = added(0, "<unk>", false, false, false, false, true) + "," + added(1, "<s>", false, false, false, false, true)
                + "," + added(2, "</s>", false, false, false, false, true);
        Tokenizer plain = Tokenizer.load(synthetic(tmp.resolve("p"), "null", "null", specials, null, template));
        int a = plain.tokenToId("a");
        assertArrayEquals(new int[] {1, a}, plain.encode("a", true));
        String cfg = "{\"tokenizer_class\":\"LlamaTokenizer\",\"bos_token\":\"<s>\",\"eos_token\":{\"content\":\"</s>\"},\"add_bos_token\":false,\"add_eos_token\":true}";
        Tokenizer l = Tokenizer.load(synthetic(tmp.resolve("l"), "null", "null", specials, cfg, template));
        assertArrayEquals(new int[] {a, 2}, l.encode("a", true));
        assertArrayEquals(new int[] {a}, l.encode("a", false));
        assertEquals(OptionalInt.of(2), l.eosId());
        String other = cfg.replace("LlamaTokenizer", "PreTrainedTokenizerFast");
        Tokenizer o = Tokenizer.load(synthetic(tmp.resolve("o"), "null", "null", specials, other, template));
        assertArrayEquals(new int[] {1, a}, o.encode("a", true)); // only the Llama/Gemma classes do that
    }

    @Test
    void regexTranslation() {
        // \s is Unicode White_Space as in Oniguruma, (?i:) folds ASCII only
        assertTrue(Regexes.compile("\\s").matcher("\u3000").matches());
        assertTrue(Regexes.compile("\\s").matcher("\u0085").matches());
        assertFalse(Regexes.compile("\\s").matcher("\ufeff").matches());
        assertTrue(Regexes.compile("[^\\s\\p{L}]").matcher("!").matches());
        assertFalse(Regexes.compile("[^\\s\\p{L}]").matcher("\u2003").matches());
        assertTrue(Regexes.compile("(?i:'s)").matcher("'S").matches());
        assertTrue(Regexes.compile("\\d+").matcher("٠١").matches());
        assertFalse(Regexes.compile(".").matcher("\n").matches());
        assertTrue(Regexes.compile(".").matcher("\u2028").matches());
        assertTrue(Regexes.compile("[\\w]+").matcher("é_1").matches());
        assertTrue(Regexes.compile("\\p{Han}").matcher("中").matches());
    }
}
