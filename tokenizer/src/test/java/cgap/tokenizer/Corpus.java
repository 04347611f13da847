package cgap.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The texts every tokenizer is checked on against the reference. */
final class Corpus {
    private Corpus() {}

    static final List<String> HANDWRITTEN = List.of(
            "",
            " ",
            "  ",
            "Hello world",
            " Hello world",
            "   leading spaces and trailing   ",
            "Hello, world! How are you doing today? I'm fine; you're great, we'll see. It's Bob's dog, they've gone, I'd go.",
            "IT'S SHOUTING'S TIME, DON'T YOU THINK? I'M SURE WE'LL",
            "Question: What is the capital of France?\nAnswer:",
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
            "café naïve résumé Zürich Ångström façade crème brûlée São Paulo Kraków",
            "e\u0301 versus é (combining acute vs precomposed), Å vs A\u030A, ﬁ ligature, ｆｕｌｌｗｉｄｔｈ",
            "日本語のテキストです。東京は大きい。",
            "中文测试：我爱自然语言处理，模型的收敛差距。",
            "한국어 문장입니다. Привет, как дела? Γειά σου κόσμε. مرحبا بالعالم. שלום עולם. नमस्ते दुनिया",
            "emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🤖🧠",
            "def f(x):\n    return x ** 2  # square\n\nfor i in range(10):\n\tprint(f(i))\n",
            "public static void main(String[] args) { System.out.println(\"hi\"); }",
            "if (a != b && c <= d || e >= f) { x += 1; } // comment\n/* block */",
            "<html><body><div class=\"x\">Text</div></body></html>",
            "a  b   c    d     e      f",
            "line1\nline2\n\nline3\n\n\nline4\n\n\n\n\nend",
            "\n\n\n",
            "\r\nwindows\r\nnewlines\r\n",
            "tabs\tbetween\t\twords\t\t\tand\n\ttabbed line",
            "trailing newline\n",
            "   \n  \n\t \n",
            "1 12 123 1234 12345 123456 1234567 12345678901234567890",
            "3.14159 2,718 1e-10 -42 +7 0x1F 1_000_000 $1,234.56 50% 10:30pm 2026-11-24",
            "Digits: 0123456789 and Arabic-Indic ٠١٢٣ and full-width ０１２",
            "<|eot_id|> in the middle <|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi",
            "<|begin_of_text|>Hello<|end_of_text|>",
            "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
            "<s>[INST] What is 2+2? [/INST] 4</s>",
            "text <s> with <s>s and </s> markers <unk> too",
            "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>",
            "<|endoftext|>after",
            "<bos><eos><pad> <mask> [multimodal] <unused0>",
            "<table><tr><td>cell</td></tr></table> <strong>bold</strong> <think>hmm</think> <tool_call>x</tool_call>",
            "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
            "almost special: <|eot_id| <s <|im_start| <start_of_turn",
            "▁already▁has▁metaspace ▁▁ two",
            "don't can't won't shouldn't y'all 'tis 'TIS O'Neil",
            "MiXeD CaSe WoRdS and ALLCAPS and camelCaseIdentifiers and snake_case_names",
            "punctuation!!! ??? ... --- *** ### @@@ ~~~ ``` ''' \"\"\" ;;; ::: ,,,",
            "«quotes» “curly” ‘single’ — em dash – en dash … ellipsis",
            "non\u00a0breaking\u00a0space and\u2009thin space and\u3000ideographic space",
            "next line\u0085NEL and BOM\ufeffinside and line\u2028separator\u2029para",
            "zero\u200bwidth\u200cjoiner\u200dtest",
            "control \u0001\u0002\u001f chars and DEL \u007f",
            "math ∑∫∂√∞≠≤≥ and arrows →←↑↓ and box ┌─┐",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝 outside BMP 𠀀𠀁 and rare CJK 龘",
            "a",
            "?",
            "ab",
            "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "                                                                                ",
            "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
            "https://example.com/path?query=1&x=y#frag user@example.org",
            "{\"json\": [1, 2, 3], \"nested\": {\"k\": null, \"b\": true}}",
            "Ünïcödé wörds wïth dïäcrïtïcs everywhere ÀÉÎÕÜ àéîõü");

