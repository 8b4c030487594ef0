#!/usr/bin/env bash
# Installs the Codex CLI the network bench compares against (npm @openai/codex@0.171.0, its
# linux-x64 package, which ships the binary) into DIR and prints the CODEX_BIN to export:
#   bash tests/benches/install-codex.sh /opt/codex-npm
#   CODEX_BIN=$(bash tests/benches/install-codex.sh /opt/codex-npm) cargo bench -p tests --bench network
set -euo pipefail
dir=${1:?usage: install-codex.sh DIR}
version=0.171.0
mkdir -p "$dir"
if ! command -v npm >/dev/null; then
    echo "npm is needed (Debian: apt-get install -y npm)" >&2
    exit 1
fi
npm install --prefix "$dir" --no-audit --no-fund "@openai/codex@${version}-linux-x64" >&2
bin=$(find "$dir/node_modules/@openai" -path '*/vendor/*/bin/codex' -type f | head -n 1)
if [[ -z "$bin" ]]; then
    echo "no codex binary found under $dir/node_modules/@openai" >&2
    exit 1
fi
"$bin" --version >&2
echo "$bin"
