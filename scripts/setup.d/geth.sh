#!/usr/bin/env bash
# Idempotent install of geth v1.13.15 (the last go-ethereum release that seals Clique blocks), built
# through the Go module proxy into a per-user cache ($CERTNET_TOOLS, default ~/.cache/certnet) shared by
# every checkout, and linked as .tools/bin/geth. Skipped at once when it already reports 1.13.15.
set -euo pipefail
GETH_VERSION=1.13.15
link_dir="$(cd "$(dirname "$0")/../.." && pwd)/.tools/bin"
bin_dir="${CERTNET_TOOLS:-$HOME/.cache/certnet}/geth-${GETH_VERSION}"
geth="$bin_dir/geth"

link() { mkdir -p "$link_dir" && ln -sfn "$geth" "$link_dir/geth"; }
# The output is read whole before it is matched: `geth version | grep -q` under pipefail fails at random (grep
# exits at the first match, geth dies of SIGPIPE writing the rest) and geth was then rebuilt under running nodes.
reports_version() { local out; out=$("$geth" version 2>/dev/null) || return 1; grep -q "^Version: ${GETH_VERSION}-" <<<"$out"; }
if [ -x "$geth" ] && reports_version; then
  [ "$(readlink "$link_dir/geth" 2>/dev/null)" = "$geth" ] || link
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "setup: geth ${GETH_VERSION} is needed for the consortium network (certnet network ...) but Go is not installed" >&2
  exit 1
fi
echo "setup: building geth ${GETH_VERSION} with go install (takes a few minutes)"
mkdir -p "$bin_dir"
# built aside and moved into place in one step: running nodes keep their binary
tmp_bin=$(mktemp -d "$bin_dir/.build-XXXXXX")
trap 'rm -rf "$tmp_bin"' EXIT
# Go >= 1.23 refuses to link geth 1.13's use of go:linkname into the runtime unless this check is off.
GOBIN="$tmp_bin" GOFLAGS="${GOFLAGS:-} -ldflags=-checklinkname=0" \
  go install "github.com/ethereum/go-ethereum/cmd/geth@v${GETH_VERSION}"
mv -f "$tmp_bin/geth" "$geth"
reports_version || {
  echo "setup: $geth does not report version ${GETH_VERSION}" >&2
  exit 1
}
link
