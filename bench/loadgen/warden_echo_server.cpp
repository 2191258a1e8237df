// A native MCP echo server over stdio for the benchmarks: answers initialize, tools/list and
// tools/call (echoing arguments.text back as text content), as fast as it can.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <simdjson.h>

#include "echo_reply.h"

int main() {
  simdjson::dom::parser parser;
  std::string in, out;
  char buf[1 << 16];
  size_t scan = 0;
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n <= 0) return 0;
    in.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (;;) {
      auto nl = in.find('\n', scan);
      if (nl == std::string::npos) {
        scan = in.size();
        break;
      }
      std::string_view line(in.data() + start, nl - start);
      start = scan = nl + 1;
      simdjson::dom::element m;
      if (parser.parse(line.data(), line.size()).get(m)) continue;
      std::string_view method;
      simdjson::dom::element id;
      if (m["method"].get(method) || m["id"].get(id)) continue;  // notifications
      std::string id_json = simdjson::minify(id);
      out += R"({"jsonrpc":"2.0","id":)" + id_json + R"(,"result":)";
      warden::bench::append_echo_result(out, method, m);
      out += "}\n";
    }
    in.erase(0, start);
    scan -= start;
    size_t off = 0;
    while (off < out.size()) {
      ssize_t w = ::write(1, out.data() + off, out.size() - off);
      if (w <= 0) return 0;
      off += static_cast<size_t>(w);
    }
    out.clear();
  }
}
