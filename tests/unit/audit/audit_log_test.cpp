#include <simdjson.h>
#include <thread>

#include <gtest/gtest.h>

#include "warden/audit/audit_log.h"
#include "warden/audit/verify.h"
#include "warden/util/sha256.h"

#include "test_support.h"

namespace warden::audit {
namespace {

using test::read_file;
using test::read_lines;
using test::TempDir;

Record sample_request(int i = 1) {
  Record r;
  r.server = "postmark";
  r.session = "s-1";
  r.kind = Kind::request;
  r.direction = core::Direction::c2s;
  r.method = "tools/call";
  r.tool = "sendEmail";
  r.id = std::to_string(i);
  r.detail = R"({"to":"a@example.com"})";
  return r;
}

bool parses(const std::string& line) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  return p.parse(line).get(e) == simdjson::SUCCESS;
}

TEST(AuditLog, WritesChainedRecordsInContractOrder) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(log) << log.error().message;

  Record r = sample_request();
  r.agent = "ci-bot";
  r.decision = core::Decision::block;
  r.findings.push_back(
      {"policy.tool_denied", core::Severity::high, "tool sendEmail is denied", "sendEmail"});
  r.latency_us = 1234;
  EXPECT_EQ((*log)->append(r), 1u);
  clock.advance_us(1500);

  Record e;
  e.server = "postmark";
  e.kind = Kind::egress;
  e.direction = core::Direction::out;
  e.decision = core::Decision::allow;
  e.host = "api.postmarkapp.com";
  e.port = 443;
  e.http_method = "POST";
  e.path = "/email";
  EXPECT_EQ((*log)->append(e), 2u);

  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  const std::string want1_prefix =
      R"({"seq":1,"ts":"2026-01-01T00:00:00.000000Z","prev":")" + std::string(k_zero_hash) +
      R"(","server":"postmark","session":"s-1","agent":"ci-bot","kind":"request","direction":"c2s",)"
      R"("method":"tools/call","tool":"sendEmail","id":1,"decision":"block","findings":[{"detector":)"
      R"("policy.tool_denied","severity":"high","message":"tool sendEmail is denied","evidence":)"
      R"("sendEmail"}],"latency_us":1234,"detail":{"to":"a@example.com"},"hash":")";
  ASSERT_EQ(lines[0].substr(0, want1_prefix.size()), want1_prefix);
  // hash = SHA-256 of the line without the hash member, closed by '}'.
  std::string canonical1 = lines[0].substr(0, lines[0].size() - 75) + "}";
  std::string hash1 = util::sha256_hex(canonical1);
  EXPECT_EQ(lines[0], canonical1.substr(0, canonical1.size() - 1) + R"(,"hash":")" + hash1 + "\"}");

  const std::string want2 =
      R"({"seq":2,"ts":"2026-01-01T00:00:00.001500Z","prev":")" + hash1 +
      R"(","server":"postmark","kind":"egress","direction":"out","decision":"allow","findings":[],)"
      R"("host":"api.postmarkapp.com","port":443,"http_method":"POST","path":"/email"})";
  std::string hash2 = util::sha256_hex(want2);
  EXPECT_EQ(lines[1], want2.substr(0, want2.size() - 1) + R"(,"hash":")" + hash2 + "\"}");

  EXPECT_EQ(read_file(head_path_for(path)), "2 " + hash2 + "\n");
  EXPECT_EQ((*log)->last_seq(), 2u);
  EXPECT_EQ((*log)->last_hash(), hash2);
  EXPECT_EQ(test::file_mode(path), 0600u);
  EXPECT_EQ(test::file_mode(head_path_for(path)), 0600u);
}

TEST(AuditLog, RecordIsOnDiskWhenAppendReturns) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(log);
  ASSERT_EQ((*log)->append(sample_request()), 1u);
  // Still open, nothing closed or flushed by us: another reader sees the complete line.
  auto content = read_file(path);
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(content.back(), '\n');
  EXPECT_EQ(verify_file(path).verified, 1u);
}

TEST(AuditLog, BatchWritesAllRecordsWithOneSyscall) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(log);
  auto writes_before = (*log)->stats().writes;
  {
    AuditLog::BatchScope batch(**log);
    for (int i = 1; i <= 5; ++i)
      EXPECT_EQ((*log)->append(sample_request(i)), uint64_t(i));
    EXPECT_EQ(read_file(path), ""); // nothing written until the batch ends
    EXPECT_EQ((*log)->stats().writes, writes_before);
    ASSERT_TRUE(batch.finish().ok());
  }
  EXPECT_EQ((*log)->stats().writes, writes_before + 1);
  EXPECT_EQ((*log)->stats().records, 5u);
  EXPECT_EQ(read_lines(path).size(), 5u);
  EXPECT_TRUE(verify_file(path).ok());
}

