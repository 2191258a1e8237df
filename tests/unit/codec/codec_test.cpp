#include "warden/codec/codec.h"
#include "warden/codec/json_edit.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace warden::codec {
namespace {

Result<Decoded> decode(Decoder& d, const std::string& s) { return d.decode(s); }

TEST(Codec, DecodesRequestWithUnescapedMethodAndTarget) {
  Decoder d;
  auto r = decode(d, R"({"jsonrpc":"2.0","id":7,"method":"tools\u002fcall","params":{"name":"write\u005ffile","arguments":{"path":"/x"}}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& m = r->messages.at(0);
  EXPECT_EQ(m.kind, Kind::request);
  EXPECT_EQ(m.method, "tools/call");
  EXPECT_EQ(m.target, "write_file");
  EXPECT_EQ(m.id.type, Id::Type::integer);
  EXPECT_EQ(m.id.integer, 7);
  EXPECT_FALSE(r->is_batch);
}

TEST(Codec, KeepsRawBytesOfUnchangedMessage) {
  Decoder d;
  std::string line = R"({ "jsonrpc" : "2.0", "method":"notifications/initialized" })";
  auto r = decode(d, line);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->messages[0].raw, line);
  EXPECT_EQ(r->messages[0].kind, Kind::notification);
}

TEST(Codec, RefusesDuplicateKeysAnywhereAfterUnescaping) {
  Decoder d;
  for (std::string s : {
           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"rm"}})",
           R"({"jsonrpc":"2.0","id":1,"id":2,"method":"ping"})",
           R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":{"b":1,"\u0062":2}}})",
           R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"l":[{"k":1,"k":1}]}})"}) {
    auto r = decode(d, s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.error().code, k_invalid_request);
    EXPECT_NE(r.error().message.find("duplicate key"), std::string::npos) << r.error().message;
  }
}

TEST(Codec, RefusesDuplicateKeysInLargeObjects) {
  std::string s = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{)";
  for (int i = 0; i < 40; ++i) s += "\"k" + std::to_string(i) + "\":1,";
  s += R"("k17":2}})";
  Decoder d;
  auto r = decode(d, s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("\"k17\""), std::string::npos);
}

TEST(Codec, DuplicateKeyErrorKeepsUnambiguousId) {
  Decoder d;
  auto r = decode(d, R"({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"a","name":"b"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.failed_id().type, Id::Type::integer);
  EXPECT_EQ(d.failed_id().integer, 42);
}

TEST(Codec, RefusesInvalidUtf8AndLoneSurrogates) {
  Decoder d;
  std::string bad = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":\"\xff\"}}";
  auto r = decode(d, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, k_parse_error);
  EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos);
  for (std::string s : {R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\ud800"}})",
                        R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\udc00x"}})"}) {
    auto r2 = decode(d, s);
    ASSERT_FALSE(r2.ok()) << s;
    EXPECT_NE(r2.error().message.find("surrogate"), std::string::npos);
  }
  auto ok = decode(d, R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\ud83d\ude00"}})");
  EXPECT_TRUE(ok.ok());
}

TEST(Codec, RefusedLinesKeepAnUnambiguousTopLevelId) {
  Decoder d;
  EXPECT_FALSE(d.decode(R"({"jsonrpc":"2.0","id":"r1","method":"x","params":{"a":"\ud800"}})").ok());
  EXPECT_EQ(d.failed_id().type, Id::Type::string);
  EXPECT_EQ(d.failed_id().string, "r1");
  EXPECT_FALSE(d.decode("{\"jsonrpc\":\"2.0\",\"id\" : 17,\"params\":{\"a\":\"\xff\"}}").ok());
  EXPECT_EQ(d.failed_id().type, Id::Type::integer);
  EXPECT_EQ(d.failed_id().integer, 17);
  // Nested ids, two ids, and fractional ids are not taken.
  EXPECT_FALSE(d.decode(R"({"jsonrpc":"2.0","params":{"id":5,"a":"\ud800"}})").ok());
  EXPECT_EQ(d.failed_id().type, Id::Type::null);
  EXPECT_FALSE(d.decode(R"({"id":1,"id":2,"a":"\ud800"})").ok());
  EXPECT_EQ(d.failed_id().type, Id::Type::null);
  EXPECT_FALSE(d.decode(R"({"id":1.5,"a":"\ud800"})").ok());
  EXPECT_EQ(d.failed_id().type, Id::Type::null);
  EXPECT_FALSE(d.decode(R"({"id":"a\"b","a":"\ud800"})").ok());
  EXPECT_EQ(d.failed_id().type, Id::Type::null);
}

TEST(Codec, EnforcesDepthLimit) {
  auto nested = [](int depth) {
    std::string s = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":)";
    for (int i = 0; i < depth; ++i) s += "[";
    for (int i = 0; i < depth; ++i) s += "]";
    return s + "}}";
  };
  Decoder d;
  EXPECT_TRUE(decode(d, nested(120)).ok());
  auto r = decode(d, nested(130));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("deeper than the limit of 128"), std::string::npos);
  Decoder shallow(Limits{16u << 20, 8});
  EXPECT_FALSE(decode(shallow, nested(7)).ok());
}

TEST(Codec, EnforcesSizeLimit) {
  Decoder d(Limits{100, 128});
  std::string s = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":")" + std::string(100, 'x') + "\"}}";
  auto r = decode(d, s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exceeds the limit of 100 bytes"), std::string::npos);
}

