// The egress guard's pure parsers: DNS questions, the TLS ClientHello's SNI, identifiers in
// outbound requests and the strip rewrite.
#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "warden/egress/dns.h"
#include "warden/egress/identifiers.h"
#include "warden/egress/intent.h"
#include "warden/egress/tls_sni.h"

namespace warden::egress {
namespace {

std::string dns_query(uint16_t id, const std::string& name, uint16_t qtype) {
  std::string p{static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    p += static_cast<char>(dot - start);
    p += name.substr(start, dot - start);
    start = dot + 1;
  }
  p += '\0';
  p += {static_cast<char>(qtype >> 8), static_cast<char>(qtype & 0xff), 0, 1};
  return p;
}

TEST(Dns, ParsesAQuestionAndAnswersWithTheMappedAddress) {
  std::string q = dns_query(0x1234, "API.Postmarkapp.com", 1);
  auto parsed = parse_dns_query(q);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, 0x1234);
  EXPECT_EQ(parsed->name, "api.postmarkapp.com");
  EXPECT_EQ(parsed->qtype, 1);
  uint32_t addr = 0;
  inet_pton(AF_INET, "127.1.0.1", &addr);
  std::string r = build_dns_response(q, *parsed, k_rcode_noerror, addr);
  ASSERT_EQ(r.size(), q.size() + 16);
  EXPECT_EQ(static_cast<uint8_t>(r[0]), 0x12);
  EXPECT_EQ(static_cast<uint8_t>(r[2]) & 0x80, 0x80);  // a response
  EXPECT_EQ(static_cast<uint8_t>(r[3]) & 0x0f, 0);     // NOERROR
  EXPECT_EQ(static_cast<uint8_t>(r[7]), 1);            // one answer
  EXPECT_EQ(r.substr(r.size() - 4), std::string("\x7f\x01\x00\x01", 4));
}

TEST(Dns, RefusedNamesGetNxdomainAndNoAnswer) {
  std::string q = dns_query(7, "exfil.attacker.example", 16);
  auto parsed = parse_dns_query(q);
  ASSERT_TRUE(parsed);
  std::string r = build_dns_response(q, *parsed, k_rcode_nxdomain);
  EXPECT_EQ(static_cast<uint8_t>(r[3]) & 0x0f, 3);
  EXPECT_EQ(static_cast<uint8_t>(r[7]), 0);
  EXPECT_STREQ(dns_type_name(16), "TXT");
}

TEST(Dns, MalformedPacketsAreRejected) {
  EXPECT_FALSE(parse_dns_query(""));
  EXPECT_FALSE(parse_dns_query(std::string(11, '\0')));
  std::string q = dns_query(1, "a.b", 1);
  EXPECT_FALSE(parse_dns_query(q.substr(0, q.size() - 2)));  // truncated question
  std::string response = q;
  response[2] = static_cast<char>(0x81);  // QR set: not a query
  EXPECT_FALSE(parse_dns_query(response));
  std::string pointer = q;
  pointer[12] = static_cast<char>(0xc0);  // compression in a question
  EXPECT_FALSE(parse_dns_query(pointer));
}

// A minimal ClientHello with one server_name extension.
std::string client_hello(const std::string& sni) {
  std::string ext;
  if (!sni.empty()) {
    std::string list;
    list += '\0';
    list += {static_cast<char>(sni.size() >> 8), static_cast<char>(sni.size() & 0xff)};
    list += sni;
    std::string data{static_cast<char>(list.size() >> 8), static_cast<char>(list.size() & 0xff)};
    data += list;
    ext += {0, 0, static_cast<char>(data.size() >> 8), static_cast<char>(data.size() & 0xff)};
    ext += data;
  }
  std::string body = {3, 3};
  body += std::string(32, 'r');
  body += '\0';                       // session id
  body += {0, 2, 0x13, 0x01};         // one cipher suite
  body += {1, 0};                     // null compression
  body += {static_cast<char>(ext.size() >> 8), static_cast<char>(ext.size() & 0xff)};
  body += ext;
  std::string hs{1, 0, static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xff)};
  hs += body;
  std::string rec{0x16, 3, 1, static_cast<char>(hs.size() >> 8), static_cast<char>(hs.size() & 0xff)};
  return rec + hs;
}

TEST(Sni, FindsTheServerNameAndAsksForMoreWhenTheRecordIsIncomplete) {
  std::string hello = client_hello("API.PostmarkApp.com");
  auto r = parse_client_hello_sni(hello);
  EXPECT_EQ(r.status, SniStatus::found);
  EXPECT_EQ(r.name, "api.postmarkapp.com");
  EXPECT_EQ(parse_client_hello_sni(hello.substr(0, 20)).status, SniStatus::need_more);
  EXPECT_EQ(parse_client_hello_sni(client_hello("")).status, SniStatus::no_sni);
  EXPECT_EQ(parse_client_hello_sni("POST /email HTTP/1.1\r\n").status, SniStatus::not_tls);
}

std::vector<std::string> values(const std::vector<Identifier>& ids) {
  std::vector<std::string> out;
  for (const auto& i : ids) out.push_back(i.where + "=" + i.value);
  return out;
}

