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
