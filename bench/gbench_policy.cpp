// Google Benchmark: policy evaluation of tools/call requests, swept over the number of rules.
#include <benchmark/benchmark.h>

#include <string>

#include "warden/codec/codec.h"
#include "warden/policy/evaluator.h"
#include "warden/policy/policy.h"
#include "warden/util/clock.h"

namespace {

std::string policy_with_rules(int n) {
  std::string y = "version: 1\nservers:\n  s:\n    tools:\n";
  for (int i = 0; i < n; ++i) y += "      tool_" + std::to_string(i) + ": {action: allow}\n";
  y += "      send_email:\n        args:\n          to: {email_domain: [example.com, example.org]}\n"
       "          subject: {max_length: 200}\n          kind: {regex: \"[a-z]+\"}\n"
       "        rate: 1000000/sec\n"
       "      read_file:\n        args:\n          path: {path_under: [/srv/data, /home/me/docs]}\n"
       "      fetch:\n        args:\n          url: {url_host: [\"*.example.com\", api.github.com]}\n"
       "      \"mail_*\": {action: deny}\n      \"*\": {action: deny}\n";
  return y;
}

void run_eval(benchmark::State& state, const std::string& line) {
  auto policy = warden::policy::load_policy_string(policy_with_rules(static_cast<int>(state.range(0))), "bench.yaml");
  const auto* server = policy->select_server("s", {});
  warden::policy::Evaluator eval(policy, server, warden::util::SystemClock::instance());
  warden::codec::Decoder d;
  auto decoded = d.decode(line);
  if (!decoded.ok()) {
    state.SkipWithError(decoded.error().message.c_str());
    return;
  }
  const auto& msg = decoded->messages[0];
  for (auto _ : state) {
    auto v = eval.evaluate(msg);
    benchmark::DoNotOptimize(v.decision);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PolicyEmailArgs(benchmark::State& state) {
  run_eval(state, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_email","arguments":{"to":["alice@example.com","bob@sub.example.org"],"subject":"Hello there","kind":"report"}}})");
}
BENCHMARK(BM_PolicyEmailArgs)->Arg(1)->Arg(100)->Arg(10000);

void BM_PolicyPathUnder(benchmark::State& state) {
  run_eval(state, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/srv/data/reports/../2026/q3.csv"}}})");
}
BENCHMARK(BM_PolicyPathUnder)->Arg(100);

void BM_PolicyUrlHost(benchmark::State& state) {
  run_eval(state, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fetch","arguments":{"url":"https://docs.example.com/a/b?c=d"}}})");
}
BENCHMARK(BM_PolicyUrlHost)->Arg(100);

void BM_PolicyGlobDeny(benchmark::State& state) {
  run_eval(state, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mail_everyone","arguments":{}}})");
}
BENCHMARK(BM_PolicyGlobDeny)->Arg(100)->Arg(10000);

}  // namespace