TEST(AuditLog, DeferredRecordsWaitForFlushAndOtherAppendsWriteThemFirst) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(log);
  int requests = 0;
  (*log)->set_flush_request([&] { ++requests; });
  auto writes_before = (*log)->stats().writes;
  EXPECT_EQ((*log)->append_deferred(sample_request(1)), 1u);
  EXPECT_EQ((*log)->append_deferred(sample_request(2)), 2u);
  EXPECT_EQ(requests, 1);  // asked once, when the first line started to wait
  EXPECT_EQ(read_file(path), "");
  EXPECT_EQ((*log)->last_seq(), 0u);  // nothing is on disk yet
  ASSERT_TRUE((*log)->flush().ok());
  EXPECT_EQ((*log)->stats().writes, writes_before + 1);  // both in one write(2)
  EXPECT_EQ(read_lines(path).size(), 2u);
  EXPECT_EQ((*log)->last_seq(), 2u);

  // A plain append (another thread's, say) writes the waiting lines before its own, in order.
  EXPECT_EQ((*log)->append_deferred(sample_request(3)), 3u);
  EXPECT_EQ(requests, 2);
  EXPECT_EQ((*log)->append(sample_request(4)), 4u);
  EXPECT_EQ(read_lines(path).size(), 4u);
  ASSERT_TRUE((*log)->flush().ok());  // nothing waits: no write
  EXPECT_EQ((*log)->stats().writes, writes_before + 2);
  auto v = verify_file(path);
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.verified, 4u);
  // Closing writes what still waits.
  EXPECT_EQ((*log)->append_deferred(sample_request(5)), 5u);
  ASSERT_TRUE((*log)->close().ok());
  EXPECT_EQ(verify_file(path).verified, 5u);
}

TEST(AuditLog, FsyncModes) {
  TempDir dir;
  util::ManualClock clock;
  {
    auto log = AuditLog::open(dir.file("always.jsonl"), FsyncMode::always, clock);
    ASSERT_TRUE(log);
    for (int i = 0; i < 3; ++i)
      (*log)->append(sample_request());
    EXPECT_EQ((*log)->stats().fsyncs, 3u);
  }
  {
    auto log = AuditLog::open(dir.file("batch.jsonl"), FsyncMode::batch, clock);
    ASSERT_TRUE(log);
    (*log)->append(sample_request()); // the first write after a quiet period syncs
    EXPECT_EQ((*log)->stats().fsyncs, 1u);
    (*log)->append(sample_request());
    (*log)->append(sample_request());
    (*log)->tick();
    EXPECT_EQ((*log)->stats().fsyncs, 1u); // at most every 100 ms
    clock.advance_us(99'000);
    (*log)->tick();
    EXPECT_EQ((*log)->stats().fsyncs, 1u);
    clock.advance_us(1'000);
    (*log)->tick();
    EXPECT_EQ((*log)->stats().fsyncs, 2u);
    (*log)->tick(); // nothing new written
    EXPECT_EQ((*log)->stats().fsyncs, 2u);
    (*log)->append(sample_request());
    ASSERT_TRUE((*log)->close().ok()); // close syncs what is pending
    EXPECT_EQ((*log)->stats().fsyncs, 3u);
  }
  {
    auto log = AuditLog::open(dir.file("never.jsonl"), FsyncMode::never, clock);
    ASSERT_TRUE(log);
    for (int i = 0; i < 3; ++i)
      (*log)->append(sample_request());
    ASSERT_TRUE((*log)->close().ok());
    EXPECT_EQ((*log)->stats().fsyncs, 0u);
  }
  EXPECT_EQ(parse_fsync_mode("batch"), FsyncMode::batch);
  EXPECT_FALSE(parse_fsync_mode("sometimes"));
}

TEST(AuditLog, ReopenContinuesTheChain) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  std::string hash3;
  {
    auto log = AuditLog::open(path, FsyncMode::batch, clock);
    ASSERT_TRUE(log);
    for (int i = 0; i < 3; ++i)
      (*log)->append(sample_request());
    hash3 = (*log)->last_hash();
  }
  auto log = AuditLog::open(path, FsyncMode::batch, clock);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ((*log)->last_seq(), 3u);
  EXPECT_EQ((*log)->append(sample_request()), 4u);
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[3].find(R"("prev":")" + hash3 + "\""), std::string::npos);
  auto report = verify_file(path);
  EXPECT_TRUE(report.ok()) << report.to_text();
  EXPECT_EQ(report.verified, 4u);
  EXPECT_TRUE(report.warnings.empty());
}

