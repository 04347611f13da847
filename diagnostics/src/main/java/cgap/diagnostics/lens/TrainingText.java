package cgap.diagnostics.lens;

import cgap.diagnostics.run.Prompting;
import cgap.tokenizer.Tokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * The text a tuned lens is trained on, as token sequences for {@link cgap.engine.lens.LensTrainer}.
 *
 * <p>Documents: a {@code .jsonl} file gives one per line, the string at {@code field} (default {@code text}; a dotted
 * path such as {@code formats.B} reaches into objects); any other file is plain text whose documents are its
 * paragraphs (blocks separated by blank lines), or its lines when it has no blank line.
 *
 * <p>Each document is tokenized with the model's tokenizer as the model reads it: raw with BOS for a PT lens, or as
 * one user message rendered by the model's own chat template (generation prompt on, no system message) for an IT
 * lens ({@link Prompting}'s CHAT regime). Documents are shuffled with the seed and packed greedily into sequences of
 * at most {@code seqLen} tokens (whole documents; one longer than seqLen is cut into seqLen pieces); the sequences
 * are shuffled again and the last {@code valFraction} of them (at least one) held out for validation. A piece of
 * fewer than 2 tokens (nothing to predict after position 0) is dropped.
 */
public final class TrainingText {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Token sequences for training and validation, and what they came from. */
    public record Corpus(List<int[]> train, List<int[]> validation, int documents, long trainTokens, long validationTokens) {
    }

    private TrainingText() {
    }

    /** The documents of a file (see the class comment). */
    public static List<String> documents(Path file, String field) throws IOException {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such file");
        List<String> docs = new ArrayList<>();
        String name = file.getFileName().toString();
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            String f = field == null ? "text" : field;
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty()) continue;
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException e) {
                    throw new IllegalArgumentException(file + " line " + (i + 1) + ": not JSON: " + e.getMessage());
                }
                for (String part : f.split("\\.")) n = n == null ? null : n.get(part);
                if (n == null || !n.isTextual()) {
                    throw new IllegalArgumentException(file + " line " + (i + 1) + ": no string field '" + f + "'" + (n == null ? "" : " (found " + n.getNodeType() + ")"));
                }
                if (!n.asText().isBlank()) docs.add(n.asText());
            }
        } else {
            if (field != null) throw new IllegalArgumentException(file + ": --text-field applies to .jsonl files only");
            String text = Files.readString(file).replace("\r\n", "\n");
            boolean paragraphs = java.util.regex.Pattern.compile("\\n\\s*\\n").matcher(text.strip()).find();
            for (String block : text.split(paragraphs ? "\\n\\s*\\n" : "\\n")) {
                String d = block.strip();
                if (!d.isEmpty()) docs.add(d);
            }
        }
        if (docs.isEmpty()) throw new IllegalArgumentException(file + ": no text found");
        return docs;
    }

    /**
     * The document → token ids function of a model: raw text with BOS as its tokenizer adds it, or (chat) the text
     * as one user message rendered by the folder's chat template and tokenized without adding special tokens again.
     */
    public static Function<String, int[]> encoder(Path modelDir, boolean chat) {
        if (!chat) {
            Tokenizer tok = Tokenizer.load(modelDir);
            return t -> tok.encode(t, true);
        }
        Prompting p = Prompting.load(modelDir, Prompting.Format.CHAT, "tokenizer_config", Map.of(), List.of(), List.of());
        return p::encode;
    }

    /** Tokenizes, packs, shuffles and splits (see the class comment). */
    public static Corpus build(List<String> docs, Function<String, int[]> encode, int seqLen, double valFraction, long seed) {
        if (seqLen < 2) throw new IllegalArgumentException("sequence length must be at least 2, got " + seqLen);
        if (!(valFraction > 0 && valFraction < 1)) throw new IllegalArgumentException("validation fraction must lie in (0, 1), got " + valFraction);
        List<String> order = new ArrayList<>(docs);
        Collections.shuffle(order, new Random(seed));
        List<int[]> seqs = new ArrayList<>();
        int[] buf = new int[seqLen];
        int fill = 0;
        for (String doc : order) {
            int[] ids = encode.apply(doc);
            if (ids.length == 0) continue;
            if (ids.length > seqLen) {
                for (int from = 0; from < ids.length; from += seqLen) {
                    int n = Math.min(seqLen, ids.length - from);
                    if (n >= 2) seqs.add(java.util.Arrays.copyOfRange(ids, from, from + n));
                }
                continue;
            }
            if (fill + ids.length > seqLen) {
                if (fill >= 2) seqs.add(java.util.Arrays.copyOf(buf, fill));
                fill = 0;
            }
            System.arraycopy(ids, 0, buf, fill, ids.length);
            fill += ids.length;
        }
        if (fill >= 2) seqs.add(java.util.Arrays.copyOf(buf, fill));
        if (seqs.size() < 2) throw new IllegalArgumentException("the text makes " + seqs.size() + " sequence(s); need at least 2 (one to train, one to validate)");
        Collections.shuffle(seqs, new Random(seed ^ 0x5DEECE66DL));
        int nVal = Math.max(1, (int) Math.round(seqs.size() * valFraction));
        nVal = Math.min(nVal, seqs.size() - 1);
        List<int[]> train = List.copyOf(seqs.subList(0, seqs.size() - nVal));
        List<int[]> val = List.copyOf(seqs.subList(seqs.size() - nVal, seqs.size()));
        return new Corpus(train, val, docs.size(), count(train), count(val));
    }

    private static long count(List<int[]> s) {
        long n = 0;
        for (int[] x : s) n += x.length;
        return n;
    }
}