    /** Handwritten texts, realistic prompts from ../shared/datasets and seeded random strings. */
    static List<String> all() {
        List<String> out = new ArrayList<>(HANDWRITTEN);
        out.addAll(datasetPrompts(40));
        int fuzz = Integer.getInteger("cgap.tokenizer.fuzz", 150); // -Dcgap.tokenizer.fuzz=N for a longer run
        out.addAll(random(fuzz, 7));
        out.addAll(randomCodePoints(fuzz / 3, 13));
        out.add(EncodeThroughput.generate(20_000, 3));
        return out;
    }

    static List<String> datasetPrompts(int n) {
        List<String> out = new ArrayList<>();
        Path p = TestPaths.shared().resolve("datasets/eval_dataset_v2.jsonl");
        if (!Files.isRegularFile(p)) return out;
        ObjectMapper json = new ObjectMapper();
        try {
            for (String line : Files.readAllLines(p)) {
                if (out.size() >= n) break;
                if (line.isBlank()) continue;
                JsonNode node = json.readTree(line);
                String b = node.path("formats").path("B").asText(null);
                if (b != null) out.add(b);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    private static final String[] POOL = {
            " ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", "a", "e", "the", "The", "ing", "tion", "'s", "'S", "'ll",
            "0", "7", "42", "2026", "12345", ".", ",", "!", "?", "-", "_", "(", ")", "[", "]", "{", "}", "<", ">", "/",
            "\\", "\"", "'", "`", "#", "$", "%", "&", "*", "+", "=", "|", "~", "^", "@", ":", ";",
            "é", "ü", "ñ", "ß", "ç", "Å", "日", "本", "語", "中", "文", "한", "국", "ж", "я", "λ", "ω", "ع", "ש", "ह",
            "😀", "👍", "🏽", "‍", "🇫", "🇷", "❤", "️", "𝔘", "𠀀", "\u00a0", "\u3000", "\u2028", "…", "—", "“", "”",
            "<s>", "</s>", "<|eot_id|>", "<start_of_turn>", "<|im_end|>", "<unk>", "▁", "▁▁", "Ġ", "<0x0A>", "##"
    };

    /** Strings of random code points from assorted blocks (no lone surrogates). */
    static List<String> randomCodePoints(int count, long seed) {
        int[][] ranges = {{0x20, 0x7e}, {0x09, 0x0d}, {0xa0, 0x24f}, {0x300, 0x36f}, {0x370, 0x52f}, {0x590, 0x6ff},
                {0x900, 0x97f}, {0xe00, 0xe7f}, {0x1100, 0x11ff}, {0x2000, 0x206f}, {0x2070, 0x218f}, {0x2190, 0x2bff},
                {0x3000, 0x30ff}, {0x4e00, 0x9fff}, {0xac00, 0xd7a3}, {0xff00, 0xffef}, {0x1d400, 0x1d7ff},
                {0x1f300, 0x1faff}, {0x20000, 0x2a6df}, {0xe000, 0xe0ff}};
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int len = 1 + r.nextInt(30);
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < len; k++) {
                int[] g = ranges[r.nextInt(ranges.length)];
                int cp = g[0] + r.nextInt(g[1] - g[0] + 1);
                if (r.nextInt(4) == 0) sb.append(' ');
                sb.appendCodePoint(cp);
            }
            out.add(sb.toString());
        }
        return out;
    }

    static List<String> random(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int len = 1 + r.nextInt(i < count / 2 ? 8 : 40);
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < len; k++) sb.append(POOL[r.nextInt(POOL.length)]);
            out.add(sb.toString());
        }
        return out;
    }
}
