#include "warden/gateway/modern.h"

#include <map>

#include <gtest/gtest.h>

#include "warden/codec/codec.h"

namespace warden::gateway::modern {
namespace {

constexpr const char* k_meta =
    R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}})";

struct ModernCheck : ::testing::Test {
  std::optional<Refusal> run(const std::string& body, Headers h) {
    auto d = decoder.decode(body, false);
    EXPECT_TRUE(d.ok()) << body;
    if (!d.ok()) return Refusal{};
    return check(h, d->messages.at(0));
  }
  static Headers good(std::string method, std::optional<std::string> name = std::nullopt) {
    return Headers{"2026-07-28", std::move(method), std::move(name)};
  }
  codec::Decoder decoder;
};

TEST(ModernEra, TellsTheErasApart) {
  EXPECT_TRUE(is_modern("2026-07-28", false, "{}"));
  EXPECT_TRUE(is_modern("v999.0.0", false, "{}"));  // then refused as unsupported (-32022)
  EXPECT_FALSE(is_modern("2025-11-25", false, "{}"));
  EXPECT_FALSE(is_modern("2026-07-28", true, "{}"));  // a session keeps the legacy rules
  EXPECT_FALSE(is_modern("", false, R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})"));
  EXPECT_TRUE(is_modern("", false, std::string(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{)") + k_meta + "}}"));
}

TEST_F(ModernCheck, AcceptsAWellFormedCall) {
  std::string body = std::string(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",)") + k_meta + "}}";
  EXPECT_FALSE(run(body, good("tools/call", "echo")).has_value());
  EXPECT_FALSE(run(body, good("tools/call", "=?base64?ZWNobw==?=")).has_value());  // "echo"
}

TEST_F(ModernCheck, RefusesInTheSpecifiedOrder) {
  // _meta first: -32602 even though the headers are fine.
  auto r = run(R"({"jsonrpc":"2.0","id":101,"method":"server/discover","params":{}})", good("server/discover"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->http_status, 400);
  EXPECT_EQ(r->code, -32602);
  // Header and body versions differ: -32020.
  std::string v999 = R"({"jsonrpc":"2.0","id":2,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"v999.0.0","io.modelcontextprotocol/clientCapabilities":{}}}})";
  r = run(v999, good("server/discover"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, k_header_mismatch);
  // Both say v999.0.0: unsupported, with what is supported.
  r = run(v999, Headers{"v999.0.0", "server/discover", {}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, k_unsupported_version);
  EXPECT_EQ(r->data_json, R"({"supported":["2026-07-28"],"requested":"v999.0.0"})");
  // Mcp-Method missing, wrong or in another case.
  std::string list = std::string(R"({"jsonrpc":"2.0","id":3,"method":"tools/list","params":{)") + k_meta + "}}";
  EXPECT_EQ(run(list, Headers{"2026-07-28", {}, {}})->code, k_header_mismatch);
  EXPECT_EQ(run(list, good("prompts/list"))->code, k_header_mismatch);
  EXPECT_EQ(run(list, good("TOOLS/LIST"))->code, k_header_mismatch);
  // Mcp-Name missing, wrong, or bad base64.
  std::string call = std::string(R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo",)") + k_meta + "}}";
  EXPECT_EQ(run(call, good("tools/call"))->code, k_header_mismatch);
  EXPECT_EQ(run(call, good("tools/call", "wrong_tool_name"))->code, k_header_mismatch);
  EXPECT_EQ(run(call, good("tools/call", "=?base64?ZWNobw?="))->code, k_header_mismatch);   // padding
  EXPECT_EQ(run(call, good("tools/call", "=?base64?ZWN!bw==?="))->code, k_header_mismatch); // alphabet
  // Without the exact lowercase marker the value is literal (and here does not match).
  EXPECT_EQ(run(call, good("tools/call", "=?BASE64?ZWNobw==?="))->code, k_header_mismatch);
  // resources/read names the URI.
  std::string read = std::string(R"({"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"test://a",)") + k_meta + "}}";
  EXPECT_FALSE(run(read, good("resources/read", "test://a")).has_value());
  EXPECT_EQ(run(read, good("resources/read", "test://b"))->code, k_header_mismatch);
}

TEST_F(ModernCheck, RemovedAndUnknownMethodsAre404) {
  for (const char* method : {"initialize", "ping", "logging/setLevel", "resources/subscribe", "unknown/method"}) {
    std::string body = std::string(R"({"jsonrpc":"2.0","id":9,"method":")") + method + R"(","params":{"uri":"test://a",)" + k_meta + "}}";
    auto r = run(body, good(method));
    ASSERT_TRUE(r) << method;
    EXPECT_EQ(r->http_status, 404) << method;
    EXPECT_EQ(r->code, -32601) << method;
  }
  auto r = run(R"({"jsonrpc":"2.0","id":1,"result":{}})", good("x"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, -32600);
}

TEST_F(ModernCheck, ParamHeadersMirrorAnnotatedArguments) {
  simdjson::dom::parser p;
  auto list = p.parse(std::string(
      R"({"tools":[{"name":"t","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"n":{"type":"number","x-mcp-header":"Count"},"plain":{"type":"string"}}}}]})"));
  ASSERT_EQ(list.error(), simdjson::SUCCESS);
  ParamHeaders known;
  collect_param_headers(list.value(), known);
  ASSERT_EQ(known.at("t").size(), 2u);
  auto call = [&](const std::string& args, std::map<std::string, std::string> headers) {
    auto d = decoder.decode(std::string(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":)") + args + "," + k_meta + "}}", false);
    EXPECT_TRUE(d.ok());
    return check_param_headers(known, d->messages.at(0), [&](std::string_view name) -> std::optional<std::string> {
      auto it = headers.find(std::string(name));
      if (it == headers.end()) return std::nullopt;
      return it->second;
    });
  };
  EXPECT_FALSE(call(R"({"region":"eu","n":42})", {{"mcp-param-region", "eu"}, {"mcp-param-count", "42.0"}}).has_value());
  EXPECT_FALSE(call(R"({"region":"eu"})", {{"mcp-param-region", "=?base64?ZXU=?="}}).has_value());
  EXPECT_FALSE(call(R"({"plain":"x"})", {}).has_value());  // nothing mirrored, nothing expected
  EXPECT_EQ(call(R"({"region":"eu"})", {})->code, k_header_mismatch);  // value in the body, no header
  EXPECT_EQ(call(R"({"region":"eu"})", {{"mcp-param-region", "us"}})->code, k_header_mismatch);
  EXPECT_EQ(call(R"({"region":"eu"})", {{"mcp-param-region", "=?base64?ZXU?="}})->code, k_header_mismatch);
  EXPECT_EQ(call(R"({"n":42})", {{"mcp-param-count", "41"}})->code, k_header_mismatch);
  EXPECT_EQ(status_of_error(k_missing_client_capability), 400);
  EXPECT_EQ(status_of_error(-32601), 404);
  EXPECT_EQ(status_of_error(-32603), 200);
}