TEST(Codec, IdsMustBeStringOrInteger) {
  Decoder d;
  for (std::string id : {"1.5", "1e3", "{}", "[]", "true", "18446744073709551615"}) {
    auto r = decode(d, R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"ping"})");
    EXPECT_FALSE(r.ok()) << id;
  }
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":null,"method":"ping"})").ok());
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":123456789012345678901234,"method":"ping"})").ok());
  auto s = decode(d, R"({"jsonrpc":"2.0","id":"abc","method":"ping"})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->messages[0].id.to_json(), "\"abc\"");
  auto neg = decode(d, R"({"jsonrpc":"2.0","id":-9223372036854775808,"method":"ping"})");
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg->messages[0].id.key(), "i-9223372036854775808");
  Id as_string, as_int;
  as_string.type = Id::Type::string;
  as_string.string = "7";
  as_int.type = Id::Type::integer;
  as_int.integer = 7;
  EXPECT_NE(as_string.key(), as_int.key());
}

TEST(Codec, StructuralRules) {
  Decoder d;
  EXPECT_FALSE(decode(d, R"({"id":1,"method":"ping"})").ok());                       // no jsonrpc
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"1.0","id":1,"method":"ping"})").ok());
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":1})").ok());                       // neither
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}})").ok());
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"y"}})").ok());
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","method":7})").ok());
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":1,"method":"ping","params":3})").ok());
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}})").ok());
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a\u0000b"}})").ok());
  EXPECT_FALSE(decode(d, R"({"jsonrpc":"2.0","id":1,"method":"tools/call\u0000"})").ok());
  EXPECT_FALSE(decode(d, "[]").ok());
  EXPECT_FALSE(decode(d, "not json").ok());
  EXPECT_FALSE(decode(d, "42").ok());
  auto err = decode(d, R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->messages[0].kind, Kind::error_response);
}

TEST(Codec, DecodesBatchesAndKeepsMemberBytes) {
  Decoder d;
  auto r = decode(d, R"([{"jsonrpc":"2.0","id":1,"method":"ping"}, {"jsonrpc":"2.0","method":"notifications/initialized"}])");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_batch);
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[0].raw, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(r->messages[1].kind, Kind::notification);
}

TEST(Codec, ProtocolVersionsAndEras) {
  Decoder d;
  auto init = decode(d, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}})");
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init->messages[0].protocol_version, "2025-06-18");
  auto res = decode(d, R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-03-26"}})");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->messages[0].protocol_version, "2025-03-26");
  auto meta = decode(d, R"({"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->messages[0].protocol_version, "2026-07-28");
  auto result_meta = decode(d, R"({"jsonrpc":"2.0","id":1,"result":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"tools":[]}})");
  ASSERT_TRUE(result_meta.ok());
  EXPECT_EQ(result_meta->messages[0].protocol_version, "2026-07-28");
  EXPECT_EQ(era_of("2026-07-28"), Era::sessionless);
  EXPECT_EQ(era_of("2025-11-25"), Era::sessioned);
  EXPECT_EQ(era_of(""), Era::unknown);
  EXPECT_TRUE(batches_allowed("2025-03-26"));
  EXPECT_FALSE(batches_allowed("2025-06-18"));
  EXPECT_FALSE(batches_allowed("2024-11-05"));
}

TEST(Codec, ErrorResponseIsValidJsonRpc) {
  Id id;
  id.type = Id::Type::string;
  id.string = "a\"b";
  std::string e = make_error_response(id, k_policy_blocked,
                                      "denied \"x\"", R"({"rule":"r"})");
  EXPECT_EQ(e, R"({"jsonrpc":"2.0","id":"a\"b","error":{"code":-32001,"message":"denied \"x\"","data":{"rule":"r"}}})");
  Decoder d;
  EXPECT_TRUE(decode(d, e).ok());
}

TEST(Codec, PaddedInputParsesInPlace) {
  std::string buf = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  size_t len = buf.size();
  buf.append(simdjson::SIMDJSON_PADDING, ' ');
  Decoder d;
  auto r = d.decode(std::string_view(buf.data(), len), true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->messages[0].method, "ping");
}

}  // namespace
}  // namespace warden::codec

namespace warden::codec {
namespace {

TEST(JsonEdit, SerializeIfEditedBuildsTextOnlyWhenAStringChanged) {
  simdjson::dom::parser p;
  auto el = p.parse(std::string_view(R"({"a":["x",{"b":"y"}],"c":"z","n":1})")).value();
  std::vector<std::string> seen;
  auto keep = [&](std::string_view key, std::string_view v) -> std::optional<std::string> {
    seen.push_back(std::string(key) + "=" + std::string(v));
    return std::nullopt;
  };
  EXPECT_FALSE(serialize_if_edited(el, keep).has_value());
  EXPECT_EQ(seen, (std::vector<std::string>{"a=x", "b=y", "c=z"}));  // each string once, in order
  seen.clear();
  auto upper_y = [&](std::string_view key, std::string_view v) -> std::optional<std::string> {
    seen.push_back(std::string(key));
    if (v == "y") return std::string("Y\"");
    return std::nullopt;
  };
  auto edited = serialize_if_edited(el, upper_y);
  ASSERT_TRUE(edited.has_value());
  EXPECT_EQ(*edited, R"({"a":["x",{"b":"Y\""}],"c":"z","n":1})");
  EXPECT_EQ(*edited, serialize_edited(el, upper_y));
  EXPECT_EQ(seen.size(), 6u);  // three by serialize_if_edited, three by serialize_edited
}

}  // namespace
}  // namespace warden::codec
