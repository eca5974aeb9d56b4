#!/usr/bin/env bash
# Idempotent install of clef v1.13.15 (go-ethereum's external signer: issuer and admin keys kept out of
# the service), built like geth through the Go module proxy into the per-user cache ($CERTNET_TOOLS,
# default ~/.cache/certnet) shared by every checkout, and linked as .tools/bin/clef. Skipped at once when
# it already reports 1.13.15.
set -euo pipefail
CLEF_VERSION=1.13.15
link_dir="$(cd "$(dirname "$0")/../.." && pwd)/.tools/bin"
bin_dir="${CERTNET_TOOLS:-$HOME/.cache/certnet}/clef-${CLEF_VERSION}"
clef="$bin_dir/clef"

link() { mkdir -p "$link_dir" && ln -sfn "$clef" "$link_dir/clef"; }
# read whole before matching: `clef --version | grep -q` under pipefail fails at random (SIGPIPE)
reports_version() { local out; out=$("$clef" --version 2>/dev/null) || return 1; grep -q "version ${CLEF_VERSION}-" <<<"$out"; }
if [ -x "$clef" ] && reports_version; then
  [ "$(readlink "$link_dir/clef" 2>/dev/null)" = "$clef" ] || link
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "setup: clef ${CLEF_VERSION} is needed for keys in an external signer (signer_url) but Go is not installed" >&2
  exit 1
fi
echo "setup: building clef ${CLEF_VERSION} with go install (takes a few minutes)"
mkdir -p "$bin_dir"
# built aside and moved into place in one step: a running clef keeps its binary
tmp_bin=$(mktemp -d "$bin_dir/.build-XXXXXX")
trap 'rm -rf "$tmp_bin"' EXIT
# Go >= 1.23 refuses to link go-ethereum 1.13's use of go:linkname into the runtime unless this check is off.
GOBIN="$tmp_bin" GOFLAGS="${GOFLAGS:-} -ldflags=-checklinkname=0" \
  go install "github.com/ethereum/go-ethereum/cmd/clef@v${CLEF_VERSION}"
mv -f "$tmp_bin/clef" "$clef"
reports_version || {
  echo "setup: $clef does not report version ${CLEF_VERSION}" >&2
  exit 1
}
link
