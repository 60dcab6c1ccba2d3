#!/usr/bin/env bash
# gpumod's main job on any machine, in a throwaway state directory: register the example presets
# and modes, look at them, change one, be refused, then read the past back from the event log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
examples=$(cd "$here/../shared/examples/gpumod" && pwd)
gpumod="$here/.venv/bin/gpumod"
state=$(mktemp -d)
export GPUMOD_DB="$state/gpumod.db"
trap 'rm -rf "$state"' EXIT
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

step history --limit 6
step history --type CommandRejected --json
step replay --until 3
step audit verify
step events export --output "$state/log.jsonl"
step replay --from "$state/log.jsonl" --json | head -n 5
