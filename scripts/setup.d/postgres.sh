#!/usr/bin/env bash
# Idempotent install of Debian's PostgreSQL server: the chain-event index's production database, and the
# tests start a throwaway cluster of their own with it (tests/index/test_index_postgres.py). Nothing is done when
# an initdb is already installed. Needs root (or password-less sudo) for apt-get.
set -euo pipefail

have_initdb() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1
}

if have_initdb; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: PostgreSQL is needed (index database and its tests) but this is not a Debian system: install the PostgreSQL server yourself" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "setup: installing PostgreSQL needs root: run 'apt-get install -y postgresql' as root" >&2
    exit 1
  fi
fi
echo "setup: installing PostgreSQL (apt-get install postgresql)"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq postgresql >/dev/null
have_initdb || { echo "setup: the postgresql package did not install initdb" >&2; exit 1; }
