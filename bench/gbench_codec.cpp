// Google Benchmark: the strict codec on small requests and on large results, swept over size.
#include <benchmark/benchmark.h>

#include <string>

#include "warden/codec/codec.h"

namespace {

std::string small_request() {
  return R"({"jsonrpc":"2.0","id":12345,"method":"tools/call","params":{"name":"send_email","arguments":{"to":"alice@example.com","subject":"Quarterly report","textBody":"Hello Alice, the report is attached. Regards."}}})";
}

std::string large_result(size_t bytes) {
  std::string text(bytes, 'x');
  for (size_t i = 0; i < bytes; i += 61) text[i] = ' ';
  return R"({"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":")" + text +
         R"("}],"structuredContent":{"rows":[{"a":1,"b":"two"},{"a":3,"b":"four"}]},"isError":false}})";
}

void BM_DecodeSmallRequest(benchmark::State& state) {
  warden::codec::Decoder d;
  std::string line = small_request();
  line.reserve(line.size() + 64);
  for (auto _ : state) {
    auto r = d.decode(line);
    benchmark::DoNotOptimize(r.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeSmallRequest);

void BM_DecodeLargeResult(benchmark::State& state) {
  warden::codec::Decoder d;
  std::string line = large_result(static_cast<size_t>(state.range(0)));
  size_t len = line.size();
  line.append(64, ' ');  // padding, as the relay's read buffer provides
  for (auto _ : state) {
    auto r = d.decode(std::string_view(line.data(), len), true);
    benchmark::DoNotOptimize(r.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_DecodeLargeResult)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20)->Arg(8 << 20);

void BM_DecodeManyKeys(benchmark::State& state) {
  std::string line = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{)";
  for (int i = 0; i < state.range(0); ++i) line += "\"key" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  line.back() = '}';
  line += "}}";
  warden::codec::Decoder d;
  for (auto _ : state) {
    auto r = d.decode(line);
    benchmark::DoNotOptimize(r.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_DecodeManyKeys)->Arg(8)->Arg(64)->Arg(1024);

}  // namespace