TEST(Identifiers, FindsEmailsInJsonBodiesWithTheirField) {
  RequestView r;
  r.method = "POST";
  r.target = "/email";
  r.headers = {{"Content-Type", "application/json"}, {"X-Postmark-Server-Token", "x@y.zz"}};
  r.body = R"({"From":"ops@example.com","To":"Alice <alice@example.com>","Bcc":"PHAN@giftshop.club","Cc":["a@b.io"]})";
  auto ids = values(extract_identifiers(r, true, false, "X-Postmark-Server-Token"));
  EXPECT_EQ(ids, (std::vector<std::string>{"body.From=ops@example.com", "body.To=alice@example.com",
                                           "body.Bcc=phan@giftshop.club", "body.Cc[0]=a@b.io"}));
}

TEST(Identifiers, FindsThemInQueriesFormsMultipartHeadersAndEscapedJson) {
  RequestView q;
  q.target = "/send?to=bob%40example.com&cc=eve@evil.test";
  EXPECT_EQ(values(extract_identifiers(q, true, false)),
            (std::vector<std::string>{"query.to=bob@example.com", "query.cc=eve@evil.test"}));
  RequestView form;
  form.target = "/";
  form.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  form.body = "to=a%40b.com&bcc=c%40d.org";
  EXPECT_EQ(values(extract_identifiers(form, true, false)),
            (std::vector<std::string>{"body.to=a@b.com", "body.bcc=c@d.org"}));
  RequestView mp;
  mp.target = "/";
  mp.headers = {{"Content-Type", "multipart/form-data; boundary=XyZ"}};
  mp.body = "--XyZ\r\nContent-Disposition: form-data; name=\"bcc\"\r\n\r\nspy@evil.test\r\n--XyZ--\r\n";
  EXPECT_EQ(values(extract_identifiers(mp, true, false)), (std::vector<std::string>{"body.bcc=spy@evil.test"}));
  RequestView esc;
  esc.target = "/";
  esc.body = R"({"Bcc":"phan\u0040giftshop.club"})";  // no content type, escaped @
  EXPECT_EQ(values(extract_identifiers(esc, true, false)), (std::vector<std::string>{"body.Bcc=phan@giftshop.club"}));
  RequestView hdr;
  hdr.target = "/";
  hdr.headers = {{"X-Forward-To", "leak@evil.test"}, {"Authorization", "Basic a@b.cc"}};
  EXPECT_EQ(values(extract_identifiers(hdr, true, false)), (std::vector<std::string>{"header.X-Forward-To=leak@evil.test"}));
}

TEST(Identifiers, HardNegativesAreNotEmails) {
  std::vector<Identifier> ids;
  scan_text("npm i @scope/pkg@1.2.3, user@localhost, a@b.c, x@1.2.3.4, @@@, foo@.com", "t", true, false, ids);
  EXPECT_TRUE(ids.empty()) << values(ids)[0];
}

TEST(Identifiers, HostsComeFromUrls) {
  std::vector<Identifier> ids;
  scan_text("see https://Collector.Evil.test/x?a=1 and http://[::1]:8080/ and ftp://no.example", "t", false, true, ids);
  EXPECT_EQ(values(ids), (std::vector<std::string>{"t=[::1]", "t=collector.evil.test"}));
}

TEST(Strip, RemovesOffendingAddressesFromRecipientFieldsOnly) {
  auto r = strip_json_recipients(
      R"({"To":"alice@example.com","Bcc":"phan@giftshop.club","Cc":"bob@example.com, phan@giftshop.club","n":1.5,"x":[true,null]})",
      {"phan@giftshop.club"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"To":"alice@example.com","Cc":"bob@example.com","n":1.5,"x":[true,null]})");
  EXPECT_EQ(r->removed.size(), 2u);
  EXPECT_TRUE(r->remaining.empty());
  auto nested = strip_json_recipients(
      R"({"personalizations":[{"to":[{"email":"a@x.com"},{"email":"spy@evil.test","name":"S"}]}]})", {"spy@evil.test"});
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->body, R"({"personalizations":[{"to":[{"email":"a@x.com"}]}]})");
  auto elsewhere = strip_json_recipients(R"({"TextBody":"forward to spy@evil.test"})", {"spy@evil.test"});
  ASSERT_TRUE(elsewhere);
  ASSERT_EQ(elsewhere->remaining.size(), 1u);  // not a recipient field: the caller blocks instead
  EXPECT_FALSE(strip_json_recipients("not json", {"a@b.co"}));
}

TEST(IntentBoard, OnlyCallsInFlightAndTheEnvCount) {
  IntentBoard b;
  b.allow_always("ops@example.com");
  Identifier alice{IdKind::email, "alice@example.com", "body.To"};
  Identifier ops{IdKind::email, "ops@example.com", "body.From"};
  EXPECT_FALSE(b.asked_for(alice));
  EXPECT_TRUE(b.asked_for(ops));
  b.begin_call("1", "sendEmail", R"({"to":"Alice@Example.com","subject":"hi"})");
  EXPECT_TRUE(b.asked_for(alice));
  EXPECT_EQ(b.snapshot().tools, std::vector<std::string>{"sendEmail"});
  b.end_call("1");
  EXPECT_FALSE(b.asked_for(alice));
  EXPECT_FALSE(b.snapshot().call_in_flight);
}

}  // namespace
}  // namespace warden::egress
