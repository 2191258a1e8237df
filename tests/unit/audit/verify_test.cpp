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
using test::write_file;
using test::write_lines;

// A log of `n` records (tool "tool<seq>"), closed. Returns the head file text after each record.
std::vector<std::string> write_log(const std::string& path, int n) {
  util::ManualClock clock;
  auto log = AuditLog::open(path, FsyncMode::never, clock);
  EXPECT_TRUE(log) << log.error().message;
  std::vector<std::string> heads;
  for (int i = 1; i <= n; ++i) {
    Record r;
    r.server = "srv";
    r.method = "tools/call";
    r.tool = "tool" + std::to_string(i);
    r.id = std::to_string(i);
    (*log)->append(r);
    clock.advance_us(10);
    heads.push_back(read_file(head_path_for(path)));
  }
  EXPECT_TRUE((*log)->close().ok());
  return heads;
}

// Re-seals a line after an edit, as a careful attacker would.
std::string reseal(const std::string& line, const std::string& prev_hash) {
  std::string canonical = line.substr(0, line.size() - 75) + "}";
  size_t p = canonical.find("\"prev\":\"") + 8;
  canonical.replace(p, 64, prev_hash);
  std::string h = util::sha256_hex(canonical);
  return canonical.substr(0, canonical.size() - 1) + ",\"hash\":\"" + h + "\"}";
}

std::string hash_of(const std::string& line) {
  return line.substr(line.size() - 66, 64);
}

TEST(AuditVerify, IntactLogVerifies) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 10);
  auto r = verify_file(path);
  EXPECT_TRUE(r.ok()) << r.to_text();
  EXPECT_EQ(r.verified, 10u);
  EXPECT_EQ(r.last_seq, 10u);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.to_text(), "OK: 10 records verified (last seq 10)\n");
  EXPECT_EQ(r.to_json(), R"({"ok":true,"status":"ok","verified":10,"last_seq":10,)"
                         R"("first_bad_seq":null,"error":null,"warnings":[]})");
}

TEST(AuditVerify, EditedByteIsNamed) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 10);
  auto lines = read_lines(path);
  auto p = lines[6].find("\"tool7\"");
  ASSERT_NE(p, std::string::npos);
  lines[6][p + 4] = 'L'; // tool7 -> tooL7
  write_lines(path, lines);
  auto r = verify_file(path);
  EXPECT_EQ(r.status, VerifyStatus::failed);
  EXPECT_EQ(r.error, "seq 7: hash mismatch (record edited)");
  EXPECT_EQ(r.first_bad_seq, 7u);
  EXPECT_EQ(r.verified, 6u);
  EXPECT_EQ(r.to_text(),
            "FAILED: seq 7: hash mismatch (record edited)\n6 records verified before it\n");
}

TEST(AuditVerify, DeletedLineIsNamed) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 10);
  auto lines = read_lines(path);
  lines.erase(lines.begin() + 4); // seq 5
  write_lines(path, lines);
  auto r = verify_file(path);
  EXPECT_EQ(r.status, VerifyStatus::failed);
  EXPECT_EQ(r.error, "seq 5: expected seq 5, found 6 (record removed or reordered)");
  EXPECT_EQ(r.verified, 4u);
}

TEST(AuditVerify, SwappedLinesAreNamed) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 10);
  auto lines = read_lines(path);
  std::swap(lines[4], lines[5]);
  write_lines(path, lines);
  auto r = verify_file(path);
  EXPECT_EQ(r.error, "seq 5: expected seq 5, found 6 (record removed or reordered)");
  EXPECT_EQ(r.first_bad_seq, 5u);
}

TEST(AuditVerify, DuplicatedLineIsNamed) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 5);
  auto lines = read_lines(path);
  lines.insert(lines.begin() + 3, lines[2]);
  write_lines(path, lines);
  EXPECT_EQ(verify_file(path).error,
            "seq 4: expected seq 4, found 3 (record duplicated or reordered)");
}

TEST(AuditVerify, TruncatedWholeRecordsAreCaughtByTheHeadFile) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 12);
  auto lines = read_lines(path);
  lines.resize(9);
  write_lines(path, lines);
  auto r = verify_file(path);
  EXPECT_EQ(r.status, VerifyStatus::failed);
  EXPECT_EQ(r.error, "truncated: log ends at seq 9 but " + head_path_for(path) +
                         " says 12 (records 10..12 removed)");
  EXPECT_EQ(r.first_bad_seq, 10u);
  EXPECT_EQ(r.verified, 9u);
}

TEST(AuditVerify, CrashCutMidLineIsAWarningAndTheRestVerifies) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  auto heads = write_log(path, 10);
  // The state kill -9 leaves in the middle of writing record 10: part of its line on disk, and
  // the head file not yet rewritten (it is updated after the write returns).
  std::string content = read_file(path);
  size_t start10 = content.rfind('\n', content.size() - 2) + 1;
  write_file(path, content.substr(0, start10 + 40));
  write_file(head_path_for(path), heads[8]);
  auto r = verify_file(path);
  EXPECT_TRUE(r.ok()) << r.to_text();
  EXPECT_EQ(r.verified, 9u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            "partial last line after seq 9 (40 bytes, no newline): ignored; an interrupted write "
            "(e.g. kill -9) leaves this and the next open drops it");
}

