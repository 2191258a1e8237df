#include "warden/gateway/aggregator.h"

#include <gtest/gtest.h>

namespace warden::gateway {
namespace {

class AggregatorTest : public ::testing::Test {
protected:
  Aggregator agg{{"mail", "files"}, true, "1.2.3"};
  Aggregator::Out out;

  void client(std::string_view body) {
    out = {};
    agg.from_client(body, out);
  }
  void leg(size_t l, std::string_view line) {
    out = {};
    agg.from_leg(l, line, out);
  }
  std::string only_client() {
    EXPECT_EQ(out.to_client.size(), 1u);
    EXPECT_TRUE(out.to_leg.empty());
    return out.to_client.empty() ? "" : out.to_client[0];
  }
};

TEST_F(AggregatorTest, InitializeGoesToEveryServerAndMergesCapabilities) {
  client(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})");
  ASSERT_EQ(out.to_leg.size(), 2u);
  EXPECT_EQ(out.to_leg[0].first, 0u);
  EXPECT_EQ(out.to_leg[1].first, 1u);
  leg(1, R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true},"resources":{"subscribe":true}},"serverInfo":{"name":"fs"},"instructions":"read files"}})");
  EXPECT_TRUE(out.to_client.empty()) << "waits for every server";
  leg(0, R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{"listChanged":false},"logging":{}},"serverInfo":{"name":"mail"}}})");
  std::string r = only_client();
  EXPECT_NE(r.find(R"("protocolVersion":"2025-06-18")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("tools":{"listChanged":true})"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("logging":{})"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("resources":{"subscribe":true})"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("name":"mcp-warden-gateway","version":"1.2.3")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"([files] read files)"), std::string::npos) << r;
}

TEST_F(AggregatorTest, ToolsAreListedWithPrefixesAndCallsRoutedWithoutThem) {
  client(R"({"jsonrpc":"2.0","id":"t","method":"tools/list"})");
  ASSERT_EQ(out.to_leg.size(), 2u);
  leg(0, R"({"jsonrpc":"2.0","id":"t","result":{"tools":[{"name":"send","description":"send mail","inputSchema":{"type":"object","properties":{"name":{"type":"string"}}}}]}})");
  leg(1, R"({"jsonrpc":"2.0","id":"t","result":{"tools":[{"name":"read_file","inputSchema":{}}],"nextCursor":"p2"}})");
  std::string r = only_client();
  EXPECT_NE(r.find(R"("name":"mail__send")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("properties":{"name":{"type":"string"}})"), std::string::npos) << "only the tool's own name" << r;
  EXPECT_NE(r.find(R"("name":"files__read_file")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("nextCursor":"mcp-warden:{\"files\":\"p2\"}")"), std::string::npos) << r;
  EXPECT_TRUE(agg.take_tools_update());
  EXPECT_FALSE(agg.take_tools_update());
  auto tools = agg.tools();
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0].tools.at(0).name, "send");

  // The next page goes only to the server that has one, with its own cursor.
  client(R"({"jsonrpc":"2.0","id":"t2","method":"tools/list","params":{"cursor":"mcp-warden:{\"files\":\"p2\"}"}})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 1u);
  EXPECT_NE(out.to_leg[0].second.find(R"("cursor":"p2")"), std::string::npos) << out.to_leg[0].second;

  client(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"mail__send","arguments":{"to":"a@b"}}})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 0u);
  EXPECT_EQ(out.to_leg[0].second,
            R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"send","arguments":{"to":"a@b"}}})");
  leg(0, R"({"jsonrpc":"2.0","id":5,"result":{"content":[]}})");
  EXPECT_EQ(only_client(), R"({"jsonrpc":"2.0","id":5,"result":{"content":[]}})");
}

TEST_F(AggregatorTest, UnroutableCallsAreRefusedWithAReason) {
  client(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send"}})");
  std::string r = only_client();
  EXPECT_NE(r.find("-32602"), std::string::npos) << r;
  EXPECT_NE(r.find("SERVER__NAME"), std::string::npos) << r;
  client(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"other__send"}})");
  EXPECT_NE(only_client().find("no server offers the tool 'other__send'"), std::string::npos);
  client(R"({"jsonrpc":"2.0","id":3,"method":"tasks/list"})");
  EXPECT_NE(only_client().find("-32601"), std::string::npos);
  client(R"({"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"cursor":"forged"}})");
  EXPECT_NE(only_client().find("did not come from this gateway"), std::string::npos);
  client(R"({"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"file:///x"}})");
  EXPECT_NE(only_client().find("no server listed the resource"), std::string::npos);
}

