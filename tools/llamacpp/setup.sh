#!/usr/bin/env bash
# Installs cgap's llama.cpp reference harness (idempotent; a no-op in well under a second when done):
#   1. npm packages node-llama-cpp + @node-llama-cpp/linux-x64 (versions pinned in package.json /
#      package-lock.json) into tools/llamacpp/node_modules: the first ships llama.cpp's source as a git bundle
#      (node-llama-cpp/llama/gitRelease.bundle), the second prebuilt CPU shared libraries of that same release
#      (libllama, libggml, libggml-base, libllama-common, libggml-cpu-<variant>.so loaded at run time).
#   2. unpacks that source into build/llama.cpp (headers, gguf-py for hf_to_gguf.py, examples).
#   3. compiles build/cgap_llama_ref from cgap_llama_ref.cpp and build/cgap_llama_bench from cgap_llama_bench.cpp
#      (prefill/decode timing for bench/e2e) against the prebuilt libraries (seconds),
#      and llama.cpp's own examples/eval-callback as build/llama-eval-callback (best effort).
# Needs node/npm, git, g++ and an x86-64 Linux; reaches only the npm registry.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "tools/llamacpp/setup.sh: the prebuilt llama.cpp libraries are for Linux x86-64 only; skipping" >&2
  exit 0
fi
for tool in node npm git g++; do
  command -v "$tool" >/dev/null || { echo "tools/llamacpp/setup.sh: $tool is missing" >&2; exit 1; }
done

want="$(node -p "require('./package.json').dependencies['@node-llama-cpp/linux-x64']")"
installed_version() {
  node -p "try { require('./node_modules/$1/package.json').version } catch (e) { '' }"
}
if [ "$(installed_version node-llama-cpp)" != "$want" ] || [ "$(installed_version @node-llama-cpp/linux-x64)" != "$want" ] \
   || [ ! -f node_modules/node-llama-cpp/llama/gitRelease.bundle ]; then
  echo "llamacpp: npm install (node-llama-cpp $want)"
  npm install --omit=optional --ignore-scripts --no-audit --no-fund --no-save --loglevel=error
fi

libdir="$here/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
bundle="node_modules/node-llama-cpp/llama/gitRelease.bundle"
src="build/llama.cpp"
head="$(git bundle list-heads "$bundle" | awk 'NR==1 {print $1}')"
mkdir -p build
if [ "$(cat "$src/.cgap-source" 2>/dev/null || true)" != "$head" ]; then
  echo "llamacpp: unpacking llama.cpp source $head"
  rm -rf "$src"
  git -c advice.detachedHead=false clone -q "$bundle" "$src"
  echo "$head" > "$src/.cgap-source"
  rm -f build/cgap_llama_ref build/cgap_llama_bench build/llama-eval-callback
fi

lib_main="$(cd "$libdir" && ls libllama.v*.so | head -1)"
lib_ggml="$(cd "$libdir" && ls libggml.v*.so | head -1)"
cxx_flags=(-O2 -std=c++17 -I"$src/include" -I"$src/ggml/include")
link_flags=(-L"$libdir" -l:"$lib_main" -l:"$lib_ggml" -l:libggml-base.so -Wl,-rpath,"$libdir" -lpthread)

for tool in cgap_llama_ref cgap_llama_bench; do
  if [ ! -x "build/$tool" ] || [ "$tool.cpp" -nt "build/$tool" ] || [ cgap_llama_common.h -nt "build/$tool" ] || [ setup.sh -nt "build/$tool" ]; then
    echo "llamacpp: compiling build/$tool"
    g++ "${cxx_flags[@]}" -DCGAP_GGML_BACKEND_DIR="\"$libdir\"" "$tool.cpp" -o "build/$tool.tmp" "${link_flags[@]}"
    mv "build/$tool.tmp" "build/$tool"
  fi
done

# llama.cpp's eval-callback example (prints every graph tensor); it finds the CPU backend next to itself.
for f in "$libdir"/libggml-cpu-*.so; do
  ln -sf "$f" "build/$(basename "$f")"
done
if [ ! -x build/llama-eval-callback ]; then
  if g++ "${cxx_flags[@]}" -I"$src/common" -I"$src/vendor" "$src/examples/eval-callback/eval-callback.cpp" \
       -o build/llama-eval-callback -L"$libdir" -l:libllama-common.so "${link_flags[@]}" 2>build/eval-callback.log; then
    echo "llamacpp: compiled build/llama-eval-callback"
  else
    echo "llamacpp: llama-eval-callback did not compile (optional; see build/eval-callback.log)" >&2
  fi
fi
echo "llamacpp: ready ($here/build/cgap_llama_ref, $here/build/cgap_llama_bench)"
