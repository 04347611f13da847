#!/usr/bin/env python3
"""cgap's own Hugging Face folder -> GGUF converter, for the llama.cpp reference harness.

Usage: python3 hf_to_gguf.py HF_DIR OUT.gguf

Reads config.json + model.safetensors (or model.safetensors.index.json shards; F32 / BF16 / F16 tensors)
and writes a GGUF that llama.cpp loads, with the gguf-py package shipped in llama.cpp's source
(tools/llamacpp/build/llama.cpp/gguf-py, unpacked by setup.sh; env CGAP_GGUF_PY overrides) as the writer.
Only numpy is needed (no torch, no transformers).

It follows llama.cpp's convert_hf_to_gguf.py (conversion/{base,llama,qwen,gemma,olmo}.py) conventions:
  * Llama / Mistral (arch "llama", rope NORM = interleaved pairs): q_proj/k_proj rows are permuted back from
    HF's rotate-half layout: w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).reshape(rows, cols),
    with n_head = num_key_value_heads for k_proj. llama.vocab_size and llama.rope.dimension_count written.
    rope_scaling.rope_type == "llama3" -> tensor rope_freqs.weight (F32, head_dim/2 divisors), computed
    exactly as LlamaModel.generate_extra_tensors does (in float32).
  * Qwen2 (qkv bias), Qwen3 (per-head q_norm/k_norm), OLMo 2 (q_norm/k_norm over the whole projection,
    post-attention / post-feedforward norms, no pre-norms): rope NEOX (= HF rotate-half), no permutation.
  * Gemma 3 (text stack; multimodal Gemma3ForConditionalGeneration: text_config is merged over the root,
    "language_model." is stripped from names, vision tower / projector tensors are dropped): every
    "*norm.weight" gets +1 (Gemma3RMSNorm computes x * (1 + w)); rope NEOX; rope.freq_base = rope_theta
    (global layers), rope.freq_base_swa = rope_local_base_freq, the linear rope_scaling factor (global layers
    only in llama.cpp), attention.sliding_window, final_logit_softcapping when set, key/value_length = head_dim.
    cgap additions (convert_hf_to_gguf.py does neither, and llama.cpp would then differ from HF):
      - attention.sliding_window_pattern is written as a per-layer bool array from layer_types, or from
        sliding_window_pattern (layer i is local iff (i+1) % pattern != 0, HF's rule); llama.cpp's default is 6.
      - llama.cpp hard-codes the query scale to 1/sqrt(head_dim) (1/sqrt(hidden/heads) for the 62-layer 27B)
        and ignores query_pre_attn_scalar; when query_pre_attn_scalar differs from the scale llama.cpp will use,
        the (already +1) q_norm weight is multiplied by sqrt(llama_cpp_scalar / query_pre_attn_scalar), which
        is exact up to float rounding because RoPE is linear.
  * 1-D tensors and "*_norm.weight" are stored F32 (as convert_hf_to_gguf does); rope_freqs F32;
    2-D tensors keep their source dtype (F32 stays F32, BF16 stays BF16, F16 stays F16).
  * tie_word_embeddings: no output.weight (llama.cpp duplicates token_embd). An lm_head.weight that is present
    in a tied checkpoint is dropped.
Vocabulary: tokenizer.json with a SentencePiece-style BPE (byte_fallback / "\u2581") -> tokenizer model "llama"
(tokens by id, score -id, types NORMAL/UNKNOWN/CONTROL/BYTE); a byte-level BPE -> "gpt2" with merges
(pre "default"); otherwise (synthetic models) a minimal SentencePiece vocab: <unk> <s> </s>, the 256 byte
tokens <0x00>..<0xFF>, then "\u2581t<id>". Either way padded to config vocab_size with [PAD<id>] (UNUSED).
The harness feeds token ids directly, so the vocabulary only has to be valid and of the right size.
"""
from __future__ import annotations

import json
import math
import os
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CGAP_GGUF_PY", str(HERE / "build" / "llama.cpp" / "gguf-py")))
import gguf  # noqa: E402

ARCHES = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
    "Gemma3ForCausalLM": "gemma3",
    "Gemma3ForConditionalGeneration": "gemma3",
    "Olmo2ForCausalLM": "olmo2",
}
GGUF_ARCH = {
    "llama": gguf.MODEL_ARCH.LLAMA,
    "qwen2": gguf.MODEL_ARCH.QWEN2,
    "qwen3": gguf.MODEL_ARCH.QWEN3,
    "gemma3": gguf.MODEL_ARCH.GEMMA3,
    "olmo2": gguf.MODEL_ARCH.OLMO2,
}

