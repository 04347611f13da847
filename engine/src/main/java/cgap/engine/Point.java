package cgap.engine;

import java.util.Locale;

/**
 * Named activation points of a decoder block, after TransformerLens/pyvene. For block l:
 * <ul>
 *   <li>{@code resid_pre}: the block's input (the residual stream before it);</li>
 *   <li>{@code attn_out}: the attention module's output, o_proj, before any post-attention norm;</li>
 *   <li>{@code resid_mid}: the residual stream after the attention branch has been added;</li>
 *   <li>{@code mlp_in}: the input of the MLP's projections (after the pre-MLP norm where the family has one);</li>
 *   <li>{@code mlp_out}: the MLP module's output, down_proj, before any post-MLP norm (Gemma 3, OLMo 2);</li>
 *   <li>{@code resid_post}: the block's output h_l, the residual stream the lenses decode.</li>
 * </ul>
 * MLP interventions act between {@code mlp_in} and {@code mlp_out}: norms and everything else stay the host's.
 */
public enum Point {
    RESID_PRE, ATTN_OUT, RESID_MID, MLP_IN, MLP_OUT, RESID_POST;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Point parse(String s) {
        for (Point p : values()) if (p.id().equals(s)) return p;
        throw new IllegalArgumentException("unknown activation point '" + s + "' (known: resid_pre, attn_out, resid_mid, mlp_in, mlp_out, resid_post)");
    }
}