TEST(AuditLog, ReopenAfterPartialLineDropsItAndSaysSo) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  {
    auto log = AuditLog::open(path, FsyncMode::never, clock);
    ASSERT_TRUE(log);
    for (int i = 0; i < 3; ++i)
      (*log)->append(sample_request());
  }
  const std::string fragment = R"({"seq":4,"ts":"2026-01-01T00:00:00.000000Z","prev":"ab)";
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << fragment;
  }
  auto before = verify_file(path);
  EXPECT_TRUE(before.ok()) << before.to_text();
  EXPECT_EQ(before.verified, 3u);

  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ((*log)->stats().recovered_partial_bytes, fragment.size());
  EXPECT_EQ((*log)->last_seq(), 4u); // the lifecycle record
  EXPECT_EQ((*log)->append(sample_request()), 5u);
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_NE(lines[3].find(R"("kind":"lifecycle")"), std::string::npos);
  EXPECT_NE(lines[3].find(R"("detector":"audit.partial_record_dropped")"), std::string::npos);
  EXPECT_NE(lines[3].find(R"("detail":{"dropped_bytes":)" + std::to_string(fragment.size())),
            std::string::npos);
  auto report = verify_file(path);
  EXPECT_TRUE(report.ok()) << report.to_text();
  EXPECT_EQ(report.verified, 5u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(report.warnings[0],
            "seq 4: dropped " + std::to_string(fragment.size()) +
                " bytes of a partial last line left by an interrupted write (crash or kill -9) "
                "after seq 3");
}

TEST(AuditLog, ReopenAfterTruncationRecordsTheTampering) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  {
    auto log = AuditLog::open(path, FsyncMode::never, clock);
    ASSERT_TRUE(log);
    for (int i = 0; i < 5; ++i)
      (*log)->append(sample_request());
  }
  auto lines = read_lines(path);
  lines.resize(3);
  test::write_lines(path, lines);
  {
    auto log = AuditLog::open(path, FsyncMode::never, clock);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ((*log)->last_seq(), 4u);
  }
  auto report = verify_file(path);
  EXPECT_EQ(report.status, VerifyStatus::failed);
  EXPECT_EQ(report.first_bad_seq, 4u);
  EXPECT_EQ(report.error, "seq 4: tampering recorded when the log was reopened: log ended at seq 3 "
                          "but " +
                              head_path_for(path) +
                              " said 5 (records 4..5 removed before this reopen)");
}

TEST(AuditLog, SecondOpenOfTheSameFileIsRefused) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  auto a = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(a);
  auto b = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("in use by another process"), std::string::npos);
}

TEST(AuditLog, RefusesToContinueAFileThatIsNotAnAuditLog) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("notes.txt");
  test::write_file(path, "hello\nworld\n");
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().message.find("is not an audit record"), std::string::npos)
      << log.error().message;
  EXPECT_EQ(read_file(path), "hello\nworld\n"); // untouched
}

TEST(AuditLog, OpenFailsWithAReasonForAMissingDirectory) {
  util::ManualClock clock;
  auto log = AuditLog::open("/nonexistent-dir-warden/a.jsonl", FsyncMode::never, clock);
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().message.find("cannot open audit log /nonexistent-dir-warden/a.jsonl"),
            std::string::npos);
}

TEST(AuditLog, RedactsDetailPathAndFindings) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(log);
  const std::string gh = "ghp_" + std::string(36, 'a');
  Record r = sample_request();
  r.detail = R"({"token":")" + gh + R"(","n":1})";
  r.path = "/v1?key=AIza" + std::string(35, 'B');
  r.findings.push_back({"secrets.aws", core::Severity::high,
                        "AWS key AKIAABCDEFGHIJKLMNOP in result", "AKIAABCDEFGHIJKLMNOP"});
  (*log)->append(r);
  auto line = read_lines(path).at(0);
  EXPECT_EQ(line.find(gh), std::string::npos);
  EXPECT_EQ(line.find("AKIAABCDEFGHIJKLMNOP"), std::string::npos);
  EXPECT_EQ(line.find("AIzaBBB"), std::string::npos);
  EXPECT_NE(line.find(R"("detail":{"token":"[REDACTED:github_token]","n":1})"), std::string::npos);
  EXPECT_NE(line.find(R"("evidence":"[REDACTED:aws_access_key_id]")"), std::string::npos);
  EXPECT_NE(line.find(R"("path":"/v1?key=[REDACTED:google_api_key]")"), std::string::npos);
  EXPECT_TRUE(parses(line));
  EXPECT_TRUE(verify_file(path).ok());
}