# transformers' Gemma3TextConfig defaults: released Gemma 3 text_configs name only what differs from these
# (convert_hf_to_gguf.py gets them through AutoConfig).
GEMMA3_TEXT_DEFAULTS = {
    "vocab_size": 262208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "rms_norm_eps": 1e-6,
    "rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0, "query_pre_attn_scalar": 256,
    "sliding_window": 4096, "sliding_window_pattern": 6, "max_position_embeddings": 131072,
    "final_logit_softcapping": None, "attn_logit_softcapping": None, "tie_word_embeddings": True,
}

ST_DTYPES = {"F32": (np.float32, 4), "BF16": (np.uint16, 2), "F16": (np.float16, 2)}


def read_safetensors(path: Path) -> dict[str, tuple[str, np.ndarray]]:
    """name -> (dtype string, float32 array)."""
    out = {}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in ST_DTYPES:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dt}")
        npdt, size = ST_DTYPES[dt]
        start, end = info["data_offsets"]
        shape = tuple(info["shape"])
        raw = np.frombuffer(mm[base + start: base + end].tobytes(), dtype=npdt)
        if dt == "BF16":
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            arr = raw.astype(np.float32)
        out[name] = (dt, arr.reshape(shape))
    return out


def load_tensors(d: Path) -> dict[str, tuple[str, np.ndarray]]:
    single = d / "model.safetensors"
    if single.is_file():
        return read_safetensors(single)
    index = d / "model.safetensors.index.json"
    if not index.is_file():
        raise FileNotFoundError(f"{d}: neither model.safetensors nor model.safetensors.index.json")
    files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    out = {}
    for fn in files:
        out.update(read_safetensors(d / fn))
    return out


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """convert_hf_to_gguf LlamaModel.permute: HF rotate-half rows -> llama.cpp interleaved-pair rows."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_factors(rp: dict, hp: dict) -> np.ndarray:
    base = np.float32(rp.get("rope_theta", hp.get("rope_theta", 10000.0)))
    dim = hp.get("head_dim") or hp["hidden_size"] // hp["num_attention_heads"]
    freqs = np.float32(1.0) / (base ** (np.arange(0, dim, 2, dtype=np.float32) / np.float32(dim)))
    factor = rp.get("factor", 8.0)
    low_freq_factor = rp.get("low_freq_factor", 1.0)
    high_freq_factor = rp.get("high_freq_factor", 4.0)
    old_context_len = rp.get("original_max_position_embeddings", 8192)
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    out = []
    for freq in freqs:
        wavelen = np.float32(2 * math.pi) / freq
        if wavelen < high_freq_wavelen:
            out.append(1.0)
        elif wavelen > low_freq_wavelen:
            out.append(factor)
        else:
            smooth = (np.float32(old_context_len) / wavelen - np.float32(low_freq_factor)) / np.float32(high_freq_factor - low_freq_factor)
            out.append(np.float32(1) / ((np.float32(1) - smooth) / np.float32(factor) + smooth))
    return np.array(out, dtype=np.float32)


def write_vocab(w: gguf.GGUFWriter, d: Path, hp: dict, n_vocab: int) -> None:
    tt = gguf.TokenType
    tokens: list[str] = []
    types: list[int] = []
    scores: list[float] = []
    merges = None
    model = "llama"
    tj_path = d / "tokenizer.json"
    tj = json.loads(tj_path.read_text(encoding="utf-8")) if tj_path.is_file() else None
    if tj is not None and tj.get("model", {}).get("type") == "BPE":
        vocab = dict(tj["model"]["vocab"])
        added = {a["id"]: a for a in tj.get("added_tokens", [])}
        for a in added.values():
            vocab.setdefault(a["content"], a["id"])
        by_id = {i: t for t, i in vocab.items()}
        size = max(n_vocab, max(by_id) + 1)
        spm = bool(tj["model"].get("byte_fallback")) or any("\u2581" in t for t in list(vocab)[:2000])
        model = "llama" if spm else "gpt2"
        for i in range(size):
            t = by_id.get(i)
            if t is None:
                tokens.append(f"[PAD{i}]"); types.append(tt.UNUSED); scores.append(-1e4)
                continue
            tokens.append(t)
            scores.append(float(-i))
            if i in added and added[i].get("special"):
                types.append(tt.UNKNOWN if t == "<unk>" else tt.CONTROL)
            elif i in added:
                types.append(tt.USER_DEFINED)
            elif spm and len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
                types.append(tt.BYTE)
            else:
                types.append(tt.NORMAL)
        if not spm:
            merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"].get("merges", [])]
    else:
        base = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
        btypes = [tt.UNKNOWN, tt.CONTROL, tt.CONTROL] + [tt.BYTE] * 256
        if n_vocab < len(base):
            base, btypes = base[:3], btypes[:3]
        for i in range(n_vocab):
            if i < len(base):
                tokens.append(base[i]); types.append(btypes[i])
            else:
                tokens.append(f"\u2581t{i}"); types.append(tt.NORMAL)
            scores.append(float(-i))
    if len(tokens) > n_vocab:
        print(f"hf_to_gguf: warning: tokenizer has {len(tokens)} tokens, config vocab_size {n_vocab}; truncating",
              file=sys.stderr)
        tokens, types, scores = tokens[:n_vocab], types[:n_vocab], scores[:n_vocab]
    w.add_tokenizer_model(model)
    if model == "gpt2":
        w.add_tokenizer_pre("default")
        w.add_token_merges(merges or [])
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)

    def first_id(v):
        return v[0] if isinstance(v, list) else v
    if (b := first_id(hp.get("bos_token_id"))) is not None and b < n_vocab:
        w.add_bos_token_id(b)
    if (e := first_id(hp.get("eos_token_id"))) is not None and e < n_vocab:
        w.add_eos_token_id(e)
    if model == "llama":
        w.add_unk_token_id(0)
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)


def convert(d: Path, out: Path) -> None:
    cfg = json.loads((d / "config.json").read_text())
    hf_arch = (cfg.get("architectures") or [None])[0]
    if hf_arch not in ARCHES:
        raise SystemExit(f"hf_to_gguf: unsupported architecture {hf_arch!r}")
    fam = ARCHES[hf_arch]
    hp = {**cfg, **cfg["text_config"]} if "text_config" in cfg else dict(cfg)
    arch = GGUF_ARCH[fam]
    if fam == "gemma3":
        hp = {**GEMMA3_TEXT_DEFAULTS, **hp}
    n_layer = hp["num_hidden_layers"]
    n_head = hp.get("num_attention_heads", 8 if fam == "gemma3" else None)
    n_head_kv = hp.get("num_key_value_heads", 4 if fam == "gemma3" else n_head)
    n_embd = hp["hidden_size"]
    head_dim = hp.get("head_dim") or (256 if fam == "gemma3" else n_embd // n_head)
    n_vocab = hp["vocab_size"]
    tied = bool(hp.get("tie_word_embeddings", cfg.get("tie_word_embeddings", fam == "gemma3")))

    # rope parameters, as TextModel.__init__ gathers them
    rp = dict(hp.get("rope_parameters") or hp.get("rope_scaling") or {})
    if "full_attention" in rp:
        rp_full = dict(rp["full_attention"])
        local_theta = rp.get("sliding_attention", {}).get("rope_theta")
    else:
        rp_full = rp
        if "rope_type" not in rp_full and "type" in rp_full:
            rp_full["rope_type"] = rp_full["type"]
        rp_full.setdefault("rope_theta", hp.get("rope_theta"))
        local_theta = hp.get("rope_local_base_freq", hp.get("local_rope_theta"))

    tmp = out.with_name(out.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[arch])
    w.add_name(d.name)
    w.add_block_count(n_layer)
    w.add_context_length(hp.get("max_position_embeddings", 131072 if fam == "gemma3" else 4096))
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(hp["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_layer_norm_rms_eps(hp.get("rms_norm_eps", 1e-6))
    if hp.get("head_dim") is not None or fam == "gemma3":
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    if rp_full.get("rope_theta") is not None:
        w.add_rope_freq_base(float(rp_full["rope_theta"]))
    elif fam == "gemma3":
        w.add_rope_freq_base(1_000_000.0)
    rope_type = rp_full.get("rope_type")
    factor = rp_full.get("factor")
    if rope_type == "linear" and factor is not None:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(factor))
    elif rope_type == "yarn" and factor is not None:
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(float(factor))
        w.add_rope_scaling_orig_ctx_len(rp_full["original_max_position_embeddings"])
    elif rope_type not in (None, "default", "llama3"):
        raise SystemExit(f"hf_to_gguf: unsupported rope type {rope_type!r}")
    if local_theta is not None:
        w.add_rope_freq_base_swa(float(local_theta))

    if fam == "llama":
        w.add_vocab_size(n_vocab)
        w.add_rope_dimension_count(head_dim)

    q_norm_scale = 1.0
    if fam == "gemma3":
        assert hp.get("attn_logit_softcapping") is None, "attn_logit_softcapping is not part of Gemma 3"
        if hp.get("final_logit_softcapping"):
            w.add_final_logit_softcapping(float(hp["final_logit_softcapping"]))
        pattern = hp.get("sliding_window_pattern", 6)
        if pattern != 1 and hp.get("sliding_window"):
            w.add_sliding_window(int(hp["sliding_window"]))
            if hp.get("layer_types"):
                w.add_sliding_window_pattern([t == "sliding_attention" for t in hp["layer_types"]])
            else:
                w.add_sliding_window_pattern([(i + 1) % pattern != 0 for i in range(n_layer)])
        llama_scalar = (n_embd / n_head) if n_layer == 62 else float(head_dim)
        qpas = float(hp.get("query_pre_attn_scalar", head_dim))
        if qpas != llama_scalar:
            q_norm_scale = math.sqrt(llama_scalar / qpas)
    if fam == "olmo2" and "sliding_window" in hp and hp["sliding_window"]:
        w.add_sliding_window(int(hp["sliding_window"]))
        if "layer_types" in hp:
            w.add_sliding_window_pattern([t == "sliding_attention" for t in hp["layer_types"]])
        else:
            w.add_sliding_window_pattern([(i + 1) % 4 != 0 for i in range(n_layer)])

    tensors = load_tensors(d)
    tmap = gguf.get_tensor_name_map(arch, n_layer)
    ftype = gguf.LlamaFileType.ALL_F32
    out_tensors: list[tuple[str, np.ndarray, gguf.GGMLQuantizationType | None]] = []

    if fam == "llama" and rp_full.get("rope_type") == "llama3":
        out_tensors.append(("rope_freqs.weight", llama3_rope_factors(rp_full, hp), None))

    for name, (dt, arr) in tensors.items():
        if name.endswith(".rotary_emb.inv_freq"):
            continue
        if "language_model." in name:
            name = name.replace("language_model.", "")
        if name.startswith(("vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector.", "vision_model.")):
            continue
        if tied and name == "lm_head.weight":
            continue
        if fam == "llama":
            if name.endswith(("q_proj.weight", "q_proj.bias")):
                arr = permute(arr, n_head)
            elif name.endswith(("k_proj.weight", "k_proj.bias")):
                arr = permute(arr, n_head_kv)
        if fam == "gemma3" and name.endswith("norm.weight"):
            arr = arr + np.float32(1.0)
            if name.endswith("self_attn.q_norm.weight") and q_norm_scale != 1.0:
                arr = (arr.astype(np.float64) * q_norm_scale).astype(np.float32)
        new_name = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise SystemExit(f"hf_to_gguf: cannot map tensor {name!r} for {fam}")
        if arr.ndim <= 1 or new_name.endswith("_norm.weight"):
            out_tensors.append((new_name, np.ascontiguousarray(arr, dtype=np.float32), None))
        elif dt == "BF16":
            bits = (np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)
            out_tensors.append((new_name, bits, gguf.GGMLQuantizationType.BF16))
            ftype = gguf.LlamaFileType.MOSTLY_BF16
        elif dt == "F16":
            out_tensors.append((new_name, arr.astype(np.float16), None))
            ftype = gguf.LlamaFileType.MOSTLY_F16
        else:
            out_tensors.append((new_name, np.ascontiguousarray(arr, dtype=np.float32), None))

    w.add_file_type(ftype)
    write_vocab(w, d, hp, n_vocab)
    for name, arr, raw in out_tensors:
        if raw is None:
            w.add_tensor(name, arr)
        else:
            w.add_tensor(name, arr, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, out)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: hf_to_gguf.py HF_DIR OUT.gguf")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))


if __name__ == "__main__":
    main()
