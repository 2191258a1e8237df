#include "warden/supply/hunt.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace warden::supply {
namespace {

std::string write_log(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()));
  std::ofstream(p) << text;
  return p.string();
}

TEST(Hunt, FindsDomainIocsInAddressesHostsAndUrlsButNotLookalikes) {
  Hunter h;
  h.add_ioc("giftshop.club");
  std::string log = write_log("hunt-a", "sent to phan@giftshop.club\n"
                                        "GET https://cdn.giftshop.club/x\n"
                                        "visited notgiftshop.club and giftshop.clubhouse.com\n"
                                        "nothing here\n");
  std::vector<HuntHit> hits;
  ASSERT_TRUE(h.hunt_file(log, hits).ok());
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].line, 1u);
  EXPECT_EQ(hits[1].line, 2u);
  EXPECT_EQ(hits[0].rule, "supply.hunt.ioc");
  std::filesystem::remove(log);
}

TEST(Hunt, FindsHiddenRecipientsInJsonLinesAndNestedBodies) {
  Hunter h;
  std::string log = write_log("hunt-b",
      R"({"seq":1,"detail":{"To":"a@example.com","Bcc":"phan@giftshop.club"}})" "\n"
      R"({"seq":2,"detail":"{\"To\":\"b@example.com\",\"bcc\":[\"x@evil.example\"]}"})" "\n"
      R"({"seq":3,"detail":{"To":"c@example.com","Cc":""}})" "\n");
  std::vector<HuntHit> hits;
  ASSERT_TRUE(h.hunt_file(log, hits).ok());
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].rule, "supply.hunt.hidden_recipient");
  EXPECT_EQ(hits[0].excerpt, "Bcc: phan@giftshop.club");
  EXPECT_EQ(hits[1].line, 2u);
  EXPECT_EQ(hits[1].excerpt, R"(bcc: ["x@evil.example"])");
  std::filesystem::remove(log);
}

TEST(Hunt, GroupsHiddenRecipientsAndFlagsOutsiders) {
  std::string log = write_log("hunt-c",
      R"({"ReceivedAt":"2025-09-20T10:00:00Z","To":"ceo@acme.com","Bcc":"phan@giftshop.club"})" "\n"
      R"({"ReceivedAt":"2025-09-21T10:00:00Z","To":"hr@acme.com","Bcc":"phan@giftshop.club, audit@acme.com"})" "\n");
  Hunter by_to;
  std::vector<HuntHit> hits;
  ASSERT_TRUE(by_to.hunt_file(log, hits).ok());
  ASSERT_EQ(by_to.recipients().size(), 2u);
  const auto& phan = by_to.recipients().at("phan@giftshop.club");
  EXPECT_EQ(phan.count, 2u);
  EXPECT_EQ(phan.first_seen, "2025-09-20T10:00:00Z");
  EXPECT_EQ(phan.last_seen, "2025-09-21T10:00:00Z");
  EXPECT_TRUE(phan.outside);
  EXPECT_FALSE(by_to.recipients().at("audit@acme.com").outside);
  Hunter by_org;
  by_org.add_org_domain("giftshop.club");
  ASSERT_TRUE(by_org.hunt_file(log, hits).ok());
  EXPECT_FALSE(by_org.recipients().at("phan@giftshop.club").outside);
  EXPECT_TRUE(by_org.recipients().at("audit@acme.com").outside);
  std::filesystem::remove(log);
}

TEST(Hunt, IocFileAndErrors) {
  Hunter h;
  std::string iocs = write_log("hunt-iocs", "# known bad\ngiftshop.club\n\n203.0.113.7  # c2\n");
  ASSERT_TRUE(h.add_ioc_file(iocs).ok());
  EXPECT_EQ(h.ioc_count(), 2u);
  std::vector<HuntHit> hits;
  EXPECT_FALSE(h.hunt_file("/nonexistent/log", hits).ok());
  EXPECT_FALSE(h.add_ioc_file("/nonexistent/iocs").ok());
  std::filesystem::remove(iocs);
}

}  // namespace
}  // namespace warden::supply

namespace warden::supply {
namespace {

const std::string k_hunt = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/hunt/";

TEST(HuntFormats, PostfixRecipientLinesGroupedByQueueId) {
  Hunter h;
  h.add_ioc("giftshop.club");
  std::vector<HuntHit> hits;
  ASSERT_TRUE(h.hunt_file(k_hunt + "maillog", hits).ok());
  EXPECT_EQ(hits.size(), 2u);  // the two to=<phan@giftshop.club> lines (the relay host is on them too)
  const auto& phan = h.recipients().at("phan@giftshop.club");
  EXPECT_EQ(phan.count, 2u);
  EXPECT_EQ(phan.field, "postfix to");
  EXPECT_EQ(phan.first_seen, "Sep 20 10:00:01");
  EXPECT_EQ(phan.last_seen, "Sep 21 09:00:02");
  EXPECT_TRUE(phan.outside);  // copied on mail to two different customers
  EXPECT_EQ(h.recipients().at("bob@customer-two.org").count, 1u);  // deferred then sent: one recipient
  EXPECT_FALSE(h.recipients().at("bob@customer-two.org").outside);
  EXPECT_FALSE(h.recipients().at("root@acme.com").outside);
  Hunter org;
  org.add_org_domain("acme.com");
  ASSERT_TRUE(org.hunt_file(k_hunt + "maillog", hits).ok());
  EXPECT_TRUE(org.recipients().at("ann@customer-one.com").outside);
  EXPECT_FALSE(org.recipients().at("root@acme.com").outside);
}

TEST(HuntFormats, PostmarkJsonAndCsvExports) {
  Hunter json;
  std::vector<HuntHit> hits;
  ASSERT_TRUE(json.hunt_file(k_hunt + "postmark-outbound.json", hits).ok());
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].indicator, "Bcc");
  EXPECT_EQ(hits[0].line, 5u);
  EXPECT_EQ(hits[1].indicator, "Cc");
  EXPECT_EQ(hits[1].line, 15u);
  EXPECT_TRUE(json.recipients().at("phan@giftshop.club").outside);
  EXPECT_EQ(json.recipients().at("phan@giftshop.club").first_seen, "2025-09-20T10:00:00Z");
  EXPECT_FALSE(json.recipients().at("audit@customer-two.org").outside);  // the To's domain
  Hunter csv;
  hits.clear();
  ASSERT_TRUE(csv.hunt_file(k_hunt + "postmark-export.csv", hits).ok());
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[1].line, 5u);  // after a quoted field with a newline
  const auto& phan = csv.recipients().at("phan@giftshop.club");
  EXPECT_EQ(phan.count, 2u);
  EXPECT_EQ(phan.last_seen, "2025-09-22T09:00:00Z");
  EXPECT_TRUE(phan.outside);
}

}  // namespace
}  // namespace warden::supply
