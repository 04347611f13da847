// cgap_llama_ref: llama.cpp reference dump for cgap's engine tests.
//
// Usage:
//   cgap_llama_ref MODEL.gguf --tokens 1,2,3 [--n-predict N] [--threads T] [--all-tensors] --out FILE
//
// Runs MODEL on exactly the given token ids (no tokenization, no BOS added) in ONE llama_decode
// (1 sequence, positions 0..n-1, logits requested for every position), with an F32 KV cache
// (type_k = type_v = F32), flash attention off, 2 threads by default. Through the eval callback
// (llama_context_params.cb_eval) it captures, for every position, the graph tensors named
//   l_out-<il>           block (residual stream) output of layer il
//   kqv_out-<il>         attention heads' output, concatenated, before o_proj (all families)
//   attn_out-<il>        o_proj output (Llama/Mistral only; Qwen2/3 graphs do not name it)
//   attn_post_norm-<il>  post-attention norm of the o_proj output (Gemma 3, OLMo 2)
//   ffn_inp-<il>         residual after the attention half (Llama/Mistral/Qwen2/Qwen3/OLMo 2)
//   sa_out-<il>          the same for Gemma 3
//   ffn_out-<il>         MLP output (down_proj, before any post-norm and the residual add)
//   ffn_post_norm-<il>   post-feedforward norm of the MLP output (Gemma 3; OLMo 2's graph leaves it unnamed)
//   result_norm          final norm output
//   result_output        unembedding output (logits before Gemma's final softcapping)
// (--all-tensors captures every 2-D F32 graph tensor whose second dimension equals the token count.)
// Then, when --n-predict N > 0, it greedy-decodes N tokens (argmax of the last logits, fed back one
// at a time) and records them. The prompt's tensors are the only ones dumped.
//
// Output FILE, little-endian, self-describing:
//   char[8]  magic "CGAPREF1"
//   int32    n_vocab, n_embd, n_layer, n_tokens, n_generated, n_tensors
//   int32    tokens[n_tokens]
//   int32    generated[n_generated]
//   n_tensors records, each:
//     int32  name_len; char name[name_len] (UTF-8, no terminator)
//     int32  rows, cols                    (rows = positions, cols = width)
//     float  data[rows * cols]             (row-major: data[pos * cols + j])
//   The first record is always "logits" [n_tokens x n_vocab] (llama_get_logits_ith, i.e. after
//   any final logit softcapping). Records follow in the order the graph first evaluated them.
//
// Environment: CGAP_GGML_BACKEND_DIR overrides the directory the CPU backend variants are loaded from
// (default: the directory baked in at build time, CGAP_GGML_BACKEND_DIR macro).

#define CGAP_TOOL_NAME "cgap_llama_ref"
#include "cgap_llama_common.h" // also llama.h, the ggml headers and the standard headers both tools use

#include <cstring>
#include <map>

namespace {

using cgap::die;
using cgap::parse_tokens;

struct Captured {
    std::string name;
    int64_t rows = 0, cols = 0;
    std::vector<float> data;
};

struct CaptureState {
    bool active = true;
    bool all = false;
    int64_t n_tokens = 0;
    std::vector<Captured> tensors;          // in first-seen order
    std::map<std::string, size_t> index;
};

bool wanted_name(const char * name) {
    static const char * prefixes[] = {"l_out-", "attn_out-", "ffn_out-", "ffn_inp-", "kqv_out-", "attn_post_norm-",
                                      "sa_out-", "ffn_post_norm-"};
    for (const char * p : prefixes) {
        if (strncmp(name, p, strlen(p)) == 0) return true;
    }
    return strcmp(name, "result_norm") == 0 || strcmp(name, "result_output") == 0;
}

bool eval_cb(struct ggml_tensor * t, bool ask, void * user_data) {
    auto * st = static_cast<CaptureState *>(user_data);
    if (!st->active) return ask ? false : true;
    const bool shape_ok = t->type == GGML_TYPE_F32 && t->ne[2] == 1 && t->ne[3] == 1 && t->ne[1] == st->n_tokens;
    const bool want = shape_ok && (st->all ? t->name[0] != '\0' : wanted_name(t->name));
    if (ask) return want;
    if (!want) return true;

    Captured c;
    c.name = t->name;
    c.rows = t->ne[1];
    c.cols = t->ne[0];
    c.data.resize(static_cast<size_t>(c.rows * c.cols));
    for (int64_t r = 0; r < c.rows; ++r) {
        ggml_backend_tensor_get(t, c.data.data() + r * c.cols, static_cast<size_t>(r * t->nb[1]),
                                static_cast<size_t>(c.cols) * sizeof(float));
    }
    auto it = st->index.find(c.name);
    if (it == st->index.end()) {
        st->index[c.name] = st->tensors.size();
        st->tensors.push_back(std::move(c));
    } else {
        st->tensors[it->second] = std::move(c);
    }
    return true;
}

void write_i32(FILE * f, int32_t v) { fwrite(&v, 4, 1, f); }

} // namespace

