// Pieces shared by cgap's llama.cpp tools (cgap_llama_ref, cgap_llama_bench): log filtering, fatal errors, token
// lists, loading the CPU backends, the context both tools run (CPU only, F32 KV cache, flash attention off,
// one sequence, the whole prompt in one batch), filling the prompt's and a decode step's batches, and the greedy
// argmax. Each tool defines CGAP_TOOL_NAME before including this file.

#pragma once

#include "llama.h"
#include "ggml.h"
#include "ggml-backend.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#ifndef CGAP_GGML_BACKEND_DIR
#define CGAP_GGML_BACKEND_DIR ""
#endif

namespace cgap {

// Warnings and errors only (and their continuation lines), unless CGAP_LLAMA_VERBOSE is set.
inline void quiet_log(enum ggml_log_level level, const char * text, void *) {
    static bool last_shown = false;
    const bool show = getenv("CGAP_LLAMA_VERBOSE") != nullptr
        || (level == GGML_LOG_LEVEL_CONT ? last_shown : level >= GGML_LOG_LEVEL_WARN);
    if (level != GGML_LOG_LEVEL_CONT) last_shown = show;
    if (show) fputs(text, stderr);
}

[[noreturn]] inline void die(const std::string & msg) {
    fprintf(stderr, "%s: %s\n", CGAP_TOOL_NAME, msg.c_str());
    exit(1);
}

// "1,2,3" -> {1, 2, 3}; a non-numeric or negative id is fatal.
inline std::vector<llama_token> parse_tokens(const std::string & s) {
    std::vector<llama_token> out;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = s.find(',', i);
        if (j == std::string::npos) j = s.size();
        std::string part = s.substr(i, j - i);
        if (!part.empty()) {
            char * end = nullptr;
            long v = strtol(part.c_str(), &end, 10);
            if (*end != '\0' || v < 0) die("bad token id '" + part + "'");
            out.push_back(static_cast<llama_token>(v));
        }
        i = j + 1;
    }
    return out;
}

// Quiet logs, the CPU backend variants (from CGAP_GGML_BACKEND_DIR, else the directory baked in at build time),
// llama_backend_init.
inline void init_backends() {
    llama_log_set(quiet_log, nullptr);
    const char * dir = getenv("CGAP_GGML_BACKEND_DIR");
    if (dir == nullptr || *dir == '\0') dir = CGAP_GGML_BACKEND_DIR;
    if (*dir) ggml_backend_load_all_from_path(dir); else ggml_backend_load_all();
    llama_backend_init();
}

// The model on the CPU (mmap, no GPU layers); fatal when it does not load.
inline llama_model * load_model(const std::string & path) {
    llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(path.c_str(), mparams);
    if (!model) die("failed to load model " + path);
    return model;
}

// Context parameters both tools use: room for n_total positions, the whole prompt of n_prompt tokens in one batch,
// one sequence, T threads for both prompt and generation, F32 K/V (as cgap's cache), flash attention off.
inline llama_context_params context_params(uint32_t n_total, uint32_t n_prompt, int n_threads) {
    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = std::max<uint32_t>(256, n_total + 16);
    cparams.n_batch = std::max<uint32_t>(512, n_prompt);
    cparams.n_ubatch = cparams.n_batch;
    cparams.n_seq_max = 1;
    cparams.n_threads = n_threads;
    cparams.n_threads_batch = n_threads;
    cparams.type_k = GGML_TYPE_F32;
    cparams.type_v = GGML_TYPE_F32;
    cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cparams.no_perf = true;
    return cparams;
}

// The prompt as one batch of sequence 0, positions 0..n-1; logits for every position (all_logits) or the last only.
// Free it with llama_batch_free.
inline llama_batch prompt_batch(const std::vector<llama_token> & tokens, bool all_logits) {
    llama_batch batch = llama_batch_init(static_cast<int32_t>(tokens.size()), 0, 1);
    for (size_t i = 0; i < tokens.size(); ++i) {
        batch.token[i] = tokens[i];
        batch.pos[i] = static_cast<llama_pos>(i);
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = all_logits || i + 1 == tokens.size() ? 1 : 0;
    }
    batch.n_tokens = static_cast<int32_t>(tokens.size());
    return batch;
}

// one (a batch made by llama_batch_init(1, 0, 1)) set to a single decode step: token at pos of sequence 0, with logits.
inline void set_step(llama_batch & one, llama_token token, llama_pos pos) {
    one.token[0] = token;
    one.pos[0] = pos;
    one.n_seq_id[0] = 1;
    one.seq_id[0][0] = 0;
    one.logits[0] = 1;
    one.n_tokens = 1;
}

// The index of the largest of v[0..n) (the first of equals): the greedy next token.
inline int argmax(const float * v, int n) {
    int best = 0;
    for (int i = 1; i < n; ++i) if (v[i] > v[best]) best = i;
    return best;
}

// Dies unless every token id is below the model's vocabulary size.
inline void check_tokens(const std::vector<llama_token> & tokens, int n_vocab) {
    for (llama_token t : tokens) {
        if (t >= n_vocab) die("token id " + std::to_string(t) + " >= n_vocab " + std::to_string(n_vocab));
    }
}

} // namespace cgap
