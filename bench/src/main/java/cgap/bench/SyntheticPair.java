package cgap.bench;

import cgap.diagnostics.run.DefaultPair;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A synthetic PT/IT pair of any {@link SyntheticLlama} shape that {@code cgap run --pt DIR/pt --it DIR/it} loads:
 * two independently seeded checkpoints (PT seed s, IT seed s + 1, so their weight files are distinct and both count
 * in memory) with a byte-level tokenizer in the manner of {@code cgap.diagnostics.run.DefaultPair}: ids 0–255 are the
 * bytes, then {@code <s>}, {@code </s>}, {@code <|user|>}, {@code <|assistant|>}, then filler tokens {@code <xN>} up
 * to the model's vocabulary (never produced by encoding, decodable as text), and the same minimal chat template.
 * BOS and EOS are {@code <s>} (256) and {@code </s>} (257) in config.json and generation_config.json. For measuring
 * memory and speed only: the weights are random and the text noise.
 *
 * <pre>
 * java -cp … cgap.bench.SyntheticPair DIR [--layers 16] [--hidden 1024] [--heads 16] [--kv-heads 4] [--intermediate 2816]
 *      [--vocab 32000] [--dtype BF16|F32] [--seed 1]
 * </pre>
 */
public final class SyntheticPair {
    private SyntheticPair() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args[0].startsWith("--")) {
            throw new IllegalArgumentException("usage: SyntheticPair DIR [--layers N] [--hidden D] ... (see the class comment)");
        }
        // EndToEnd's parser (unknown options refused) over this class's defaults: intermediate stays 2816 whatever
        // the hidden size; heads (hidden / 64) and kv-heads (heads / 4, at least 1) are derived when not given
        Map<String, String> o = EndToEnd.withShape(EndToEnd.options(Arrays.copyOfRange(args, 1, args.length),
                Map.of("layers", "16", "hidden", "1024", "intermediate", "2816", "vocab", "32000", "dtype", "BF16", "seed", "1"),
                List.of("heads", "kv-heads")));
        Path dir = Path.of(args[0]);
        write(dir, EndToEnd.spec(o, o.get("dtype")));
        System.out.println(dir.resolve("pt") + " " + dir.resolve("it"));
    }

    /**
     * Writes dir/pt (seed m.seed()) and dir/it (seed m.seed() + 1), each with its tokenizer; skips a side's weights
     * already written, and writes a config or tokenizer file only when it is missing or its bytes differ.
     */
    public static void write(Path dir, SyntheticLlama m) throws IOException {
        SyntheticLlama[] sides = {m, new SyntheticLlama(m.layers(), m.hidden(), m.heads(), m.kvHeads(), m.intermediate(), m.vocab(), m.dtype(), m.seed() + 1)};
        String[] names = {"pt", "it"};
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Map<String, byte[]> tokenizer = DefaultPair.tokenizerFiles(m.vocab()); // refuses a vocabulary too small, before any write
        for (int s = 0; s < 2; s++) {
            Path p = dir.resolve(names[s]);
            if (!Files.isRegularFile(p.resolve("model.safetensors"))) sides[s].write(p);
            ObjectNode cfg = (ObjectNode) json.readTree(p.resolve("config.json").toFile());
            cfg.put("bos_token_id", 256).put("eos_token_id", 257).put("max_position_embeddings", 8192);
            writeIfChanged(p.resolve("config.json"), json.writeValueAsBytes(cfg));
            writeIfChanged(p.resolve("generation_config.json"),
                    "{\n  \"bos_token_id\": 256,\n  \"eos_token_id\": 257\n}\n".getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, byte[]> f : tokenizer.entrySet()) writeIfChanged(p.resolve(f.getKey()), f.getValue());
        }
    }

    /** Writes bytes to f unless f already holds exactly them (so a rerun leaves an unchanged file, and its time, alone). */
    private static void writeIfChanged(Path f, byte[] bytes) throws IOException {
        if (Files.isRegularFile(f) && Arrays.equals(Files.readAllBytes(f), bytes)) return;
        Files.write(f, bytes);
    }
}
