#!/usr/bin/env python3
"""Writes a lens in the tuned-lens library's format (config.json + params.pt) without torch, for the engine's
import test. params.pt is made as torch.save(layer_translators.state_dict(), ...) makes it: a zip archive
<stem>/data.pkl (pickle protocol 2 of an OrderedDict with a _metadata attribute, tensors as REDUCE of
torch._utils._rebuild_tensor_v2 over persistent ids ('storage', torch.FloatStorage, key, 'cpu', numel)),
<stem>/byteorder, <stem>/data/<key> (raw little-endian storages), <stem>/version. The standard pickler writes the
opcodes; stand-in modules named torch and torch._utils make it emit torch's global names.

Values: translator i (i = 0 .. layers-1, i = 0 reads the embeddings) has weight[r][c] = (i + 1) * 0.001 * (r - c)
+ (0.01 if r == c else 0) and bias[r] = 0.01 * i + 0.0001 * r, rounded to float32; translator 1 is stored
transposed-contiguous (stride (1, d)) to exercise strides.

usage: make_tuned_lens_library_fixture.py OUT_DIR D LAYERS
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
torch._utils = utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
_rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
FloatStorage.__qualname__ = "FloatStorage"
torch.FloatStorage = FloatStorage


class Storage:
    def __init__(self, key, values):
        self.key = key
        self.values = values


class Tensor:
    def __init__(self, storage, shape, stride):
        self.storage, self.shape, self.stride = storage, shape, stride

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor_v2, (self.storage, 0, self.shape, self.stride, False, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", len(obj.values))
        return None


def main():
    out, d, layers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    state = collections.OrderedDict()
    state._metadata = collections.OrderedDict([("", {"version": 1})] + [(str(i), {"version": 1}) for i in range(layers)])
    storages = []
    for i in range(layers):
        w = [[(i + 1) * 0.001 * (r - c) + (0.01 if r == c else 0.0) for c in range(d)] for r in range(d)]
        b = [0.01 * i + 0.0001 * r for r in range(d)]
        if i == 1:  # stored column-major: element (r, c) at c * d + r
            flat = [w[r][c] for c in range(d) for r in range(d)]
            stride = (1, d)
        else:
            flat = [w[r][c] for r in range(d) for c in range(d)]
            stride = (d, 1)
        sw = Storage(str(len(storages)), flat)
        storages.append(sw)
        sb = Storage(str(len(storages)), b)
        storages.append(sb)
        state[f"{i}.weight"] = Tensor(sw, (d, d), stride)
        state[f"{i}.bias"] = Tensor(sb, (d,), (1,))
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(state)
    stem = "params"
    with zipfile.ZipFile(os.path.join(out, "params.pt"), "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{stem}/data.pkl", buf.getvalue())
        z.writestr(f"{stem}/byteorder", "little")
        for s in storages:
            z.writestr(f"{stem}/data/{s.key}", struct.pack(f"<{len(s.values)}f", *s.values))
        z.writestr(f"{stem}/version", "3\n")
    config = {"base_model_name_or_path": "cgap-tiny-llama", "d_model": d, "num_hidden_layers": layers, "bias": True,
              "base_model_revision": None, "unembed_hash": None, "lens_type": "linear_tuned_lens"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f)


if __name__ == "__main__":
    main()