TEST(AuditVerify, CutMidLineOfARecordTheHeadVouchesForFails) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 10);
  std::string content = read_file(path);
  write_file(path, content.substr(0, content.size() - 30)); // head still says 10
  auto r = verify_file(path);
  EXPECT_EQ(r.status, VerifyStatus::failed);
  EXPECT_EQ(r.error, "truncated: log ends at seq 9 but " + head_path_for(path) +
                         " says 10 (record 10 removed, the last one cut mid-line)");
}

TEST(AuditVerify, ReopenAfterCrashCutContinuesAndVerifies) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  auto heads = write_log(path, 10);
  std::string content = read_file(path);
  size_t start10 = content.rfind('\n', content.size() - 2) + 1;
  write_file(path, content.substr(0, start10 + 40));
  write_file(head_path_for(path), heads[8]);
  {
    util::ManualClock clock;
    auto log = AuditLog::open(path, FsyncMode::never, clock);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ((*log)->last_seq(), 10u); // seq 10 is now the recovery record
    Record rec;
    rec.server = "srv";
    EXPECT_EQ((*log)->append(rec), 11u);
  }
  auto r = verify_file(path);
  EXPECT_TRUE(r.ok()) << r.to_text();
  EXPECT_EQ(r.verified, 11u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "seq 10: dropped 40 bytes of a partial last line left by an "
                           "interrupted write (crash or kill -9) after seq 9");
}

TEST(AuditVerify, EditedAndRehashedRecordBreaksTheNextLink) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 10);
  auto lines = read_lines(path);
  auto p = lines[6].find("\"tool7\"");
  lines[6].replace(p, 7, "\"evil7\"");
  lines[6] = reseal(lines[6], hash_of(lines[5]));
  write_lines(path, lines);
  auto r = verify_file(path);
  EXPECT_EQ(r.error, "seq 8: prev does not match the hash of seq 7 (that record was edited and "
                     "rehashed, or records were removed and renumbered)");
  EXPECT_EQ(r.verified, 7u);
}

TEST(AuditVerify, RewrittenTailIsCaughtByTheHeadFile) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 10);
  auto lines = read_lines(path);
  auto p = lines[6].find("\"tool7\"");
  lines[6].replace(p, 7, "\"evil7\"");
  for (size_t i = 6; i < lines.size(); ++i)
    lines[i] = reseal(lines[i], hash_of(lines[i - 1]));
  write_lines(path, lines);
  auto r = verify_file(path);
  EXPECT_EQ(r.error, "seq 10: hash differs from " + head_path_for(path) + " (records rewritten)");
  EXPECT_EQ(r.verified, 10u);
}

TEST(AuditVerify, LeadingRecordsRemovedAndRenumberedAreCaught) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 3);
  auto lines = read_lines(path);
  lines.erase(lines.begin());
  write_lines(path, lines);
  EXPECT_EQ(verify_file(path).error,
            "seq 1: expected seq 1, found 2 (record removed or reordered)");
}

TEST(AuditVerify, ForeignKeysAndBrokenJsonAreNamed) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 3);
  auto lines = read_lines(path);
  auto original = lines;
  lines[1].insert(lines[1].size() - 1, ",\"x\":1");
  write_lines(path, lines);
  EXPECT_EQ(verify_file(path).error, "seq 2: unexpected key \"x\" (record edited)");
  lines = original;
  lines[2] = lines[2].substr(0, 50);
  lines.push_back(original[2]);
  write_lines(path, lines);
  EXPECT_EQ(verify_file(path).error,
            "seq 3: line 3 is not a valid JSON object (record edited or corrupted)");
}

TEST(AuditVerify, MissingHeadFileIsAWarning) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 3);
  std::remove(head_path_for(path).c_str());
  auto r = verify_file(path);
  EXPECT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            "no " + head_path_for(path) + ": removal of trailing records cannot be detected");
}

TEST(AuditVerify, EditedHeadFileFails) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 3);
  write_file(head_path_for(path), "garbage\n");
  auto r = verify_file(path);
  EXPECT_EQ(r.status, VerifyStatus::failed);
  EXPECT_EQ(r.error, head_path_for(path) +
                         " is not a head file (expected one line `SEQ HASH`) (head file edited or "
                         "corrupted)");
}

TEST(AuditVerify, UnreadableFileIsNotAVerificationFailure) {
  auto r = verify_file("/nonexistent-warden/a.jsonl");
  EXPECT_EQ(r.status, VerifyStatus::unreadable);
  EXPECT_EQ(r.error, "cannot open /nonexistent-warden/a.jsonl: No such file or directory");
}

TEST(AuditVerify, EmptyLogVerifies) {
  TempDir dir;
  auto path = dir.file("a.jsonl");
  write_log(path, 0);
  auto r = verify_file(path);
  EXPECT_TRUE(r.ok()) << r.to_text();
  EXPECT_EQ(r.verified, 0u);
  EXPECT_EQ(r.to_text(), "OK: 0 records verified\n");
}

} // namespace
} // namespace warden::audit
