#!/usr/bin/env python3
"""Reads cgap_llama_ref's CGAPREF1 output (format: see the top of cgap_llama_ref.cpp) and prints a summary.

Usage: python3 read_ref.py FILE [tokenizer.json]   (with a tokenizer.json, the prompt + greedy ids are decoded)
As a module: read(path) -> dict(n_vocab, n_embd, n_layer, tokens, generated, tensors={name: float32[rows, cols]}).
"""
import json
import struct
import sys

import numpy as np


def read(path):
    b = open(path, "rb").read()
    if b[:8] != b"CGAPREF1":
        raise ValueError(f"{path}: not a CGAPREF1 file")
    n_vocab, n_embd, n_layer, n_tokens, n_gen, n_tensors = struct.unpack_from("<6i", b, 8)
    o = 32
    tokens = list(struct.unpack_from(f"<{n_tokens}i", b, o)); o += 4 * n_tokens
    generated = list(struct.unpack_from(f"<{n_gen}i", b, o)); o += 4 * n_gen
    tensors = {}
    for _ in range(n_tensors):
        (ln,) = struct.unpack_from("<i", b, o); o += 4
        name = b[o:o + ln].decode("utf-8"); o += ln
        rows, cols = struct.unpack_from("<2i", b, o); o += 8
        tensors[name] = np.frombuffer(b, dtype="<f4", count=rows * cols, offset=o).reshape(rows, cols); o += 4 * rows * cols
    return dict(n_vocab=n_vocab, n_embd=n_embd, n_layer=n_layer, tokens=tokens, generated=generated, tensors=tensors)


def main():
    r = read(sys.argv[1])
    print(f"n_vocab={r['n_vocab']} n_embd={r['n_embd']} n_layer={r['n_layer']}")
    print("tokens:", r["tokens"])
    print("generated:", r["generated"])
    for name, t in r["tensors"].items():
        print(f"  {name:20s} {t.shape[0]}x{t.shape[1]}  rms(last pos)={float(np.sqrt(np.mean(t[-1].astype(np.float64) ** 2))):.6g}")
    if len(sys.argv) > 2:
        vocab = {i: t for t, i in json.load(open(sys.argv[2], encoding="utf-8"))["model"]["vocab"].items()}
        print(repr("".join(vocab.get(i, f"<{i}>") for i in r["tokens"] + r["generated"]).replace("\u2581", " ")))


if __name__ == "__main__":
    main()
