#include "warden/gateway/processor.h"

#include <gtest/gtest.h>

namespace warden::gateway {
namespace {

using core::Direction;

// Blocks tools/call of "forbidden", as a policy would.
class DenyForbidden final : public MessageFilter {
public:
  const char* name() const override { return "deny-forbidden"; }
  FilterStatus on_message(MessageContext& ctx) override {
    if (ctx.message.method == "tools/call" && ctx.message.target == "forbidden") {
      ctx.rule = "test.rule";
      ctx.stop_with_error(core::Decision::block, codec::k_policy_blocked, "denied");
      return FilterStatus::Stop;
    }
    return FilterStatus::Continue;
  }
};

struct ProcessorTest : ::testing::Test {
  ProcessorTest() {
    chain.add(std::make_unique<DenyForbidden>());
    processor = std::make_unique<Processor>(session, chain, nullptr, nullptr, clock, codec::Limits{});
  }
  Output send(Direction d, const std::string& line) {
    Output out;
    processor->on_line(d, line, false, out);
    return out;
  }
  util::ManualClock clock;
  Session session{"srv", "sess"};
  FilterChain chain;
  std::unique_ptr<Processor> processor;
};

TEST_F(ProcessorTest, ForwardsAllowedRequestByteExactAndItsResponse) {
  std::string req = R"({"jsonrpc":"2.0", "id":1,"method":"tools/call","params":{"name":"echo"}})";
  auto out = send(Direction::c2s, req);
  EXPECT_EQ(out.to_server, req + "\n");
  EXPECT_EQ(out.to_client, "");
  std::string resp = R"({"jsonrpc":"2.0","id":1,"result":{"content":[]}})";
  out = send(Direction::s2c, resp);
  EXPECT_EQ(out.to_client, resp + "\n");
  EXPECT_TRUE(session.pending_c2s().empty());
}

TEST_F(ProcessorTest, BlockedRequestIsAnsweredAndNeverForwarded) {
  auto out = send(Direction::c2s, R"({"jsonrpc":"2.0","id":"x","method":"tools\u002fcall","params":{"name":"forbidden"}})");
  EXPECT_EQ(out.to_server, "");
  EXPECT_EQ(out.to_client, R"({"jsonrpc":"2.0","id":"x","error":{"code":-32001,"message":"mcp-warden: denied","data":{"decision":"block","rule":"test.rule"}}})" "\n");
  EXPECT_TRUE(session.pending_c2s().empty());
}

TEST_F(ProcessorTest, InvalidClientMessageGetsErrorWithItsId) {
  auto out = send(Direction::c2s, R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"a","name":"forbidden"}})");
  EXPECT_EQ(out.to_server, "");
  EXPECT_NE(out.to_client.find(R"("id":5,"error":{"code":-32600)"), std::string::npos) << out.to_client;
  EXPECT_NE(out.to_client.find("duplicate key"), std::string::npos);
  out = send(Direction::c2s, "not json at all");
  EXPECT_NE(out.to_client.find(R"("id":null,"error":{"code":-32700)"), std::string::npos);
}

TEST_F(ProcessorTest, NonJsonServerOutputIsDroppedNotForwarded) {
  auto out = send(Direction::s2c, "Server listening on stdio...");
  EXPECT_EQ(out.to_client, "");
  EXPECT_EQ(processor->stats().dropped_non_json, 1u);
}

TEST_F(ProcessorTest, UnmatchedResponsesAreDropped) {
  auto out = send(Direction::s2c, R"({"jsonrpc":"2.0","id":99,"result":{}})");
  EXPECT_EQ(out.to_client, "");
}

TEST_F(ProcessorTest, ServerToClientRequestsAndTheirResponsesPass) {
  std::string sampling = R"({"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{"messages":[]}})";
  auto out = send(Direction::s2c, sampling);
  EXPECT_EQ(out.to_client, sampling + "\n");
  std::string answer = R"({"jsonrpc":"2.0","id":0,"result":{"role":"assistant"}})";
  out = send(Direction::c2s, answer);
  EXPECT_EQ(out.to_server, answer + "\n");
}

TEST_F(ProcessorTest, DuplicateIdInFlightIsRefused) {
  send(Direction::c2s, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  auto out = send(Direction::c2s, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}})");
  EXPECT_EQ(out.to_server, "");
  EXPECT_NE(out.to_client.find("already in use"), std::string::npos);
}

TEST_F(ProcessorTest, BatchesOnlyIn20250326) {
  std::string batch = R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}])";
  send(Direction::c2s, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})");
  send(Direction::s2c, R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18"}})");
  EXPECT_EQ(session.protocol_version(), "2025-06-18");
  auto out = send(Direction::c2s, batch);
  EXPECT_EQ(out.to_server, "");
  EXPECT_NE(out.to_client.find("batches are not allowed"), std::string::npos);

  Session s2{"srv", "s2"};
  Processor p2(s2, chain, nullptr, nullptr, clock, codec::Limits{});
  Output o;
  p2.on_line(Direction::c2s, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26"}})", false, o);
  p2.on_line(Direction::s2c, R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-03-26"}})", false, o);
  Output ob;
  p2.on_line(Direction::c2s, batch, false, ob);
  EXPECT_EQ(ob.to_server, batch + "\n");
  // A batch with a refused member: the rest is forwarded as a batch, the refusal answered as one.
  Output oc;
  p2.on_line(Direction::c2s, R"([{"jsonrpc":"2.0","id":3,"method":"ping"},{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"forbidden"}}])", false, oc);
  EXPECT_EQ(oc.to_server, R"([{"jsonrpc":"2.0","id":3,"method":"ping"}])" "\n");
  EXPECT_EQ(oc.to_client, R"([{"jsonrpc":"2.0","id":4,"error":{"code":-32001,"message":"mcp-warden: denied","data":{"decision":"block","rule":"test.rule"}}}])" "\n");
}

