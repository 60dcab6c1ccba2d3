#!/usr/bin/env bash
# gpumod's main job on any machine, in a throwaway state directory: register the example presets
# and modes, look at them, change one, be refused, then read the past back from the event log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
examples=$(cd "$here/../shared/examples/gpumod" && pwd)
gpumod="$here/.venv/bin/gpumod"
state=$(mktemp -d)
export GPUMOD_DB="$state/gpumod.db"
# No GPU needed: a simulated 24 GiB GPU, and stand-in servers instead of vLLM / llama-server.
export GPUMOD_GPU=sim:24GiB GPUMOD_STAND_INS=1 GPUMOD_PROCESS_BACKEND=direct
cleanup() {
  for s in qwen3-coder vllm-embedding-code; do "$gpumod" service stop "$s" >/dev/null 2>&1 || true; done
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

# Run services: the VRAM check refuses what would not fit, sleep frees memory, wake restores it.
step service start vllm-embedding-code
step service start qwen3-coder
step service start vllm-embedding || echo "(exit $? as expected: not enough free VRAM)"
step status --visual
step service sleep qwen3-coder
step service wake qwen3-coder
step service stop qwen3-coder

step history --limit 6
step history --type CommandRejected --json
step replay --until 3
step audit verify
step events export --output "$state/log.jsonl"
step replay --from "$state/log.jsonl" --json | head -n 5
