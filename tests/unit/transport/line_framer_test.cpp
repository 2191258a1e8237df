#include "warden/transport/stdio_relay.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace warden::transport {
namespace {

struct Collected {
  std::vector<std::string> lines;
  std::vector<size_t> oversized;
};

// Feeds `chunks` through a pipe into a framer, one read each.
Collected frame(const std::vector<std::string>& chunks, size_t max_line) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  LineFramer framer(max_line);
  Collected c;
  for (const auto& chunk : chunks) {
    EXPECT_EQ(write(fds[1], chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
    EXPECT_GT(framer.read_from(fds[0]), 0);
    framer.drain([&](std::string_view l, bool padded) {
      EXPECT_TRUE(padded);
      c.lines.emplace_back(l);
    }, [&](size_t n) { c.oversized.push_back(n); });
  }
  close(fds[0]);
  close(fds[1]);
  return c;
}

TEST(LineFramer, SplitsLinesAcrossReads) {
  auto c = frame({"{\"a\":1}\n{\"b\"", ":2}\n\n  \n{\"c\":3}\r\n"}, 1024);
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[0], "{\"a\":1}");
  EXPECT_EQ(c.lines[1], "{\"b\":2}");
  EXPECT_EQ(c.lines[2], "{\"c\":3}");  // CR stripped, blank lines skipped
  EXPECT_TRUE(c.oversized.empty());
}

TEST(LineFramer, DiscardsOversizedLinesWithoutBufferingThem) {
  std::string big(5000, 'x');
  auto c = frame({big.substr(0, 2500), big.substr(2500) + "\n{\"ok\":1}\n"}, 1000);
  ASSERT_EQ(c.oversized.size(), 1u);
  EXPECT_EQ(c.oversized[0], 5000u);
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0], "{\"ok\":1}");
}

TEST(LineFramer, OversizedLineInOneRead) {
  auto c = frame({std::string(3000, 'y') + "\n{}\n"}, 1000);
  ASSERT_EQ(c.oversized.size(), 1u);
  EXPECT_EQ(c.oversized[0], 3000u);
  ASSERT_EQ(c.lines.size(), 1u);
}

}  // namespace
}  // namespace warden::transport
