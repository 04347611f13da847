package cgap.engine.model;

/**
 * Tensor names (relative to the decoder body prefix, {@code layers.N.} prepended) of each role in a block.
 * A null name means the family has no such tensor. Norm roles are named by where they act, not by HF's names,
 * which disagree between families (Llama's {@code post_attention_layernorm} is the pre-MLP norm; OLMo 2's is a
 * norm of the attention output).
 */
public record LayerNames(String attnPreNorm, String attnPostNorm, String mlpPreNorm, String mlpPostNorm,
                         String qNorm, String kNorm,
                         String q, String k, String v, String o, String gate, String up, String down) {

    static LayerNames standard(String attnPreNorm, String attnPostNorm, String mlpPreNorm, String mlpPostNorm,
                               String qNorm, String kNorm) {
        return new LayerNames(attnPreNorm, attnPostNorm, mlpPreNorm, mlpPostNorm, qNorm, kNorm,
                "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");
    }
}
