#!/usr/bin/env bash
# Record replay_fixtures/switch-oom-crash.jsonl from a real run of the CLI on the simulated GPU
# with stand-in servers: switches with sleep and wake, a pre-flight refusal (another program
# holds VRAM), a switch where a service runs out of memory and is rolled back, gpumod killed
# mid-switch and recovered, and a crash found by the monitor. Then writes the state it replays to.
# Usage: bash scripts/record_real_fixture.sh   (read the diff before committing)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
examples=$(cd "$here/../shared/examples/gpumod" && pwd)
py="$here/.venv/bin/python"
state=$(mktemp -d)
export GPUMOD_DB="$state/gpumod.db" GPUMOD_GPU=sim:24GiB,release=0.3s GPUMOD_STAND_INS=1 \
       GPUMOD_PROCESS_BACKEND=direct
g() { "$here/.venv/bin/gpumod" "$@" >/dev/null 2>&1; }
fast() { printf '%s: {load_s: 0.05%s}\n' vllm-embedding-code "" qwen3-coder "" \
           vllm-embedding "${1:-}" > "$state/state/standins.yaml"; }
cleanup() {
  for s in qwen3-coder vllm-embedding-code vllm-embedding; do g service stop "$s" || true; done
  [ -z "${other:-}" ] || kill "$other" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

g init --preset-dir "$examples/presets" --mode-dir "$examples/modes"
mkdir -p "$state/state" && fast
g mode switch code && g mode switch rag && g mode switch code && g mode switch blank
"$py" -m gpumod.adapters.standins fastapi --port 18998 --service-id other-program --vram-mb 8000 \
  --sim-gpu-file "$state/state/sim-gpu.json" --sim-gpu-total-mb 24576 >/dev/null 2>&1 &
other=$!
sleep 1
! g mode switch code
kill "$other"; wait "$other" 2>/dev/null || true; other=
g status; sleep 0.5
fast ", oom: true"
! g mode switch rag --rollback
fast
GPUMOD_FAULT_KILL_AFTER=ServiceProcessLaunched g mode switch rag || true
g recover
fast ", crash_after_s: 0.5"
g service stop vllm-embedding && g service start vllm-embedding
sleep 1.5
g monitor --once
g audit verify
out="$here/replay_fixtures/switch-oom-crash.jsonl"
"$here/.venv/bin/gpumod" events export --output "$out" >/dev/null
"$py" "$here/scripts/record_fixture.py" "$out"