TEST_F(AggregatorTest, EscapedAndMalformedInputGoesToAProcessorToBeRefused) {
  // The codec unescapes the name before routing: "mail\u005f_send" is mail__send.
  client(R"({"jsonrpc":"2.0","id":1,"method":"tools\u002fcall","params":{"name":"mail\u005f_send"}})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 0u);
  EXPECT_NE(out.to_leg[0].second.find(R"("name":"send")"), std::string::npos) << out.to_leg[0].second;
  client(R"({"jsonrpc":"2.0","id":1,"id":2,"method":"ping"})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 0u);
  EXPECT_EQ(out.to_leg[0].second, R"({"jsonrpc":"2.0","id":1,"id":2,"method":"ping"})");
}

TEST_F(AggregatorTest, ResourcesRouteByListedUriAndTemplatePrefix) {
  client(R"({"jsonrpc":"2.0","id":1,"method":"resources/list"})");
  leg(0, R"({"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"mail://inbox","name":"inbox"}]}})");
  leg(1, R"({"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///a","name":"a"}]}})");
  client(R"({"jsonrpc":"2.0","id":2,"method":"resources/templates/list"})");
  leg(0, R"({"jsonrpc":"2.0","id":2,"result":{"resourceTemplates":[]}})");
  leg(1, R"({"jsonrpc":"2.0","id":2,"result":{"resourceTemplates":[{"uriTemplate":"file:///{path}","name":"f"}]}})");
  client(R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"mail://inbox"}})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 0u);
  client(R"({"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"file:///etc/hosts"}})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 1u);
}

TEST_F(AggregatorTest, ServerRequestsGetGatewayIdsAndAnswersGoBack) {
  leg(0, R"({"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{}})");
  std::string a = only_client();
  leg(1, R"({"jsonrpc":"2.0","id":0,"method":"elicitation/create","params":{}})");
  std::string b = only_client();
  EXPECT_NE(a.find(R"("id":"1.mail")"), std::string::npos) << a;
  EXPECT_NE(b.find(R"("id":"2.files")"), std::string::npos) << b;
  client(R"({"jsonrpc":"2.0","id":"2.files","result":{"action":"accept"}})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 1u);
  EXPECT_EQ(out.to_leg[0].second, R"({"jsonrpc":"2.0","id":0,"result":{"action":"accept"}})");
  // The server cancels its own request: the client hears of it under the gateway id.
  leg(0, R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}})");
  EXPECT_NE(only_client().find(R"("requestId":"1.mail")"), std::string::npos);
}

TEST_F(AggregatorTest, ADownServerIsSkippedAndNamed) {
  client(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  leg(0, R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"send"}]}})");
  out = {};
  agg.leg_down(1, "exited with status 1", out);
  std::string r = only_client();
  EXPECT_NE(r.find("mail__send"), std::string::npos) << r;
  client(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"files__read"}})");
  EXPECT_NE(only_client().find("server 'files' is down (exited with status 1)"), std::string::npos);
  client(R"({"jsonrpc":"2.0","id":3,"method":"ping"})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 0u);
}

TEST_F(AggregatorTest, CancellationFollowsItsRequest) {
  client(R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"files__read"}})");
  client(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}})");
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 1u);
  client(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(out.to_leg.size(), 2u);
}

TEST(AggregatorUnprefixed, NamesRouteByWhoListedThem) {
  Aggregator agg({"a", "b"}, false, "0");
  Aggregator::Out out;
  agg.from_client(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})", out);
  agg.from_leg(0, R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"x"}]}})", out);
  agg.from_leg(1, R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"y"}]}})", out);
  out = {};
  agg.from_client(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"y"}})", out);
  ASSERT_EQ(out.to_leg.size(), 1u);
  EXPECT_EQ(out.to_leg[0].first, 1u);
  EXPECT_NE(out.to_leg[0].second.find(R"("name":"y")"), std::string::npos);
}

TEST(ReplaceAt, KeepsOrderAndEverythingElse) {
  simdjson::dom::parser p;
  auto el = p.parse(std::string_view(R"({"b":1,"a":{"x":[1,2],"y":"z"},"c":"\u00e9"})")).value();
  EXPECT_EQ(replace_at(el, {"a", "y"}, "\"w\""), R"({"b":1,"a":{"x":[1,2],"y":"w"},"c":"é"})");
  EXPECT_EQ(replace_at(el, {"nope"}, "1"), R"({"b":1,"a":{"x":[1,2],"y":"z"},"c":"é"})");
}

}  // namespace
}  // namespace warden::gateway
