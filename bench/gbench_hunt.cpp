// Google Benchmark: `hunt` throughput on plain text logs (syslog/postfix-shaped lines), swept over
// the number of indicators. Bytes/s is the figure for the >= 200 MB/s target.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "warden/supply/hunt.h"

namespace {

const std::string& plain_log() {
  static const std::string path = [] {
    std::string p = (std::filesystem::temp_directory_path() / ("gbench-hunt-" + std::to_string(::getpid()) + ".log")).string();
    std::ofstream out(p, std::ios::binary);
    std::string chunk;
    for (int i = 0; i < 1000; ++i) {
      chunk += "Nov 24 10:00:0" + std::to_string(i % 10) + " web-1 nginx[812]: 10.0.3." + std::to_string(i % 250) +
               " - - \"GET /api/v1/items/" + std::to_string(i) + " HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\"\n";
      chunk += "Nov 24 10:00:0" + std::to_string(i % 10) + " mail postfix/smtp[2103]: 4F3A2" + std::to_string(10000 + i) +
               ": to=<user" + std::to_string(i) + "@customer.example>, relay=mx.customer.example[198.51.100.1]:25, "
               "delay=1, status=sent (250 OK)\n";
      chunk += "Nov 24 10:00:0" + std::to_string(i % 10) + " app-2 worker[99]: job " + std::to_string(i) +
               " finished in 12ms, queue depth 3, success\n";
    }
    for (size_t written = 0; written < (64u << 20); written += chunk.size()) out << chunk;
    return p;
  }();
  return path;
}

void BM_HuntPlainLog(benchmark::State& state) {
  const std::string& log = plain_log();
  size_t bytes = std::filesystem::file_size(log);
  for (auto _ : state) {
    warden::supply::Hunter h;
    h.add_ioc("giftshop.club");
    for (int i = 1; i < state.range(0); ++i) h.add_ioc("bad" + std::to_string(i) + ".example.net");
    std::vector<warden::supply::HuntHit> hits;
    auto st = h.hunt_file(log, hits);
    benchmark::DoNotOptimize(st.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_HuntPlainLog)->Arg(1)->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond);

}  // namespace
