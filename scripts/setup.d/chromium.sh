#!/usr/bin/env bash
# Idempotent install of Debian's Chromium for the portal's browser tests (Playwright drives it through
# executable_path=/usr/bin/chromium; Playwright's own browser downloads are never used).
# Quick when /usr/bin/chromium is already there; `apt-get update` runs only when something is installed.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: the portal's browser tests need Chromium at /usr/bin/chromium, and apt-get is not available" >&2
  exit 1
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "setup: installing Chromium needs root (or sudo)" >&2
    exit 1
  fi
fi
echo "setup: installing Debian's chromium for the portal browser tests"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-noto-core >/dev/null
[ -x /usr/bin/chromium ] || {
  echo "setup: apt-get installed chromium but /usr/bin/chromium is missing" >&2
  exit 1
}
