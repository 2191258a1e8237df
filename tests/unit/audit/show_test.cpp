#include <gtest/gtest.h>

#include "warden/audit/audit_log.h"
#include "warden/audit/show.h"

#include "test_support.h"

namespace warden::audit {
namespace {

using test::TempDir;

// Five records over three days, two servers.
void write_sample(const std::string& path) {
  util::ManualClock clock; // 2026-01-01T00:00:00Z
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(log);
  auto add = [&](std::string server, Kind kind, core::Direction dir, std::string method,
                 std::string tool, core::Decision d, std::vector<core::Finding> f = {}) {
    Record r;
    r.server = std::move(server);
    r.kind = kind;
    r.direction = dir;
    r.method = std::move(method);
    r.tool = std::move(tool);
    r.decision = d;
    r.findings = std::move(f);
    (*log)->append(r);
  };
  add("postmark", Kind::request, core::Direction::c2s, "tools/call", "sendEmail",
      core::Decision::allow);
  clock.advance_us(86'400'000'000); // 2026-01-02
  add("postmark", Kind::request, core::Direction::c2s, "tools/call", "sendEmail",
      core::Decision::block,
      {{"policy.tool_denied", core::Severity::high, "denied", ""},
       {"args.email_domain", core::Severity::medium, "bad domain", ""}});
  add("github", Kind::response, core::Direction::s2c, "tools/call", "search",
      core::Decision::allow);
  clock.advance_us(86'400'000'000); // 2026-01-03
  add("postmark", Kind::egress, core::Direction::out, "", "", core::Decision::block,
      {{"egress.unknown_recipient", core::Severity::critical, "Bcc", ""}});
  add("github", Kind::notification, core::Direction::s2c, "notifications/\x1b[31mred", "",
      core::Decision::allow);
}

TEST(AuditShow, TableListsEveryRecordWithAHeader) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_sample(path);
  auto out = show(path, {}, ShowFormat::table);
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 6u);
  EXPECT_EQ(
      (*out)[0],
      "SEQ  TS                           SERVER    KIND          DIR  METHOD                  "
      "TOOL       DECISION  FINDINGS");
  EXPECT_EQ(
      (*out)[2],
      "2    2026-01-02T00:00:00.000000Z  postmark  request       c2s  tools/call              "
      "sendEmail  block     high:policy.tool_denied, medium:args.email_domain");
  EXPECT_EQ(
      (*out)[4],
      "4    2026-01-03T00:00:00.000000Z  postmark  egress        out  -                       "
      "-          block     critical:egress.unknown_recipient");
  // Terminal escapes from a peer are neutralized.
  EXPECT_EQ((*out)[5].find('\x1b'), std::string::npos);
  EXPECT_NE((*out)[5].find("notifications/?[31mred"), std::string::npos);
}

TEST(AuditShow, FiltersCombine) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_sample(path);
  ShowFilter f;
  f.server = "postmark";
  f.decision = "block";
  auto out = show(path, f, ShowFormat::json);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].rfind(R"({"seq":2,)", 0), 0u);
  EXPECT_EQ((*out)[1].rfind(R"({"seq":4,)", 0), 0u);

  f = {};
  f.tool = "search";
  EXPECT_EQ(show(path, f, ShowFormat::json)->size(), 1u);
  f = {};
  f.kind = "egress";
  EXPECT_EQ(show(path, f, ShowFormat::json)->size(), 1u);
}

TEST(AuditShow, SinceTakesADateOrATimestamp) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_sample(path);
  ShowFilter f;
  f.since = "2026-01-02";
  EXPECT_EQ(show(path, f, ShowFormat::json)->size(), 4u);
  f.since = "2026-01-02T12:00:00Z";
  EXPECT_EQ(show(path, f, ShowFormat::json)->size(), 2u);
  f.since = "2026-01-03T01:00:00+02:00"; // 2026-01-02T23:00Z
  EXPECT_EQ(show(path, f, ShowFormat::json)->size(), 2u);
}

TEST(AuditShow, LimitKeepsTheMostRecent) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_sample(path);
  ShowFilter f;
  f.limit = 2;
  auto out = show(path, f, ShowFormat::table);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[1].rfind("4 ", 0), 0u);
  EXPECT_EQ((*out)[2].rfind("5 ", 0), 0u);
}

TEST(AuditShow, BadInputIsAnErrorThatNamesIt) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_sample(path);
  ShowFilter f;
  f.since = "yesterday";
  auto out = show(path, f, ShowFormat::table);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message,
            "invalid --since 'yesterday': use RFC 3339 (2026-01-31T12:00:00Z) or a date "
            "(2026-01-31)");
  f = {};
  f.decision = "deny";
  EXPECT_NE(show(path, f, ShowFormat::table).error().message.find("invalid decision 'deny'"),
            std::string::npos);
  EXPECT_FALSE(show(dir.file("missing.jsonl"), {}, ShowFormat::table));
}

TEST(AuditShow, SkipsAPartialLastLine) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_sample(path);
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"seq":6,"ts":"2026)";
  }
  EXPECT_EQ(show(path, {}, ShowFormat::json)->size(), 5u);
}

} // namespace
} // namespace warden::audit
