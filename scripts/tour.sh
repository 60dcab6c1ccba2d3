#!/usr/bin/env bash
# gpumod's main job on any machine, in a throwaway state directory: register the example presets
# and modes, simulate and switch modes (one refused for lack of VRAM, one where a service fails),
# then read the past back from the event log: history, post-mortem, replay, audit.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
examples=$(cd "$here/../shared/examples/gpumod" && pwd)
gpumod="$here/.venv/bin/gpumod"
state=$(mktemp -d)
export GPUMOD_DB="$state/gpumod.db"
# No GPU needed: a simulated 24 GiB GPU, and stand-in servers instead of vLLM / llama-server.
export GPUMOD_GPU=sim:24GiB GPUMOD_STAND_INS=1 GPUMOD_PROCESS_BACKEND=direct
cleanup() {
  for s in qwen3-coder vllm-embedding-code vllm-embedding; do
    "$gpumod" service stop "$s" >/dev/null 2>&1 || true
  done
  [ -z "${other:-}" ] || kill "$other" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT
step() { printf '\n\033[1m$ gpumod %s\033[0m\n' "$*"; "$gpumod" "$@"; }

step init --preset-dir "$examples/presets" --mode-dir "$examples/modes"
step service list
step mode list
step service status qwen3-coder

# Change a preset: only the difference is recorded; importing it again records nothing.
sed 's/vram_mb: 20000/vram_mb: 19000/' "$examples/presets/llm/qwen3-coder.yaml" > "$state/qwen3-coder.yaml"
step service add "$state/qwen3-coder.yaml"
step service add "$state/qwen3-coder.yaml"

# A refused command exits non-zero, and the refusal itself is recorded.
step service remove qwen3-coder || echo "(exit $? as expected: the mode 'code' uses it)"
step mode remove hacker

# Modes: simulate first (appends nothing), then switch; every step is shown as it is recorded.
step simulate mode code
step simulate mode code --add vllm-embedding || echo "(exit $? as expected: it would not fit; see the alternatives)"
step mode switch code
step mode switch rag          # qwen3-coder is a router: it sleeps beside rag instead of stopping
step status --visual
step mode switch code         # ...so coming back wakes it instead of loading it again

# Another program takes 8 GB of the GPU: gpumod counts it and refuses before touching anything.
step mode switch blank
"$here/.venv/bin/python" -m gpumod.adapters.standins fastapi --port 18999 --service-id other-program \
  --vram-mb 8000 --sim-gpu-file "$state/state/sim-gpu.json" --sim-gpu-total-mb 24576 >/dev/null 2>&1 &
other=$!
sleep 1
step mode switch code || echo "(exit $? as expected: refused by the pre-flight VRAM check)"
kill "$other"; wait "$other" 2>/dev/null || true
step status   # as with CUDA, its memory is freed a moment after gpumod sees it exited
sleep 1.5

# A service that runs out of memory while loading: the switch fails, --rollback restores 'blank'.
echo "vllm-embedding: {oom: true}" > "$state/state/standins.yaml"
step mode switch rag --rollback || echo "(exit $? as expected: vllm-embedding failed, blank restored)"
rm "$state/state/standins.yaml"
step mode status
step postmortem --last-failure
step mode switch blank

step history --limit 6
step history --type CommandRejected --json
step replay --until 3
step audit verify
step events export --output "$state/log.jsonl"
step replay --from "$state/log.jsonl" --json > "$state/replayed.json"
head -n 5 "$state/replayed.json"
