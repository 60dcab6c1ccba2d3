#!/usr/bin/env bash
# What the tests need from the operating system, installed with apt-get only when missing (a
# clean CI machine); quiet, and safe to run again. Run as root, before `make test`.
set -euo pipefail

missing=()
# systemd: a real `systemd --user` manager and `systemd-analyze verify` for the systemd backend.
[ -x /lib/systemd/systemd ] && command -v systemd-analyze >/dev/null || missing+=(systemd)
# A C++ tool chain: a real llama.cpp `llama-server`, built below, for the llamacpp driver's tests.
for tool in cmake make g++; do command -v "$tool" >/dev/null || missing+=("$tool"); done
# podman (serving the Docker API), runc, and a static busybox for the test image: a real
# Docker-compatible engine for the docker driver's tests.
for tool in podman runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" \
    || missing+=(busybox-static)
# Node.js with npx: the MCP Inspector CLI test runs `npx @modelcontextprotocol/inspector`.
command -v npx >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Cached outside the clone; only the first run on a machine builds (8 to 20 minutes on 2 cores).
bash "$(dirname "$0")/build_llama_server.sh" >/dev/null
