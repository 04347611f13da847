package cgap.engine.model;

/** Where an RMSNorm is applied to queries and keys before RoPE. */
public enum QkNorm {
    NONE,
    /** One norm of width head_dim shared by every head (Qwen3, Gemma 3). */
    PER_HEAD,
    /** One norm over the whole projection, width heads*head_dim (OLMo 2). */
    FULL
}
