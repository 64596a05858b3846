#!/usr/bin/env bash
# Installs what is missing, builds QuantLens (release) and starts it on the bundled example model.
set -euo pipefail
cd "$(dirname "$0")/.."
# Let ccache share results between clones in different folders.
export CCACHE_BASEDIR="$PWD"
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target quantlens quantlens-cli

example=resources/examples/stories260K/model.safetensors
args=()
[ -f "$example" ] && args+=("$example")
args+=("$@")

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run-app: no display found; starting QuantLens under xvfb-run (pass --screenshot DIR to see it)" >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" build/release/app/quantlens "${args[@]}"
fi
exec build/release/app/quantlens "${args[@]}"
