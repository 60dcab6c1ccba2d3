#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` (CPU) from the llama-cpp-python sdist on PyPI, which vendors
# the whole llama.cpp tree: no registry ships the binary. The pinned version fixes the vendored
# commit, so the flags and endpoints the tests rely on. Builds only when the cached binary is
# missing (8 to 20 minutes on 2 cores), then prints its path. `--path`: print the path, build
# nothing (the tests find the binary this way).
set -euo pipefail

VERSION=0.3.36
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/gpumod/llama-server-$VERSION"
BINARY="$CACHE/llama-server"

main() {
    if [ "${1:-}" = --path ] || [ -x "$BINARY" ]; then
        echo "$BINARY"
        return
    fi
    mkdir -p "$CACHE"
    # Two CI steps building at once would race on one cache entry: the second waits for it.
    exec 9>"$CACHE/.build.lock"
    flock 9
    [ -x "$BINARY" ] || build
    echo "$BINARY"
}

build() {
    local work python="${PYTHON:-python3}"
    work="$(mktemp -d)"
    # shellcheck disable=SC2064  # expanded now: $work is local, gone when the trap runs
    trap "rm -rf '$work'" EXIT
    if ! "$python" -m pip --version >/dev/null 2>&1; then
        # A system Python without pip (Debian's): a throwaway venv brings its own.
        "$python" -m venv "$work/venv" >&2
        python="$work/venv/bin/python"
    fi
    "$python" -m pip download --quiet --no-deps --no-binary :all: -d "$work/dl" \
        "llama-cpp-python==$VERSION" >&2
    tar -xzf "$work/dl/llama_cpp_python-$VERSION.tar.gz" -C "$work/dl"
    # GGML_NATIVE=OFF: no -march=native, so the cached binary runs on any x86-64 it moves to.
    cmake -S "$work/dl/llama_cpp_python-$VERSION/vendor/llama.cpp" -B "$work/build" \
        -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF \
        -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_OPENSSL=OFF -DGGML_CCACHE=OFF >&2
    cmake --build "$work/build" --target llama-server -j"${JOBS:-2}" >&2
    # Copy, then rename: nobody sees a half-written binary.
    cp "$work/build/bin/llama-server" "$BINARY.tmp"
    mv "$BINARY.tmp" "$BINARY"
}

# Bash reads a script as it runs: parsing it all first keeps an edit during a build harmless.
{ main "$@"; exit; }
