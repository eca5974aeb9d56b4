#!/usr/bin/env bash
# Idempotent set-up: Python virtual environment and packages, pinned npm tools.
# Quick when everything is already in place (stamps record what was installed from which file).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
stamps="$root/.setup-stamps"
mkdir -p "$stamps"

stamp_ok() { [ -f "$stamps/$1" ] && [ "$(cat "$stamps/$1")" = "$2" ]; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 1. Python
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  rm -f "$stamps/python"
fi
h=$(hash_of pyproject.toml)
if ! stamp_ok python "$h"; then
  echo "setup: installing Python packages"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  echo "$h" > "$stamps/python"
fi

# 2. the native core (Rust: salting and hashing of the proof format), built by cargo through maturin
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
h=$(hash_of native/Cargo.toml native/Cargo.lock native/pyproject.toml native/src/*.rs)
if ! stamp_ok native "$h" || ! .venv/bin/python -c "import certnet_native" 2>/dev/null; then
  if ! command -v cargo >/dev/null; then
    echo "setup: cargo (Rust) is needed to build native/; install it with rustup" >&2
    exit 1
  fi
  echo "setup: building the native core (Rust)"
  CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/certnet/cargo-target" .venv/bin/pip install -q ./native
  echo "$h" > "$stamps/native"
fi

# 3. npm tools (solc, anvil, OpenZeppelin, oracles)
h=$(hash_of package.json package-lock.json)
if ! stamp_ok npm "$h" || [ ! -d node_modules ]; then
  echo "setup: installing npm packages"
  # `npm install` follows the lockfile; `npm ci` trips over optional packages of other platforms
  npm install --no-audit --no-fund --loglevel=error
  echo "$h" > "$stamps/npm"
fi

# 4. optional extras, each its own idempotent script (geth, PostgreSQL, Chromium)
for extra in scripts/setup.d/*.sh; do
  [ -e "$extra" ] || continue
  bash "$extra"
done
