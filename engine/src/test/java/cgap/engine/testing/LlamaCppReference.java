package cgap.engine.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * llama.cpp as an independent reference: converts an HF-layout checkpoint folder to GGUF with
 * {@code tools/llamacpp/hf_to_gguf.py} (cached by content hash under {@code <repo>/target/llamacpp-gguf/}), runs
 * {@code tools/llamacpp/build/cgap_llama_ref} (built by {@code tools/llamacpp/setup.sh}) on exactly the given token
 * ids (no BOS added) and returns llama.cpp's logits at every position, every layer's block output (the residual
 * stream after layer l, llama.cpp's {@code l_out-l}), other named graph tensors, and a greedy continuation.
 *
 * <p>llama.cpp runs on CPU with an F32 KV cache, no flash attention, 2 threads. Its numerics differ from an exact
 * F32 evaluation where ggml rounds: BF16/F16 weights make ggml round the activations to BF16/F16 before each matmul,
 * and GELU (Gemma) goes through an FP16 lookup table. Compare with tolerances accordingly.
 *
 * <p>The tool's output format ({@code CGAPREF1}, little-endian): char[8] magic; int32 n_vocab, n_embd, n_layer,
 * n_tokens, n_generated, n_tensors; int32 tokens[n_tokens]; int32 generated[n_generated]; then n_tensors records
 * {int32 name_len; name bytes (UTF-8); int32 rows, cols; float32 data[rows*cols] row-major}, rows = positions.
 * The first record is {@code logits}.
 */
public final class LlamaCppReference {
    private LlamaCppReference() {
    }

    /**
     * llama.cpp's outputs for one prompt.
     *
     * @param logits    [position][vocab], after any final logit softcapping (what llama_get_logits_ith returns)
     * @param layerOut  [layer][position][hidden]: the residual stream after each block ({@code l_out-<layer>})
     * @param extra     every other captured tensor by llama.cpp name, each [position][width]:
     *                  {@code attn_out-L} (attention block output: after o_proj, before Gemma 3 / OLMo 2 post-norms),
     *                  {@code ffn_inp-L} (residual after the attention half; Llama/Qwen only, Gemma calls it sa_out),
     *                  {@code ffn_out-L} (MLP output, before any post-norm), {@code result_norm} (final norm output),
     *                  {@code result_output} (unembedding output, before softcapping)
     * @param generated greedy (argmax) continuation, nPredict ids; generated[0] = argmax(logits[last])
     * @param tokens    the prompt as run
     */
    public record Result(float[][] logits, float[][][] layerOut, Map<String, float[][]> extra, int[] generated, int[] tokens) {
        public int nLayer() {
            return layerOut.length;
        }
    }

    /** The repository root: env CGAP_ROOT, else the working directory or the nearest parent holding tools/llamacpp. */
    public static Path repoRoot() {
        String env = System.getenv("CGAP_ROOT");
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath().normalize();
        Path p = Path.of("").toAbsolutePath();
        for (Path q = p; q != null; q = q.getParent()) {
            if (Files.isDirectory(q.resolve("tools/llamacpp"))) return q;
        }
        return p;
    }

    public static Path toolDir() {
        return repoRoot().resolve("tools/llamacpp");
    }

    public static Path binary() {
        return toolDir().resolve("build/cgap_llama_ref");
    }

    private static volatile Boolean pythonOk;

    /** What is missing for the harness to run, or null when it can run. */
    public static String missing() {
        Path dir = toolDir();
        List<String> miss = new ArrayList<>();
        if (!Files.isRegularFile(dir.resolve("hf_to_gguf.py"))) miss.add(dir.resolve("hf_to_gguf.py") + " (repository checkout?)");
        if (!Files.isExecutable(binary())) miss.add(binary() + " (run tools/llamacpp/setup.sh)");
        if (!Files.isDirectory(dir.resolve("build/llama.cpp/gguf-py"))) miss.add(dir.resolve("build/llama.cpp/gguf-py") + " (run tools/llamacpp/setup.sh)");
        if (!pythonWithNumpy()) miss.add("python3 with numpy");
        return miss.isEmpty() ? null : String.join("; ", miss);
    }

    public static boolean available() {
        return missing() == null;
    }

    /**
     * For tests: returns when the harness can run; otherwise, in CI (env CI=true) throws IllegalStateException
     * naming what is missing, elsewhere aborts the test as skipped (JUnit assumption).
     */
    public static void assumeAvailable() {
        String m = missing();
        if (m == null) return;
        String msg = "llama.cpp reference harness not available: " + m;
        if ("true".equals(System.getenv("CI"))) throw new IllegalStateException(msg);
        Assumptions.abort(msg);
    }

    /** Whether {@code python3 -c "import numpy"} succeeds (what hf_to_gguf.py needs); probed once, then cached. */
    public static boolean pythonWithNumpy() {
        Boolean ok = pythonOk;
        if (ok == null) pythonOk = ok = probePython();
        return ok;
    }

    private static boolean probePython() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Runs llama.cpp on the HF checkpoint folder; nPredict greedy tokens after the prompt (0 for none). */
    public static Result run(Path hfModelDir, int[] tokens, int nPredict) {
        return run(hfModelDir, tokens, nPredict, false);
    }

    /** As {@link #run(Path, int[], int)}; allTensors captures every [positions x width] F32 graph tensor into extra. */
    public static Result run(Path hfModelDir, int[] tokens, int nPredict, boolean allTensors) {
        String m = missing();
        if (m != null) throw new IllegalStateException("llama.cpp reference harness not available: " + m);
        if (tokens.length == 0) throw new IllegalArgumentException("no tokens");
        Path gguf = gguf(hfModelDir);
        Path out = null;
        try {
            out = Files.createTempFile("cgap-llama-ref", ".bin");
            StringBuilder ids = new StringBuilder();
            for (int t : tokens) ids.append(ids.isEmpty() ? "" : ",").append(t);
            List<String> cmd = new ArrayList<>(List.of(binary().toString(), gguf.toString(), "--tokens", ids.toString(),
                    "--n-predict", Integer.toString(nPredict), "--threads", "2", "--out", out.toString()));
            if (allTensors) cmd.add("--all-tensors");
            exec(cmd, "cgap_llama_ref");
            return parse(Files.readAllBytes(out));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // temp file
                }
            }
        }
    }

    /** The GGUF of an HF folder, converted once per content (config.json, safetensors, converter script). */
    public static Path gguf(Path hfModelDir) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(Files.readAllBytes(toolDir().resolve("hf_to_gguf.py")));
            List<Path> files;
            try (Stream<Path> s = Files.list(hfModelDir)) {
                files = s.filter(f -> {
                    String n = f.getFileName().toString();
                    return n.equals("config.json") || n.equals("tokenizer.json") || n.endsWith(".safetensors") || n.equals("model.safetensors.index.json");
                }).sorted().toList();
            }
            for (Path f : files) {
                md.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                md.update(Files.readAllBytes(f));
            }
            String hash = HexFormat.of().formatHex(md.digest()).substring(0, 24);
            Path cache = repoRoot().resolve("target/llamacpp-gguf");
            Files.createDirectories(cache);
            Path gguf = cache.resolve(hfModelDir.getFileName() + "-" + hash + ".gguf");
            if (Files.isRegularFile(gguf)) return gguf;
            Path tmp = Files.createTempFile(cache, "convert", ".gguf");
            try {
                exec(List.of("python3", toolDir().resolve("hf_to_gguf.py").toString(), hfModelDir.toAbsolutePath().toString(), tmp.toString()), "hf_to_gguf.py");
                Files.move(tmp, gguf, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return gguf;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void exec(List<String> cmd, String what) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(what + " timed out: " + String.join(" ", cmd));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + " interrupted");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(what + " failed (exit " + p.exitValue() + "): " + String.join(" ", cmd)
                    + "\n" + new String(output, StandardCharsets.UTF_8));
        }
    }

    /** Parses the tool's CGAPREF1 output. */
    public static Result parse(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        b.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("CGAPREF1")) throw new IllegalStateException("not a CGAPREF1 file");
        int nVocab = b.getInt(), nEmbd = b.getInt(), nLayer = b.getInt(), nTokens = b.getInt(), nGen = b.getInt(), nTensors = b.getInt();
        int[] tokens = new int[nTokens];
        for (int i = 0; i < nTokens; i++) tokens[i] = b.getInt();
        int[] gen = new int[nGen];
        for (int i = 0; i < nGen; i++) gen[i] = b.getInt();
        Map<String, float[][]> all = new LinkedHashMap<>();
        for (int t = 0; t < nTensors; t++) {
            byte[] name = new byte[b.getInt()];
            b.get(name);
            int rows = b.getInt(), cols = b.getInt();
            float[][] data = new float[rows][cols];
            for (float[] row : data) {
                for (int j = 0; j < cols; j++) row[j] = b.getFloat();
            }
            all.put(new String(name, StandardCharsets.UTF_8), data);
        }
        float[][] logits = all.remove("logits");
        if (logits == null || logits.length != nTokens || (nTokens > 0 && logits[0].length != nVocab)) {
            throw new IllegalStateException("CGAPREF1: missing or misshapen logits");
        }
        float[][][] layerOut = new float[nLayer][][];
        for (int l = 0; l < nLayer; l++) {
            layerOut[l] = all.remove("l_out-" + l);
            if (layerOut[l] == null) throw new IllegalStateException("CGAPREF1: no l_out-" + l + " captured");
            if (layerOut[l].length != nTokens || layerOut[l][0].length != nEmbd) {
                throw new IllegalStateException("CGAPREF1: l_out-" + l + " is " + layerOut[l].length + "x" + layerOut[l][0].length);
            }
        }
        return new Result(logits, layerOut, all, gen, tokens);
    }
}