TEST_F(ProcessorTest, ServerExitAnswersEveryPendingRequest) {
  send(Direction::c2s, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow"}})");
  send(Direction::c2s, R"({"jsonrpc":"2.0","id":"b","method":"resources/read","params":{"uri":"file:///x"}})");
  Output out;
  processor->on_server_exit("exited with status 7", out);
  EXPECT_NE(out.to_client.find(R"("id":1,"error":{"code":-32002,"message":"mcp-warden: the server exited with status 7 before answering this tools/call request")"), std::string::npos) << out.to_client;
  EXPECT_NE(out.to_client.find(R"("id":"b","error")"), std::string::npos);
  EXPECT_TRUE(session.pending_c2s().empty());
}

TEST_F(ProcessorTest, RequestsPastTheirTimeoutAreAnsweredAndCancelled) {
  send(Direction::c2s, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow"}})");
  clock.advance_us(4'000'000);
  send(Direction::c2s, R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fast"}})");
  Output out;
  EXPECT_EQ(processor->expire_requests(clock.now_mono_us(), 5'000'000, out), 0u);
  clock.advance_us(2'000'000);  // id 1 is 6 s old, id 2 is 2 s old
  EXPECT_EQ(processor->expire_requests(clock.now_mono_us(), 5'000'000, out), 1u);
  EXPECT_NE(out.to_client.find(R"("id":1,"error":{"code":-32003,"message":"mcp-warden: server 'srv' did not answer this tools/call request within 5 s)"),
            std::string::npos)
      << out.to_client;
  EXPECT_EQ(out.to_server,
            R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"timed out in mcp-warden"}})"
            "\n");
  EXPECT_EQ(session.pending_c2s().size(), 1u);
  // A late answer to the expired request is dropped, not passed on.
  EXPECT_EQ(send(Direction::s2c, R"({"jsonrpc":"2.0","id":1,"result":{}})").to_client, "");
}

TEST_F(ProcessorTest, SessionlessVersionFromMeta) {
  send(Direction::c2s, R"({"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  EXPECT_EQ(session.era(), codec::Era::sessionless);
}

TEST(DetailExcerpt, SmallAsJsonLargeAsCutString) {
  codec::Decoder d;
  auto r = d.decode(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","arguments":{"a":1}}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(detail_excerpt(r->messages[0]), R"({"a":1})");
  std::string big = R"({"jsonrpc":"2.0","id":1,"result":{"t":")" + std::string(10000, 'x') + "\"}}";
  auto r2 = d.decode(big);
  ASSERT_TRUE(r2.ok());
  std::string ex = detail_excerpt(r2->messages[0], 100);
  EXPECT_EQ(ex.front(), '"');
  EXPECT_NE(ex.find("truncated, message was"), std::string::npos);
  EXPECT_EQ(safe_excerpt("ok\xff\x01"), "ok\\xff\\x01");
}

}  // namespace
}  // namespace warden::gateway

// The processor with a real audit log: one record per message, the refusal's audit_seq in the
// error the client sees, and responses recorded under their request's method and tool.
#include "warden/audit/audit_log.h"
#include "warden/audit/verify.h"

#include <fstream>
#include <unistd.h>

namespace warden::gateway {
namespace {

TEST(ProcessorAudit, RecordsEveryMessageAndNamesTheSeqInRefusals) {
  char dir[] = "/tmp/warden-proc-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/audit.jsonl";
  util::ManualClock clock;
  auto log = audit::AuditLog::open(path, audit::FsyncMode::never, clock);
  ASSERT_TRUE(log.ok()) << log.error().message;
  Session session{"srv", "sess-1"};
  FilterChain chain;
  chain.add(std::make_unique<DenyForbidden>());
  Processor p(session, chain, log->get(), nullptr, clock, codec::Limits{});
  Output out;
  p.on_line(Direction::c2s, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"token":"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}}})", false, out);
  clock.advance_us(250);
  p.on_line(Direction::s2c, R"({"jsonrpc":"2.0","id":1,"result":{"content":[]}})", false, out);
  p.on_line(Direction::c2s, R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"forbidden"}})", false, out);
  EXPECT_NE(out.to_client.find(R"("data":{"decision":"block","rule":"test.rule","audit_seq":3})"), std::string::npos) << out.to_client;
  ASSERT_TRUE((*log)->close().ok());

  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find(R"("kind":"request","direction":"c2s","method":"tools/call","tool":"echo","id":1,"decision":"allow")"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("ghp_abcdefghijklmnopqrstuvwxyz0123456789"), std::string::npos) << "secret not redacted: " << lines[0];
  EXPECT_NE(lines[1].find(R"("kind":"response","direction":"s2c","method":"tools/call","tool":"echo","id":1,"decision":"allow","findings":[],"latency_us":250)"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(R"("decision":"block")"), std::string::npos);
  EXPECT_TRUE(audit::verify_file(path).ok());
  unlink((path + ".head").c_str());
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace warden::gateway