int main(int argc, char ** argv) {
    std::string model_path, out_path, tokens_arg;
    int n_predict = 0, n_threads = 2;
    bool all = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "--tokens") tokens_arg = next();
        else if (a == "--n-predict") n_predict = atoi(next().c_str());
        else if (a == "--threads") n_threads = atoi(next().c_str());
        else if (a == "--out") out_path = next();
        else if (a == "--all-tensors") all = true;
        else if (a.rfind("--", 0) == 0) die("unknown option " + a);
        else if (model_path.empty()) model_path = a;
        else die("unexpected argument " + a);
    }
    if (model_path.empty() || out_path.empty() || tokens_arg.empty()) {
        die("usage: cgap_llama_ref MODEL.gguf --tokens 1,2,3 [--n-predict N] [--threads T] [--all-tensors] --out FILE");
    }
    std::vector<llama_token> tokens = parse_tokens(tokens_arg);
    if (tokens.empty()) die("no tokens");

    cgap::init_backends();

    llama_model * model = cgap::load_model(model_path);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    const int n_embd = llama_model_n_embd(model);
    const int n_layer = llama_model_n_layer(model);
    cgap::check_tokens(tokens, n_vocab);

    CaptureState st;
    st.all = all;
    st.n_tokens = static_cast<int64_t>(tokens.size());

    const uint32_t n_total = static_cast<uint32_t>(tokens.size() + std::max(n_predict, 0));
    llama_context_params cparams = cgap::context_params(n_total, static_cast<uint32_t>(tokens.size()), n_threads);
    cparams.cb_eval = eval_cb;
    cparams.cb_eval_user_data = &st;
    cparams.swa_full = true;
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) die("failed to create context");

    llama_batch batch = cgap::prompt_batch(tokens, true);
    if (llama_decode(ctx, batch) != 0) die("llama_decode failed on the prompt");
    st.active = false;

    Captured logits;
    logits.name = "logits";
    logits.rows = static_cast<int64_t>(tokens.size());
    logits.cols = n_vocab;
    logits.data.resize(static_cast<size_t>(logits.rows * logits.cols));
    for (int64_t i = 0; i < logits.rows; ++i) {
        const float * l = llama_get_logits_ith(ctx, static_cast<int32_t>(i));
        if (!l) die("no logits for position " + std::to_string(i));
        memcpy(logits.data.data() + i * n_vocab, l, sizeof(float) * static_cast<size_t>(n_vocab));
    }

    std::vector<int32_t> generated;
    {
        const float * last = logits.data.data() + (logits.rows - 1) * n_vocab;
        llama_pos pos = static_cast<llama_pos>(tokens.size());
        llama_batch one = llama_batch_init(1, 0, 1);
        for (int k = 0; k < n_predict; ++k) {
            const int best = cgap::argmax(last, n_vocab);
            generated.push_back(best);
            if (k + 1 == n_predict) break;
            cgap::set_step(one, best, pos++);
            if (llama_decode(ctx, one) != 0) die("llama_decode failed while generating");
            last = llama_get_logits_ith(ctx, 0);
            if (!last) die("no logits while generating");
        }
        llama_batch_free(one);
    }

    FILE * f = fopen(out_path.c_str(), "wb");
    if (!f) die("cannot write " + out_path);
    fwrite("CGAPREF1", 1, 8, f);
    write_i32(f, n_vocab);
    write_i32(f, n_embd);
    write_i32(f, n_layer);
    write_i32(f, static_cast<int32_t>(tokens.size()));
    write_i32(f, static_cast<int32_t>(generated.size()));
    write_i32(f, static_cast<int32_t>(st.tensors.size() + 1));
    for (llama_token t : tokens) write_i32(f, t);
    for (int32_t t : generated) write_i32(f, t);
    auto write_tensor = [&](const Captured & c) {
        write_i32(f, static_cast<int32_t>(c.name.size()));
        fwrite(c.name.data(), 1, c.name.size(), f);
        write_i32(f, static_cast<int32_t>(c.rows));
        write_i32(f, static_cast<int32_t>(c.cols));
        fwrite(c.data.data(), sizeof(float), c.data.size(), f);
    };
    write_tensor(logits);
    for (const Captured & c : st.tensors) write_tensor(c);
    if (fclose(f) != 0) die("error writing " + out_path);

    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
