#include "warden/gateway/policy_filter.h"

#include <gtest/gtest.h>

#include "warden/gateway/processor.h"
#include "warden/policy/evaluator.h"

namespace warden::gateway {
namespace {

using core::Direction;

constexpr const char* k_policy = R"(version: 1
servers:
  mail:
    tools:
      send: {action: approve}
      "*": {action: allow}
)";

struct Held {
  std::string raw, reason;
};

// The approval path of `action: approve` through a real Processor and policy.
struct ApprovalTest : ::testing::Test {
  void build(bool with_channel) {
    policy = policy::load_policy_string(k_policy, "test.yaml");
    PolicyFilter::HoldFn hold;
    if (with_channel) hold = [this](const codec::Message& m, const std::string& reason) { held.push_back({std::string(m.raw), reason}); };
    auto f = std::make_unique<PolicyFilter>(
        std::make_unique<policy::Evaluator>(policy, policy->find_server("mail"), clock), hold);
    filter = f.get();
    chain.add(std::move(f));
    processor = std::make_unique<Processor>(session, chain, nullptr, nullptr, clock, codec::Limits{});
  }
  Output send(const std::string& line) {
    Output out;
    processor->on_line(Direction::c2s, line, false, out);
    return out;
  }
  util::ManualClock clock;
  std::shared_ptr<const policy::Policy> policy;
  Session session{"mail", "sess"};
  FilterChain chain;
  PolicyFilter* filter = nullptr;
  std::unique_ptr<Processor> processor;
  std::vector<Held> held;
};

constexpr const char* k_send = R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"send","arguments":{"to":"a@example.com"}}})";

TEST_F(ApprovalTest, WithoutAChannelTheCallIsRefusedAndSaysWhy) {
  build(false);
  auto out = send(k_send);
  EXPECT_EQ(out.to_server, "");
  EXPECT_NE(out.to_client.find("requires approval"), std::string::npos) << out.to_client;
  EXPECT_NE(out.to_client.find("no approval channel"), std::string::npos) << out.to_client;
}

TEST_F(ApprovalTest, HeldCallsAreNeitherForwardedNorAnsweredUntilDecided) {
  build(true);
  auto out = send(k_send);
  EXPECT_EQ(out.to_server, "");
  EXPECT_EQ(out.to_client, "");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].raw, k_send);
  EXPECT_TRUE(session.pending_c2s().empty()) << "a held request is not in flight";
  // Other tools are not held.
  out = send(R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list"}})");
  EXPECT_NE(out.to_server, "");
  EXPECT_EQ(held.size(), 1u);

  filter->decide(codec::Id{codec::Id::Type::integer, 3, {}}.key(), true, "approved by alice");
  out = send(held[0].raw);
  EXPECT_EQ(out.to_server, std::string(k_send) + "\n") << "forwarded byte for byte once approved";
  EXPECT_EQ(held.size(), 1u);
  EXPECT_EQ(session.pending_c2s().count(codec::Id{codec::Id::Type::integer, 3, {}}.key()), 1u);
}

TEST_F(ApprovalTest, DeniedCallsAreRefusedWithTheNote) {
  build(true);
  send(k_send);
  ASSERT_EQ(held.size(), 1u);
  filter->decide(codec::Id{codec::Id::Type::integer, 3, {}}.key(), false, "nobody decided within 5 s");
  auto out = send(held[0].raw);
  EXPECT_EQ(out.to_server, "");
  EXPECT_NE(out.to_client.find("not approved: nobody decided within 5 s (tools/call 'send')"), std::string::npos)
      << out.to_client;
  // The next identical request is held again: decisions do not carry over.
  send(k_send);
  EXPECT_EQ(held.size(), 2u);
}

}  // namespace
}  // namespace warden::gateway
