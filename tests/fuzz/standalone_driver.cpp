// Runs a libFuzzer-style target without libFuzzer: every file of the seed corpus, then a bounded
// number of deterministic mutations of them (byte flips, inserts, deletes, splices). Used as the
// fuzz smoke in `make test`, under ASan+UBSan. Usage: fuzz_X CORPUS_DIR [--mutations=N]
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <csignal>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// Like libFuzzer's -timeout: an input that takes longer than this is a failure (a hang), and is
// saved as ./timeout-<target> for reproduction.
constexpr unsigned k_timeout_s = 10;
const std::string* g_current = nullptr;
const char* g_name = "fuzz";

void on_alarm(int) {
  std::string path = std::string("timeout-") + g_name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f && g_current) std::fwrite(g_current->data(), 1, g_current->size(), f);
  if (f) std::fclose(f);
  const char msg[] = "fuzz smoke: an input ran longer than the timeout (a hang); saved as timeout-*\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(1);
}

void run_one(const std::string& s) {
  g_current = &s;
  alarm(k_timeout_s);
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  alarm(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [--mutations=N]\n", argv[0]);
    return 2;
  }
  g_name = std::strrchr(argv[0], '/') ? std::strrchr(argv[0], '/') + 1 : argv[0];
  std::signal(SIGALRM, on_alarm);
  long mutations = 10000;
  for (int i = 2; i < argc; ++i)
    if (std::strncmp(argv[i], "--mutations=", 12) == 0) mutations = std::atol(argv[i] + 12);
  std::vector<std::string> corpus;
  for (const auto& e : std::filesystem::directory_iterator(argv[1])) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    corpus.push_back(ss.str());
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "no seeds in %s\n", argv[1]);
    return 2;
  }
  for (const auto& s : corpus) run_one(s);
  std::mt19937_64 rng(12345);
  const char k_tokens[][8] = {"{", "}", "[", "]", "\"", "\\", "\\u", "\\ud800", ":", ",", "null", "1e999", "\xff", "\xc3", "-0"};
  for (long i = 0; i < mutations; ++i) {
    std::string s = corpus[rng() % corpus.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 5) {
      case 0: if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng()); break;
      case 1: s.insert(pos, k_tokens[rng() % (sizeof k_tokens / sizeof k_tokens[0])]); break;
      case 2: if (pos < s.size()) s.erase(pos, 1 + rng() % 8); break;
      case 3: { const auto& o = corpus[rng() % corpus.size()];
                if (!o.empty()) { size_t a = rng() % o.size(); s.insert(pos, o.substr(a, rng() % 32)); } break; }
      case 4: if (pos < s.size()) s.insert(pos, s.substr(pos, 1 + rng() % 16)); break;
      }
    }
    run_one(s);
  }
  std::printf("fuzz smoke: %zu seeds, %ld mutations, no crash\n", corpus.size(), mutations);
  return 0;
}
