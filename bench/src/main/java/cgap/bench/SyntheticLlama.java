package cgap.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A seeded random Llama-2-style checkpoint of any size in Hugging Face layout ({@code config.json} +
 * {@code model.safetensors}), for timing. Unlike the engine's test {@code TinyModels} (fixed tiny shapes, every
 * weight held on the heap) it streams each tensor to disk, so a 16-layer d = 1024 model needs no more memory than
 * one write buffer.
 *
 * <p>Weights: uniform with the standard deviation TinyModels uses (1/√fan-in for projections, 1 for the embedding,
 * 2/√d for the untied lm_head), norm weights 1 ± 0.1; BF16 values are rounded to nearest even. Same config keys as
 * the Llama-2 family of TinyModels (rope_theta 10000, no rope scaling, untied lm_head, rms_norm_eps 1e-5).
 */
public record SyntheticLlama(int layers, int hidden, int heads, int kvHeads, int intermediate, int vocab, String dtype, long seed) {
    public SyntheticLlama {
        if (!dtype.equals("F32") && !dtype.equals("BF16")) throw new IllegalArgumentException("dtype " + dtype + " (F32 or BF16)");
        if (hidden % heads != 0 || heads % kvHeads != 0) throw new IllegalArgumentException("hidden " + hidden + ", heads " + heads + ", kv heads " + kvHeads);
        if ((hidden / heads) % 2 != 0) throw new IllegalArgumentException("head_dim must be even");
    }

    public int headDim() {
        return hidden / heads;
    }

    /** A directory name that identifies the shape, dtype and seed (for caching). */
    public String id() {
        return String.format(Locale.ROOT, "llama-L%d-d%d-h%d-kv%d-i%d-v%d-%s-s%d", layers, hidden, heads, kvHeads, intermediate, vocab,
                dtype.toLowerCase(Locale.ROOT), seed);
    }

    /** Parameter count (embedding and lm_head included). */
    public long parameters() {
        long d = hidden, q = (long) heads * headDim(), kv = (long) kvHeads * headDim(), i = intermediate;
        long perLayer = 2 * d + d * q + 2 * d * kv + q * d + 3 * d * i;
        return 2L * vocab * d + layers * perLayer + d;
    }

    private record T(String name, long[] shape, double std, double mean) {
        long count() {
            long n = 1;
            for (long s : shape) n *= s;
            return n;
        }
    }

    private List<T> tensors() {
        int q = heads * headDim(), kv = kvHeads * headDim();
        List<T> t = new ArrayList<>();
        t.add(new T("model.embed_tokens.weight", new long[]{vocab, hidden}, 1.0, 0));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            t.add(new T(p + "input_layernorm.weight", new long[]{hidden}, 0.1, 1));
            t.add(new T(p + "self_attn.q_proj.weight", new long[]{q, hidden}, 1 / Math.sqrt(hidden), 0));
            t.add(new T(p + "self_attn.k_proj.weight", new long[]{kv, hidden}, 1 / Math.sqrt(hidden), 0));
            t.add(new T(p + "self_attn.v_proj.weight", new long[]{kv, hidden}, 1 / Math.sqrt(hidden), 0));
            t.add(new T(p + "self_attn.o_proj.weight", new long[]{hidden, q}, 1 / Math.sqrt(q), 0));
            t.add(new T(p + "post_attention_layernorm.weight", new long[]{hidden}, 0.1, 1));
            t.add(new T(p + "mlp.gate_proj.weight", new long[]{intermediate, hidden}, 1 / Math.sqrt(hidden), 0));
            t.add(new T(p + "mlp.up_proj.weight", new long[]{intermediate, hidden}, 1 / Math.sqrt(hidden), 0));
            t.add(new T(p + "mlp.down_proj.weight", new long[]{hidden, intermediate}, 1 / Math.sqrt(intermediate), 0));
        }
        t.add(new T("model.norm.weight", new long[]{hidden}, 0.1, 1));
        t.add(new T("lm_head.weight", new long[]{vocab, hidden}, 2 / Math.sqrt(hidden), 0));
        return t;
    }

    /** Writes config.json, generation_config.json and model.safetensors into dir (created if needed); returns dir. */
    public Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config());
        Files.writeString(dir.resolve("generation_config.json"), "{\n  \"_from_model_config\": true,\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 2\n}\n");
        int es = dtype.equals("F32") ? 4 : 2;
        List<T> ts = tensors();
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long off = 0;
        for (T t : ts) {
            long bytes = t.count() * es;
            h.append(",\"").append(t.name()).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":[");
            for (int i = 0; i < t.shape().length; i++) h.append(i == 0 ? "" : ",").append(t.shape()[i]);
            h.append("],\"data_offsets\":[").append(off).append(',').append(off + bytes).append("]}");
            off += bytes;
        }
        h.append('}');
        byte[] json = h.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 8 + 7) / 8 * 8 - 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        Path tmp = dir.resolve("model.safetensors.tmp");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
            out.write(head.array());
            ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            int index = 0;
            for (T t : ts) {
                SplittableRandom r = new SplittableRandom(seed * 1_000_003L + index++);
                double a = t.std() * Math.sqrt(3); // uniform on [-a, a] has standard deviation std
                for (long i = 0, n = t.count(); i < n; i++) {
                    float v = (float) (t.mean() + a * (2 * r.nextDouble() - 1));
                    if (es == 4) buf.putFloat(v);
                    else buf.putShort(cgap.engine.safetensors.SafeTensorsWriter.toBf16(v));
                    if (!buf.hasRemaining()) {
                        out.write(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
        Files.move(tmp, dir.resolve("model.safetensors"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return dir;
    }

    private String config() {
        return String.format(Locale.ROOT, """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "attention_bias": false,
                  "attention_dropout": 0.0,
                  "bos_token_id": 1,
                  "eos_token_id": 2,
                  "hidden_act": "silu",
                  "hidden_size": %d,
                  "initializer_range": 0.02,
                  "intermediate_size": %d,
                  "max_position_embeddings": 4096,
                  "mlp_bias": false,
                  "model_type": "llama",
                  "num_attention_heads": %d,
                  "num_hidden_layers": %d,
                  "num_key_value_heads": %d,
                  "pretraining_tp": 1,
                  "rms_norm_eps": 1e-05,
                  "rope_scaling": null,
                  "rope_theta": 10000.0,
                  "tie_word_embeddings": false,
                  "torch_dtype": "%s",
                  "transformers_version": "4.31.0.dev0",
                  "use_cache": true,
                  "vocab_size": %d
                }
                """, hidden, intermediate, heads, layers, kvHeads, dtype.equals("F32") ? "float32" : "bfloat16", vocab);
    }
}