TEST(ModernResults, CompletedForModernClients) {
  simdjson::dom::parser p;
  const std::string info = R"({"name":"fixture","version":"1"})";
  EXPECT_EQ(complete_response(R"({"jsonrpc":"2.0","id":1,"result":{"tools":[]}})", "tools/list", info, p),
            R"({"jsonrpc":"2.0","id":1,"result":{"tools":[],"resultType":"complete","ttlMs":0,"cacheScope":"private","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"fixture","version":"1"}}}})");
  EXPECT_EQ(complete_response(R"({"jsonrpc":"2.0","id":1,"result":{"content":[],"_meta":{"a":1}}})", "tools/call", info, p),
            R"({"jsonrpc":"2.0","id":1,"result":{"content":[],"_meta":{"a":1,"io.modelcontextprotocol/serverInfo":{"name":"fixture","version":"1"}},"resultType":"complete"}})");
  EXPECT_EQ(complete_response(R"({"jsonrpc":"2.0","id":1,"result":{}})", "completion/complete", "", p),
            R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}})");
  std::string err = R"({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no"}})";
  EXPECT_EQ(complete_response(err, "tools/call", info, p), err);
}

TEST(ModernResults, DiscoverFromTheInitializeResult) {
  simdjson::dom::parser p;
  auto init = p.parse(std::string(
      R"({"protocolVersion":"2025-11-25","capabilities":{"tools":{"listChanged":true},"resources":{"subscribe":true,"listChanged":true},"logging":{}},"serverInfo":{"name":"s","version":"2"},"instructions":"hi"})"));
  ASSERT_EQ(init.error(), simdjson::SUCCESS);
  EXPECT_EQ(discover_result(init.value()),
            R"({"supportedVersions":["2026-07-28","2025-11-25","2025-06-18","2025-03-26"],"capabilities":{"tools":{},"resources":{}},"instructions":"hi","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"2"}},"ttlMs":0,"cacheScope":"private","resultType":"complete"})");
  EXPECT_TRUE(served("tools/call", init.value()["capabilities"]));
  EXPECT_FALSE(served("prompts/list", init.value()["capabilities"]));
  EXPECT_TRUE(served("server/discover", init.value()["capabilities"]));
}

}  // namespace
}  // namespace warden::gateway::modern

namespace warden::gateway::modern {
namespace {

TEST(InputRounds, StatesAreBoundSignedAndForgotten) {
  InputRounds rounds;
  InputRounds::Held h{"smcp-warden-1", "ci", "tools/call", "send", {{"sampling1", "7", "sampling/createMessage", "{}"}}};
  std::string state = rounds.hold(h);
  ASSERT_NE(rounds.find(state, "ci", "tools/call", "send"), nullptr);
  EXPECT_EQ(rounds.find(state, "ci", "tools/call", "send")->asks.at(0).server_id, "7");
  EXPECT_EQ(rounds.find(state, "other-agent", "tools/call", "send"), nullptr);
  EXPECT_EQ(rounds.find(state, "ci", "tools/call", "delete"), nullptr);
  std::string tampered = state;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(rounds.find(tampered, "ci", "tools/call", "send"), nullptr);
  EXPECT_EQ(rounds.find(state + "-TAMPERED", "ci", "tools/call", "send"), nullptr);
  EXPECT_EQ(rounds.find("garbage", "ci", "tools/call", "send"), nullptr);
  // Another gateway process (another key) does not accept it either.
  InputRounds other;
  other.hold(h);
  EXPECT_EQ(other.find(state, "ci", "tools/call", "send"), nullptr);
  rounds.forget_call("smcp-warden-1");
  EXPECT_EQ(rounds.find(state, "ci", "tools/call", "send"), nullptr);
  EXPECT_EQ(InputRounds::result(h.asks, "S"),
            R"({"resultType":"input_required","inputRequests":{"sampling1":{"method":"sampling/createMessage","params":{}}},"requestState":"S"})");
  EXPECT_STREQ(InputRounds::capability_for("elicitation/create"), "elicitation");
  EXPECT_EQ(InputRounds::capability_for("ping"), nullptr);
}

}  // namespace
}  // namespace warden::gateway::modern