TEST(AuditLog, OversizedDetailBecomesAStringExcerpt) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  AuditLogOptions opt;
  opt.detail_cap = 100;
  auto log = AuditLog::open(path, FsyncMode::never, clock, opt);
  ASSERT_TRUE(log);
  Record r = sample_request();
  // A multi-byte character straddles the cut: the excerpt must stay valid UTF-8.
  r.detail = "\"" + std::string(98, 'x') + "\xC3\xA9" + std::string(200, 'y') + "\"";
  (*log)->append(r);
  auto line = read_lines(path).at(0);
  ASSERT_TRUE(parses(line));
  simdjson::dom::parser p;
  std::string_view detail;
  ASSERT_EQ(p.parse(line)["detail"].get_string().get(detail), simdjson::SUCCESS);
  EXPECT_EQ(detail, "\"" + std::string(98, 'x') + "\xE2\x80\xA6 [truncated: 99 of 302 bytes]");
}

TEST(AuditLog, InvalidJsonOrUtf8NeverBreaksTheLine) {
  TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  ASSERT_TRUE(log);
  Record r = sample_request();
  r.server = "bad\xFF\xFEserver";
  r.method = "tools/\xC0\xAF"
             "call";
  r.id = "{not json";
  r.detail = "plain text line from the server \x01\x1b[31m";
  (*log)->append(r);
  auto line = read_lines(path).at(0);
  ASSERT_TRUE(parses(line)) << line;
  EXPECT_NE(line.find(R"("id":"{not json")"), std::string::npos);
  EXPECT_NE(line.find(R"("detail":"plain text line from the server \u0001\u001b[31m")"),
            std::string::npos);
  EXPECT_TRUE(verify_file(path).ok());
}

TEST(AuditLog, AppendAfterCloseFailsWithAReason) {
  TempDir dir;
  util::ManualClock clock;
  auto log = AuditLog::open(dir.file("a.jsonl"), FsyncMode::never, clock);
  ASSERT_TRUE(log);
  ASSERT_TRUE((*log)->close().ok());
  EXPECT_EQ((*log)->append(sample_request()), 0u);
  EXPECT_FALSE((*log)->healthy());
  EXPECT_NE((*log)->last_error().find("is closed"), std::string::npos);
}

TEST(AuditLog, TwoThreadsAppendingKeepOneChain) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  auto log = AuditLog::open(path, FsyncMode::never, util::SystemClock::instance());
  ASSERT_TRUE(log);
  auto work = [&] {
    for (int i = 0; i < 500; ++i) {
      if (i % 50 == 0) {
        AuditLog::BatchScope batch(**log);
        (*log)->append(sample_request(i));
        (*log)->append(sample_request(i));
      } else {
        (*log)->append(sample_request(i));
      }
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  ASSERT_TRUE((*log)->close().ok());
  auto report = verify_file(path);
  EXPECT_TRUE(report.ok()) << report.to_text();
  EXPECT_EQ(report.verified, 1020u);
}

} // namespace
} // namespace warden::audit

namespace warden::audit {
namespace {

TEST(AuditLog, ReopenWithoutHeadFileRecordsIt) {
  test::TempDir dir;
  util::ManualClock clock;
  auto path = dir.file("a.jsonl");
  {
    auto log = AuditLog::open(path, FsyncMode::never, clock);
    ASSERT_TRUE(log);
    for (int i = 0; i < 3; ++i)
      (*log)->append(sample_request());
  }
  std::remove(head_path_for(path).c_str());
  {
    auto log = AuditLog::open(path, FsyncMode::never, clock);
    ASSERT_TRUE(log);
    EXPECT_EQ((*log)->last_seq(), 4u);
  }
  auto report = verify_file(path);
  EXPECT_TRUE(report.ok()) << report.to_text();
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(report.warnings[0], "seq 4: " + head_path_for(path) +
                                    " was missing for a log of 3 records; removal of trailing "
                                    "records before this reopen cannot be ruled out");
}

} // namespace
} // namespace warden::audit
