#!/usr/bin/env bash
# make demo: `mcp-warden demo`, the postmark-mcp incident replayed locally and stopped
# (src/warden/cli/demo.cpp; its Node pieces are in tests/e2e/fixtures/email and tests/e2e/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
WARDEN=${WARDEN_BIN:-$PWD/build/mcp-warden}
exec "$WARDEN" demo --assets "$PWD/tests/e2e"
