#!/usr/bin/env bash
# Idempotent install of Debian's wrk, the HTTP load generator of scripts/bench_api.py.
set -euo pipefail
command -v wrk >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: wrk (the API benchmark's load generator) is missing and this is not a Debian system" >&2
  exit 1
fi
as_root=()
[ "$(id -u)" = "0" ] || as_root=(sudo -n)
echo "setup: installing wrk (apt-get install wrk)"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq wrk >/dev/null
