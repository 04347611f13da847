package cgap.tokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Encode throughput benchmark: {@code EncodeThroughput DIR [MEGABYTES] [ROUNDS]}.
 *
 * <p>Generates a deterministic mixed text (English-like words, punctuation, digits, newlines,
 * some accented/CJK/emoji words) of the given size (default 1 MB of UTF-8), encodes it once to
 * warm up, then ROUNDS times (default 3), and prints the best MB/s with the token count.
 */
public final class EncodeThroughput {
    private EncodeThroughput() {}

    static String generate(int bytes, long seed) {
        String[] words = {"the", "of", "and", "a", "to", "in", "is", "was", "that", "for", "model", "layer",
                "language", "gap", "convergence", "tokenizer", "residual", "stream", "attention", "Once", "upon",
                "time", "little", "girl", "named", "Lily", "She", "loved", "play", "outside", "park", "café",
                "naïve", "über", "日本語", "中文", "😀", "return", "x", "==", "(i)", "{", "}", "1234567", "3.14"};
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder(bytes + 64);
        int size = 0;
        while (size < bytes) {
            String w = words[r.nextInt(words.length)];
            String sep = switch (r.nextInt(20)) {
                case 0 -> ". ";
                case 1 -> ", ";
                case 2 -> "\n";
                case 3 -> "\n\n";
                default -> " ";
            };
            sb.append(w).append(sep);
            size += w.getBytes(StandardCharsets.UTF_8).length + sep.length();
        }
        return sb.toString();
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: EncodeThroughput TOKENIZER_DIR [MEGABYTES] [ROUNDS]");
            System.exit(2);
        }
        double mb = args.length > 1 ? Double.parseDouble(args[1]) : 1.0;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        long t0 = System.nanoTime();
        Tokenizer tok = Tokenizer.load(Path.of(args[0]));
        double loadS = (System.nanoTime() - t0) / 1e9;
        String text = generate((int) (mb * 1_000_000), 42);
        double realMb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
        int n = tok.encode(text, true).length; // warm-up
        double best = Double.MAX_VALUE;
        for (int i = 0; i < rounds; i++) {
            long s = System.nanoTime();
            n = tok.encode(text, true).length;
            best = Math.min(best, (System.nanoTime() - s) / 1e9);
        }
        System.out.printf("tokenizer=%s load=%.2fs text=%.2fMB tokens=%d best=%.3fs throughput=%.2f MB/s%n",
                args[0], loadS, realMb, n, best, realMb / best);
    }
}
