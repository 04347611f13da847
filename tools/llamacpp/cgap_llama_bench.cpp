// cgap_llama_bench: times llama.cpp's prefill and greedy decode on a GGUF, for bench/e2e (cgap.bench.EndToEnd).
//
// Usage:
//   cgap_llama_bench MODEL.gguf --tokens 1,2,3 [--decode N] [--threads T] [--warmup 0|1]
//
// The same work cgap's side of the benchmark does, in one process:
//   load the model (CPU only, mmap), create a context with T threads (n_threads = n_threads_batch = T),
//   an F32 KV cache (type_k = type_v = F32, as cgap's KV cache and cgap_llama_ref), flash attention off
//   (as cgap_llama_ref), one sequence, n_batch = n_ubatch >= the prompt length;
//   warm-up (unless --warmup 0): the whole timed sequence below once, then the KV cache is cleared;
//   prefill: the prompt's token ids (no BOS added) in ONE llama_decode, logits for the last position only,
//            then argmax of those logits (timed);
//   decode:  N single-token llama_decode calls, each fed the argmax of the previous logits (greedy), each
//            followed by its own argmax (timed). N steps are timed regardless of the tokens chosen (no EOS stop).
// Wall times are CLOCK_MONOTONIC (std::chrono::steady_clock).
//
// Output: one line on stdout,
//   prefill_ms=<f> decode_ms=<f> n_prompt=<n> n_decode=<N> warm_prefill_ms=<f> warm_decode_ms=<f> load_ms=<f>
//   peak_rss_kb=<getrusage ru_maxrss> threads=<T> first=<first generated id> last=<last generated id>
// (warm_* are the warm-up run's times, i.e. the first run after loading; -1 with --warmup 0.)
//
// Environment: CGAP_GGML_BACKEND_DIR overrides the directory the CPU backend variants are loaded from
// (default: the directory baked in at build time, CGAP_GGML_BACKEND_DIR macro); CGAP_LLAMA_VERBOSE=1 shows logs.

#define CGAP_TOOL_NAME "cgap_llama_bench"
#include "cgap_llama_common.h" // also llama.h, the ggml headers and the standard headers both tools use

#include <sys/resource.h>

#include <chrono>

namespace {

using cgap::argmax;
using cgap::die;
using cgap::parse_tokens;

double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

struct Timing {
    double prefill_ms = 0, decode_ms = 0;
    int first = -1, last = -1;
};

// One prefill + n_decode greedy steps on an empty KV cache.
Timing run_once(llama_context * ctx, const std::vector<llama_token> & tokens, int n_decode, int n_vocab) {
    Timing t;
    llama_batch batch = cgap::prompt_batch(tokens, false);
    llama_batch one = llama_batch_init(1, 0, 1);

    double t0 = now_ms();
    if (llama_decode(ctx, batch) != 0) die("llama_decode failed on the prompt");
    const float * logits = llama_get_logits_ith(ctx, -1);
    if (!logits) die("no logits after the prompt");
    int next = argmax(logits, n_vocab);
    double t1 = now_ms();
    t.prefill_ms = t1 - t0;
    t.first = next;

    llama_pos pos = static_cast<llama_pos>(tokens.size());
    double t2 = now_ms();
    for (int k = 0; k < n_decode; ++k) {
        cgap::set_step(one, next, pos++);
        if (llama_decode(ctx, one) != 0) die("llama_decode failed while decoding");
        const float * l = llama_get_logits_ith(ctx, 0);
        if (!l) die("no logits while decoding");
        next = argmax(l, n_vocab);
    }
    t.decode_ms = now_ms() - t2;
    t.last = next;
    llama_batch_free(one);
    llama_batch_free(batch);
    return t;
}

} // namespace

int main(int argc, char ** argv) {
    std::string model_path, tokens_arg;
    int n_decode = 64, n_threads = 2, warmup = 1;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "--tokens") tokens_arg = next();
        else if (a == "--decode") n_decode = atoi(next().c_str());
        else if (a == "--threads") n_threads = atoi(next().c_str());
        else if (a == "--warmup") warmup = atoi(next().c_str());
        else if (a.rfind("--", 0) == 0) die("unknown option " + a);
        else if (model_path.empty()) model_path = a;
        else die("unexpected argument " + a);
    }
    if (model_path.empty() || tokens_arg.empty() || n_decode < 0 || n_threads < 1) {
        die("usage: cgap_llama_bench MODEL.gguf --tokens 1,2,3 [--decode N] [--threads T] [--warmup 0|1]");
    }
    std::vector<llama_token> tokens = parse_tokens(tokens_arg);
    if (tokens.empty()) die("no tokens");

    cgap::init_backends();

    double tl0 = now_ms();
    llama_model * model = cgap::load_model(model_path);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    cgap::check_tokens(tokens, n_vocab);

    const uint32_t n_total = static_cast<uint32_t>(tokens.size() + n_decode);
    llama_context_params cparams = cgap::context_params(n_total, static_cast<uint32_t>(tokens.size()), n_threads);
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) die("failed to create context");
    const double load_ms = now_ms() - tl0;

    Timing warm{-1, -1, -1, -1};
    if (warmup) {
        warm = run_once(ctx, tokens, n_decode, n_vocab);
        llama_memory_clear(llama_get_memory(ctx), true);
    }
    Timing t = run_once(ctx, tokens, n_decode, n_vocab);

    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    printf("prefill_ms=%.3f decode_ms=%.3f n_prompt=%zu n_decode=%d warm_prefill_ms=%.3f warm_decode_ms=%.3f "
           "load_ms=%.3f peak_rss_kb=%ld threads=%d first=%d last=%d\n",
           t.prefill_ms, t.decode_ms, tokens.size(), n_decode, warm.prefill_ms, warm.decode_ms, load_ms,
           ru.ru_maxrss, n_threads, t.first, t.last);
    fflush(stdout);

    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
