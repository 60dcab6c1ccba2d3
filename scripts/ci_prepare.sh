#!/usr/bin/env bash
# What the tests need from the operating system, installed with apt-get only when missing (a
# clean CI machine); quiet, and safe to run again. Run as root, before `make test`.
set -euo pipefail

missing=()
# systemd: a real `systemd --user` manager and `systemd-analyze verify` for the systemd backend.
[ -x /lib/systemd/systemd ] && command -v systemd-analyze >/dev/null || missing+=(systemd)

if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
