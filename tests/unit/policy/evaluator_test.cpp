// The Evaluator on real codec Messages: actions, lookup order, every matcher, rate limits with a
// ManualClock, monitor mode and failing closed.
#include <gtest/gtest.h>

#include "warden/policy/evaluator.h"
#include "warden/util/clock.h"

#include "policy_test_util.h"

namespace warden::policy {
namespace {

using testing::call_line;
using testing::Wire;

class PolicyEvaluator : public ::testing::Test {
protected:
  void load(std::string_view yaml, std::optional<Mode> mode = std::nullopt,
            std::string cwd = "/home/u/proj") {
    m_policy = load_policy_string(yaml, "test.yaml");
    m_eval = std::make_unique<Evaluator>(m_policy, &m_policy->servers().front(), m_clock, mode,
                                         std::move(cwd));
  }
  Verdict call(std::string_view tool, std::string_view args = "{}") {
    return m_eval->evaluate(m_wire(call_line(tool, args)));
  }
  Verdict line(std::string_view json) { return m_eval->evaluate(m_wire(json)); }
  // Decision of a one-argument call {"NAME": VALUE_JSON}.
  core::Decision arg(std::string_view tool, std::string_view name, std::string_view value_json) {
    std::string args = "{\"" + std::string(name) + "\":" + std::string(value_json) + "}";
    return call(tool, args).decision;
  }

  util::ManualClock m_clock;
  Wire m_wire;
  std::shared_ptr<const Policy> m_policy;
  std::unique_ptr<Evaluator> m_eval;
};

constexpr auto k_allow = core::Decision::allow;
constexpr auto k_block = core::Decision::block;

const char* const k_postmark = R"(version: 1
servers:
  postmark:
    command: [npx, -y, postmark-mcp]
    tools:
      sendEmail:
        action: allow
        args:
          to: {email_domain: [example.com]}
          textBody: {max_length: 10}
        rate: 3/min
      deleteAll: {action: deny}
      sendBatch: {action: approve}
)";

TEST_F(PolicyEvaluator, AllowedCallIsAPlainAllow) {
  load(k_postmark);
  Verdict v = call("sendEmail", R"({"to":"ops@example.com","textBody":"hi"})");
  EXPECT_EQ(v.decision, k_allow);
  EXPECT_TRUE(v.findings.empty());
  EXPECT_TRUE(v.reason.empty());
  EXPECT_EQ(v.rpc_code, 0);
  EXPECT_FALSE(v.would_block);
  ASSERT_NE(v.matched, nullptr);
  EXPECT_EQ(v.matched->path, "servers.postmark.tools.sendEmail");
}

TEST_F(PolicyEvaluator, DenyRuleBlocks) {
  load(k_postmark);
  Verdict v = call("deleteAll");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rpc_code, -32001);
  EXPECT_EQ(v.rule, "servers.postmark.tools.deleteAll");
  EXPECT_EQ(v.reason, "tool 'deleteAll' on server 'postmark' is denied by the policy "
                      "(servers.postmark.tools.deleteAll)");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].detector, "policy.denied");
  EXPECT_EQ(v.findings[0].severity, core::Severity::medium);
  EXPECT_EQ(v.findings[0].evidence, "deleteAll");
}

TEST_F(PolicyEvaluator, UnlistedToolFailsClosedNamingTheMissingRule) {
  load(k_postmark);
  Verdict v = call("listTemplates");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rpc_code, -32001);
  EXPECT_EQ(v.rule, "servers.postmark.tools");
  EXPECT_EQ(v.reason,
            "tool 'listTemplates' on server 'postmark' is denied: no rule in "
            "servers.postmark.tools matches it (add servers.postmark.tools.listTemplates or a "
            "\"*\" rule), and what the policy does not list is denied");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].detector, "policy.denied");
}

TEST_F(PolicyEvaluator, MissingSectionFailsClosed) {
  load(k_postmark);
  Verdict v = line(R"({"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"greet"}})");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.reason, "prompt 'greet' on server 'postmark' is denied: the server entry has no "
                      "prompts section (add servers.postmark.prompts.greet), and what the policy "
                      "does not list is denied");
  v = line(R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///a"}})");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rule, "servers.postmark.resources");
}

TEST_F(PolicyEvaluator, ApproveAsksForAHuman) {
  load(k_postmark);
  Verdict v = call("sendBatch");
  EXPECT_EQ(v.decision, core::Decision::approve);
  EXPECT_EQ(v.rpc_code, -32001);
  EXPECT_EQ(v.reason, "requires approval: tool 'sendBatch' on server 'postmark' needs a human "
                      "decision (mcp-warden approvals; `run` has no approval channel: use the "
                      "gateway, or allow or deny it in the policy)");
  EXPECT_EQ(v.rule, "servers.postmark.tools.sendBatch");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].detector, "policy.approval_required");
}

TEST_F(PolicyEvaluator, OtherMethodsAndResponsesAreAllowed) {
  load(k_postmark);
  EXPECT_EQ(line(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})").decision, k_allow);
  EXPECT_EQ(line(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})").decision,
            k_allow);
  EXPECT_EQ(line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").decision, k_allow);
  EXPECT_EQ(line(R"({"jsonrpc":"2.0","id":1,"result":{}})").decision, k_allow);
}

TEST_F(PolicyEvaluator, LookupOrderExactThenGlobThenStar) {
  load(R"(version: 1
servers:
  s:
    tools:
      "*": {action: deny}
      "read_*": {action: allow}
      "read_secret*": {action: deny}
      read_secret_public: {action: allow}
      "*_file": {action: approve}
)");
  EXPECT_EQ(call("read_notes").matched->pattern, "read_*");
  EXPECT_EQ(call("read_notes").decision, k_allow);
  EXPECT_EQ(call("read_secret_key").matched->pattern, "read_secret*"); // longer glob wins
  EXPECT_EQ(call("read_secret_key").decision, k_block);
  EXPECT_EQ(call("read_secret_public").decision, k_allow); // exact beats every glob
  EXPECT_EQ(call("write_file").decision, core::Decision::approve);
  // "read_file" matches "read_*" and "*_file" with 5 literal characters each: file order decides.
  EXPECT_EQ(call("read_file").matched->pattern, "read_*");
  Verdict v = call("drop_table");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rule, "servers.s.tools.*");
  EXPECT_EQ(v.matched->pattern, "*");
}

TEST_F(PolicyEvaluator, RequireApprovalListHoldsAllowedToolsButNotDeniedOnes) {
  load(R"(version: 1
servers:
  s:
    require_approval: [sendEmail, "delete_*"]
    tools:
      "*": {action: allow}
      delete_everything: {action: deny}
)");
  Verdict v = call("sendEmail");
  EXPECT_EQ(v.decision, core::Decision::approve);
  EXPECT_EQ(v.rule, "servers.s.require_approval");
  EXPECT_EQ(call("delete_row").decision, core::Decision::approve);
  EXPECT_EQ(call("delete_everything").decision, k_block);  // deny stays deny
  EXPECT_EQ(call("listEmails").decision, k_allow);
}

TEST_F(PolicyEvaluator, ToolNamesAreComparedAfterUnescaping) {
  load(k_postmark);
  // "delete\u0041ll" is deleteAll on the wire: the codec unescapes, the deny rule applies.
  EXPECT_EQ(
      line(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete\u0041ll"}})")
          .decision,
      k_block);
  EXPECT_EQ(line(R"({"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"deleteAll"}})")
                .decision,
            k_block);
}

TEST_F(PolicyEvaluator, ArgViolationReportsTheRuleAndTheValue) {
  load(k_postmark);
  Verdict v = call("sendEmail", R"({"to":"phan@giftshop.club","textBody":"hi"})");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rpc_code, -32001);
  EXPECT_EQ(v.rule, "servers.postmark.tools.sendEmail.args.to");
  EXPECT_EQ(v.reason, "tool 'sendEmail' on server 'postmark': argument 'to' sends to "
                      "'phan@giftshop.club', outside the allowed domains (example.com) "
                      "(servers.postmark.tools.sendEmail.args.to)");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].detector, "policy.arg_violation");
  EXPECT_EQ(v.findings[0].severity, core::Severity::medium);
  EXPECT_EQ(v.findings[0].evidence, "phan@giftshop.club");
}

TEST_F(PolicyEvaluator, EveryViolatedArgIsAFinding) {
  load(k_postmark);
  Verdict v = call("sendEmail", R"({"to":"a@evil.com","textBody":"far too long a body"})");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rule, "servers.postmark.tools.sendEmail.args.to"); // the first one decides
  ASSERT_EQ(v.findings.size(), 2u);
  EXPECT_EQ(v.findings[1].message,
            "tool 'sendEmail' on server 'postmark': argument 'textBody' is 19 characters long, "
            "more than the 10 allowed (servers.postmark.tools.sendEmail.args.textBody)");
}

TEST_F(PolicyEvaluator, EvidenceIsTruncated) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {a: {max_length: 5}}}
)");
  Verdict v = call("t", R"({"a":")" + std::string(500, 'x') + R"("})");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].evidence, std::string(200, 'x') + "...");
}

TEST_F(PolicyEvaluator, MissingArgsDenyUnlessOptional) {
  load(R"(version: 1
servers:
  s:
    tools:
      t:
        args:
          need: {}
          maybe: {optional: true, one_of: [a, b]}
)");
  Verdict v = call("t", "{}");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.reason, "tool 't' on server 's': argument 'need' is required by the policy but "
                      "missing from the call (servers.s.tools.t.args.need)");
  EXPECT_TRUE(v.findings[0].evidence.empty());
  EXPECT_EQ(call("t", R"({"need":1})").decision, k_allow);
  EXPECT_EQ(call("t", R"({"need":1,"maybe":"b"})").decision, k_allow);
  EXPECT_EQ(call("t", R"({"need":1,"maybe":"c"})").decision, k_block);
  // No arguments at all, or null arguments: the same as an empty object.
  EXPECT_EQ(
      line(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}})").decision,
      k_block);
  EXPECT_EQ(
      line(
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":null}})")
          .decision,
      k_block);
}

TEST_F(PolicyEvaluator, NonObjectArgumentsFailClosed) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {a: {optional: true}}}
)");
  Verdict v = line(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":[1]}})");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.findings[0].detector, "policy.internal_error");
  EXPECT_EQ(v.reason, "tool 't' on server 's' is refused: its arguments are a list, not an object");
}

TEST_F(PolicyEvaluator, EqualsAndOneOfCompareTypes) {
  load(R"(version: 1
servers:
  s:
    tools:
      t:
        args:
          s: {optional: true, equals: outbound}
          q: {optional: true, equals: "443"}
          n: {optional: true, equals: 443}
          f: {optional: true, equals: 1.5}
          b: {optional: true, equals: true}
          z: {optional: true, equals: null}
          o: {optional: true, one_of: [a, 2, false]}
)");
  EXPECT_EQ(arg("t", "s", R"("outbound")"), k_allow);
  EXPECT_EQ(arg("t", "s", R"("broadcast")"), k_block);
  EXPECT_EQ(arg("t", "q", R"("443")"), k_allow);
  EXPECT_EQ(arg("t", "q", "443"), k_block); // a quoted YAML scalar is a string
  EXPECT_EQ(arg("t", "n", "443"), k_allow);
  EXPECT_EQ(arg("t", "n", "443.0"), k_allow); // numerically equal
  EXPECT_EQ(arg("t", "n", R"("443")"), k_block);
  EXPECT_EQ(arg("t", "n", "18446744073709551615"), k_block);
  EXPECT_EQ(arg("t", "f", "1.5"), k_allow);
  EXPECT_EQ(arg("t", "b", "true"), k_allow);
  EXPECT_EQ(arg("t", "b", R"("true")"), k_block);
  EXPECT_EQ(arg("t", "z", "null"), k_allow);
  EXPECT_EQ(arg("t", "z", "0"), k_block);
  EXPECT_EQ(arg("t", "o", R"("a")"), k_allow);
  EXPECT_EQ(arg("t", "o", "2"), k_allow);
  EXPECT_EQ(arg("t", "o", "false"), k_allow);
  EXPECT_EQ(arg("t", "o", R"("2")"), k_block);
  EXPECT_EQ(arg("t", "o", "[\"a\"]"), k_block);
  EXPECT_EQ(
      call("t", R"({"s":"x"})").reason,
      "tool 't' on server 's': argument 's' must equal \"outbound\" (servers.s.tools.t.args.s)");
  EXPECT_EQ(call("t", R"({"o":"x"})").reason,
            "tool 't' on server 's': argument 'o' must be one of: \"a\", 2, false "
            "(servers.s.tools.t.args.o)");
}

TEST_F(PolicyEvaluator, RegexIsAFullMatchOnStrings) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {id: {regex: '[a-z]+-[0-9]+'}}}
)");
  EXPECT_EQ(arg("t", "id", R"("abc-123")"), k_allow);
  EXPECT_EQ(arg("t", "id", R"("xabc-123; rm -rf /")"), k_block); // not a search
  EXPECT_EQ(arg("t", "id", R"("abc-123\n")"), k_block);
  EXPECT_EQ(arg("t", "id", R"("ABC-123")"), k_block);
  EXPECT_EQ(arg("t", "id", "123"), k_block);
  EXPECT_EQ(call("t", R"({"id":123})").reason,
            "tool 't' on server 's': argument 'id' must be a string to match the regex, got a "
            "number (servers.s.tools.t.args.id)");
}

TEST_F(PolicyEvaluator, MaxLengthCountsCodePointsElementsOrJsonBytes) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {a: {max_length: 3}}}
)");
  EXPECT_EQ(arg("t", "a", R"("abc")"), k_allow);
  EXPECT_EQ(arg("t", "a", R"("abcd")"), k_block);
  EXPECT_EQ(arg("t", "a", R"("\u00e9\u00e9\u00e9")"), k_allow); // 3 code points, 6 bytes
  EXPECT_EQ(arg("t", "a", R"("😀😀😀")"), k_allow);
  EXPECT_EQ(arg("t", "a", "[1,2,3]"), k_allow);
  EXPECT_EQ(arg("t", "a", "[1,2,3,4]"), k_block);
  EXPECT_EQ(arg("t", "a", "123"), k_allow);
  EXPECT_EQ(arg("t", "a", "1234"), k_block);
  EXPECT_EQ(arg("t", "a", R"({"k":1})"), k_block); // {"k":1} is 7 bytes
  EXPECT_EQ(call("t", "[1,2,3,4]").decision, k_block);
  EXPECT_EQ(call("t", R"({"a":[1,2,3,4]})").findings[0].message,
            "tool 't' on server 's': argument 'a' is 4 elements long, more than the 3 allowed "
            "(servers.s.tools.t.args.a)");
}

TEST_F(PolicyEvaluator, EmailDomain) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {to: {email_domain: [example.com, Partner.ORG]}}}
)");
  EXPECT_EQ(arg("t", "to", R"("ops@example.com")"), k_allow);
  EXPECT_EQ(arg("t", "to", R"("ops@EXAMPLE.com")"), k_allow);
  EXPECT_EQ(arg("t", "to", R"("ops@mail.example.com")"), k_allow);
  EXPECT_EQ(arg("t", "to", R"("ops@partner.org")"), k_allow);
  EXPECT_EQ(arg("t", "to", R"("a@example.com, b@partner.org")"), k_allow);
  EXPECT_EQ(arg("t", "to", R"(["a@example.com","b@mail.example.com"])"), k_allow);
  // Tricks.
  EXPECT_EQ(arg("t", "to", R"("a@evil.com,b@example.com")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("b@example.com,a@evil.com")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("x@example.com.evil.com")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("x@notexample.com")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("Ops <ops@example.com>")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("\"a@evil.com\" <ops@example.com>")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("\"ops@example.com\"@evil.com")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("a@evil.com@example.com")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("a%evil.com@example.com")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("a@example.com;b@evil.com")"), k_block);
  EXPECT_EQ(arg("t", "to", R"("a@example.com,")"), k_block);
  EXPECT_EQ(arg("t", "to", R"(["a@example.com","b@evil.com"])"), k_block);
  EXPECT_EQ(arg("t", "to", R"(["a@example.com",7])"), k_block);
  EXPECT_EQ(arg("t", "to", R"({"to":"a@example.com"})"), k_block);
  EXPECT_EQ(arg("t", "to", "null"), k_block);
  EXPECT_EQ(call("t", R"({"to":"a@example.com,b@evil.com"})").reason,
            "tool 't' on server 's': argument 'to' sends to 'b@evil.com', outside the allowed "
            "domains (example.com, partner.org) (servers.s.tools.t.args.to)");
  EXPECT_EQ(call("t", R"({"to":"Bob <b@example.com>"})").reason,
            "tool 't' on server 's': argument 'to' holds 'Bob <b@example.com>', which is not a "
            "plain email address (display names, quotes, comments and brackets are not allowed, "
            "only a bare address) (servers.s.tools.t.args.to)");
  EXPECT_EQ(call("t", R"({"to":42})").reason,
            "tool 't' on server 's': argument 'to' must be a string or a list of strings for "
            "email_domain, got a number (servers.s.tools.t.args.to)");
  EXPECT_EQ(call("t", R"({"to":"a@evil.com,b@example.com"})").findings[0].evidence,
            "a@evil.com,b@example.com");
}

TEST_F(PolicyEvaluator, PathUnder) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {path: {path_under: [/srv/data, reports, /srv/shared/]}}}
)",
       std::nullopt, "/home/u/proj");
  EXPECT_EQ(arg("t", "path", R"("/srv/data/a.txt")"), k_allow);
  EXPECT_EQ(arg("t", "path", R"("/srv/data")"), k_allow);
  EXPECT_EQ(arg("t", "path", R"("/srv//data/./x/../a.txt")"), k_allow);
  EXPECT_EQ(arg("t", "path", R"("/srv/shared/x")"), k_allow);
  EXPECT_EQ(arg("t", "path", R"("reports/q1.csv")"), k_allow); // cwd/reports
  EXPECT_EQ(arg("t", "path", R"("/home/u/proj/reports/q1.csv")"), k_allow);
  EXPECT_EQ(arg("t", "path", R"(["/srv/data/a","reports/b"])"), k_allow);
  // Escapes and tricks.
  EXPECT_EQ(arg("t", "path", R"("/srv/data/../../etc/passwd")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("/srv/data/../secret")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("/srv/database/x")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("reports/../../.ssh/id_rsa")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("../../../../../../etc/passwd")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("/../../srv/data/a")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("~/.ssh/id_rsa")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("/srv/data/a\u0000.txt")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("file:///srv/data/a")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("")"), k_block);
  EXPECT_EQ(arg("t", "path", R"("/etc/passwd")"), k_block);
  EXPECT_EQ(arg("t", "path", R"(["/srv/data/a","/etc/passwd"])"), k_block);
  EXPECT_EQ(arg("t", "path", "7"), k_block);
  EXPECT_EQ(call("t", R"({"path":"/srv/data/../../etc/passwd"})").reason,
            "tool 't' on server 's': argument 'path' resolves to '/etc/passwd', outside the "
            "allowed directories (/srv/data, reports, /srv/shared) (servers.s.tools.t.args.path)");
  EXPECT_EQ(call("t", R"({"path":"/../etc"})").reason,
            "tool 't' on server 's': argument 'path' is refused as a path: '..' climbs above the "
            "root directory (servers.s.tools.t.args.path)");
  EXPECT_EQ(call("t", R"({"path":"~/x"})").reason,
            "tool 't' on server 's': argument 'path' is refused as a path: '~' is not expanded by "
            "the warden (servers.s.tools.t.args.path)");
}

TEST_F(PolicyEvaluator, PathUnderWithoutAWorkingDirectoryRefusesRelativePaths) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {path: {path_under: [/srv/data]}}}
)");
  m_eval = std::make_unique<Evaluator>(m_policy, &m_policy->servers().front(), m_clock,
                                       std::nullopt, "not-absolute");
  EXPECT_EQ(arg("t", "path", R"("/srv/data/a")"), k_allow);
  EXPECT_EQ(call("t", R"({"path":"a"})").reason,
            "tool 't' on server 's': argument 'path' is refused as a path: a relative path, and "
            "the server's working directory is unknown (servers.s.tools.t.args.path)");
}

TEST_F(PolicyEvaluator, UrlHost) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {url: {url_host: [example.com, "*.trusted.org"]}}}
)");
  EXPECT_EQ(arg("t", "url", R"("https://example.com/x")"), k_allow);
  EXPECT_EQ(arg("t", "url", R"("HTTPS://EXAMPLE.COM:8443/x?y#z")"), k_allow);
  EXPECT_EQ(arg("t", "url", R"("https://user:pw@example.com/")"), k_allow);
  EXPECT_EQ(arg("t", "url", R"("wss://api.trusted.org/ws")"), k_allow);
  EXPECT_EQ(arg("t", "url", R"("http://a.b.trusted.org")"), k_allow);
  // Tricks.
  EXPECT_EQ(arg("t", "url", R"("http://example.com@evil.com/")"), k_block);
  EXPECT_EQ(arg("t", "url", R"("http://example.com:80@evil.com/")"), k_block);
  EXPECT_EQ(arg("t", "url", R"("http://evil.com#@example.com/")"), k_block);
  EXPECT_EQ(arg("t", "url", R"("http://evil.com\\@example.com/")"), k_block);
  EXPECT_EQ(arg("t", "url", R"("http://example.com.evil.com/")"), k_block);
  EXPECT_EQ(arg("t", "url", R"("http://www.example.com/")"), k_block); // exact host only
  EXPECT_EQ(arg("t", "url", R"("https://trusted.org/")"), k_block);    // subdomains only
  EXPECT_EQ(arg("t", "url", R"("https://eviltrusted.org/")"), k_block);
  EXPECT_EQ(arg("t", "url", R"("ftp://example.com/")"), k_block);
  EXPECT_EQ(arg("t", "url", R"("example.com")"), k_block);
  EXPECT_EQ(arg("t", "url", R"("https://ex%61mple.com/")"), k_block);
  EXPECT_EQ(arg("t", "url", R"(["https://example.com","https://evil.com"])"), k_block);
  EXPECT_EQ(arg("t", "url", "1"), k_block);
  EXPECT_EQ(call("t", R"({"url":"http://example.com@evil.com/"})").reason,
            "tool 't' on server 's': argument 'url' points to host 'evil.com', which is not "
            "allowed (example.com, *.trusted.org) (servers.s.tools.t.args.url)");
  EXPECT_EQ(call("t", R"({"url":"gopher://example.com/"})").reason,
            "tool 't' on server 's': argument 'url' is not a URL the warden can check: the URL "
            "scheme must be http, https, ws or wss (servers.s.tools.t.args.url)");
}

TEST_F(PolicyEvaluator, CombinedMatchersMustAllHold) {
  load(R"(version: 1
servers:
  s:
    tools:
      t: {args: {u: {url_host: [example.com], max_length: 30, regex: 'https://.*'}}}
)");
  EXPECT_EQ(arg("t", "u", R"("https://example.com/a")"), k_allow);
  EXPECT_EQ(arg("t", "u", R"("http://example.com/a")"), k_block);                   // regex
  EXPECT_EQ(arg("t", "u", R"("https://example.com/aaaaaaaaaaaaaaaaaa")"), k_block); // length
  EXPECT_EQ(arg("t", "u", R"("https://evil.com/")"), k_block);                      // host
}

TEST_F(PolicyEvaluator, RateLimitIsATokenBucketOnTheInjectedClock) {
  load(k_postmark);
  const std::string ok = R"({"to":"a@example.com","textBody":"x"})";
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("sendEmail", ok).decision, k_allow) << i;
  Verdict v = call("sendEmail", ok);
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rpc_code, -32001);
  EXPECT_EQ(v.rule, "servers.postmark.tools.sendEmail.rate");
  EXPECT_EQ(v.reason, "tool 'sendEmail' on server 'postmark' exceeded its rate limit of 3/min "
                      "(servers.postmark.tools.sendEmail.rate); retry later");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].detector, "policy.rate_limited");
  EXPECT_EQ(v.findings[0].severity, core::Severity::low);
  // 3/min refills one call every 20 s.
  m_clock.advance_us(19'999'999);
  EXPECT_EQ(call("sendEmail", ok).decision, k_block);
  m_clock.advance_us(1);
  EXPECT_EQ(call("sendEmail", ok).decision, k_allow);
  EXPECT_EQ(call("sendEmail", ok).decision, k_block);
  // A long pause refills the bucket to its size, no more.
  m_clock.advance_us(3'600'000'000);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("sendEmail", ok).decision, k_allow) << i;
  EXPECT_EQ(call("sendEmail", ok).decision, k_block);
  // Refused calls (bad arguments) do not use up the budget.
  m_clock.advance_us(60'000'000);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(call("sendEmail", R"({"to":"x@evil.com","textBody":"x"})").decision, k_block);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("sendEmail", ok).decision, k_allow) << i;
}

TEST_F(PolicyEvaluator, RateBucketsArePerRuleAndPerSession) {
  load(R"(version: 1
servers:
  s:
    tools:
      a: {rate: 1/sec}
      "*": {rate: 2/hour}
)");
  EXPECT_EQ(call("a").decision, k_allow);
  EXPECT_EQ(call("a").decision, k_block);
  EXPECT_EQ(call("x").decision, k_allow);
  EXPECT_EQ(call("y").decision, k_allow); // a glob rule's budget is shared by the names it matches
  EXPECT_EQ(call("z").decision, k_block);
  Evaluator other(m_policy, &m_policy->servers().front(), m_clock);
  EXPECT_EQ(other.evaluate(m_wire(call_line("a"))).decision, k_allow); // a new session
  m_clock.advance_us(1'000'000);
  EXPECT_EQ(call("a").decision, k_allow);
}

TEST_F(PolicyEvaluator, MonitorModeRecordsButNeverBlocks) {
  load(std::string("version: 1\nmode: monitor\n") + (k_postmark + 11));
  EXPECT_EQ(m_eval->mode(), Mode::monitor);
  Verdict v = call("deleteAll");
  EXPECT_EQ(v.decision, k_allow);
  EXPECT_TRUE(v.would_block);
  EXPECT_EQ(v.rpc_code, 0);
  EXPECT_EQ(v.reason, "monitor: would block: tool 'deleteAll' on server 'postmark' is denied by "
                      "the policy (servers.postmark.tools.deleteAll)");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].detector, "policy.denied");
  EXPECT_EQ(v.findings[0].message.rfind("monitor: would block: ", 0), 0u);
  v = call("sendEmail", R"({"to":"a@evil.com","textBody":"x"})");
  EXPECT_EQ(v.decision, k_allow);
  EXPECT_TRUE(v.would_block);
  EXPECT_EQ(v.findings[0].detector, "policy.arg_violation");
  v = call("sendBatch");
  EXPECT_EQ(v.decision, k_allow);
  EXPECT_TRUE(v.would_block);
  EXPECT_EQ(v.reason.rfind("monitor: would block: requires approval: ", 0), 0u);
  v = call("sendEmail", R"({"to":"a@example.com","textBody":"x"})");
  EXPECT_EQ(v.decision, k_allow);
  EXPECT_FALSE(v.would_block);
  EXPECT_TRUE(v.findings.empty());
}

TEST_F(PolicyEvaluator, ModeOverrideWinsOverThePolicy) {
  load(k_postmark, Mode::monitor);
  EXPECT_EQ(call("deleteAll").decision, k_allow);
  EXPECT_TRUE(call("deleteAll").would_block);
  load(std::string("version: 1\nmode: monitor\n") + (k_postmark + 11), Mode::enforce);
  EXPECT_EQ(call("deleteAll").decision, k_block);
}

TEST_F(PolicyEvaluator, PromptsAreKeyedByNameWithArguments) {
  load(R"(version: 1
servers:
  s:
    prompts:
      summarize: {args: {style: {one_of: [short, long]}}}
      "*": {action: deny}
)");
  auto prompt = [&](std::string_view name, std::string_view args) {
    return line(
        std::string(R"({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":")") +
        std::string(name) + R"(","arguments":)" + std::string(args) + "}}");
  };
  EXPECT_EQ(prompt("summarize", R"({"style":"short"})").decision, k_allow);
  Verdict v = prompt("summarize", R"({"style":"evil"})");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rule, "servers.s.prompts.summarize.args.style");
  EXPECT_EQ(v.reason.rfind("prompt 'summarize' on server 's': argument 'style'", 0), 0u);
  EXPECT_EQ(prompt("other", "{}").decision, k_block);
}

TEST_F(PolicyEvaluator, ResourcesAreKeyedByUriGlobs) {
  load(R"(version: 1
servers:
  s:
    resources:
      "file:///docs/*": {action: allow}
      "file:///docs/private/*": {action: deny}
      "db://reports/latest": {action: approve}
)");
  auto read = [&](std::string_view uri, std::string_view method = "resources/read") {
    return line(std::string(R"({"jsonrpc":"2.0","id":1,"method":")") + std::string(method) +
                R"(","params":{"uri":")" + std::string(uri) + "\"}}");
  };
  EXPECT_EQ(read("file:///docs/a.md").decision, k_allow);
  EXPECT_EQ(read("file:///docs/a.md", "resources/subscribe").decision, k_allow);
  EXPECT_EQ(read("file:///docs/private/k.md").decision, k_block);
  EXPECT_EQ(read("db://reports/latest").decision, core::Decision::approve);
  EXPECT_EQ(read("file:///etc/passwd").decision, k_block);
  // Dot segments and encoded separators cannot walk a glob out of its directory.
  Verdict v = read("file:///docs/../etc/passwd");
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.reason, "resource 'file:///docs/../etc/passwd' on server 's' is refused: its URI "
                      "has '.' or '..' path segments, so it could reach what another rule in "
                      "servers.s.resources decides; use the canonical URI");
  EXPECT_EQ(read("file:///docs/%2e%2e/etc/passwd").decision, k_block);
  EXPECT_EQ(read("file:///docs/x%2Fy").decision, k_block);
  EXPECT_EQ(read("file:///docs/./a.md").decision, k_block);
  EXPECT_EQ(read("file:///docs/a..b.md").decision, k_allow);      // not a segment
  EXPECT_EQ(read("file:///docs/My%20File.md").decision, k_allow); // a space needs encoding
  // unsubscribe is not a read: allowed.
  EXPECT_EQ(read("file:///etc/passwd", "resources/unsubscribe").decision, k_allow);
}

TEST_F(PolicyEvaluator, NonCanonicalUrisCannotFallThroughToStar) {
  load(R"(version: 1
servers:
  s:
    resources:
      "file:///secret/*": {action: deny}
      "file:///vault/key": {action: deny}
      "*": {action: allow}
)");
  auto read = [&](std::string_view uri) {
    return line(
        std::string(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":")") +
        std::string(uri) + "\"}}");
  };
  EXPECT_EQ(read("file:///public/a.md").decision, k_allow);
  EXPECT_EQ(read("file:///secret/a.md").decision, k_block);
  EXPECT_EQ(read("file:///public/../secret/a.md").decision, k_block);
  EXPECT_EQ(read("file:///secr%65t/a.md").decision, k_block);
  EXPECT_EQ(read("file:///vault/k%65y").decision, k_block);
  EXPECT_EQ(read("FILE:///vault/key").decision, k_block);
  EXPECT_EQ(read("file:///vault\\\\key").decision, k_block);
  EXPECT_EQ(read("file:///public/%zz").decision, k_block);
  EXPECT_EQ(read("file:///public/%00").decision, k_block);
  EXPECT_EQ(read("file:///public/a%20b.md").decision, k_allow);
  Verdict v = read("file:///secr%65t/a.md");
  EXPECT_EQ(v.reason, "resource 'file:///secr%65t/a.md' on server 's' is refused: its URI has a "
                      "percent-encoded character that needs no encoding, so it could reach what "
                      "another rule in servers.s.resources decides; use the canonical URI");
  EXPECT_EQ(v.rule, "servers.s.resources.*");
}

TEST_F(PolicyEvaluator, NullServerFailsClosed) {
  auto p = load_policy_string("version: 1\nservers: {s: {tools: {\"*\": {}}}}\n", "p.yaml");
  Evaluator e(p, nullptr, m_clock);
  Verdict v = e.evaluate(m_wire(call_line("anything")));
  EXPECT_EQ(v.decision, k_block);
  EXPECT_EQ(v.rpc_code, -32001);
  EXPECT_EQ(v.findings[0].detector, "policy.internal_error");
  EXPECT_EQ(e.evaluate(m_wire(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})")).decision,
            k_allow);
}

TEST_F(PolicyEvaluator, DefaultPolicyAllowsByNameButStillChecks) {
  auto p = Policy::default_policy();
  Evaluator e(p, p->select_server("", {"npx", "-y", "anything"}), m_clock);
  EXPECT_EQ(e.mode(), Mode::enforce);
  EXPECT_EQ(e.evaluate(m_wire(call_line("whatever", R"({"a":1})"))).decision, k_allow);
  EXPECT_EQ(
      e.evaluate(m_wire(R"({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}})"))
          .decision,
      k_allow);
  EXPECT_EQ(
      e
          .evaluate(m_wire(
              R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///x/../y"}})"))
          .decision,
      k_allow); // "*" cannot be stepped out of
}

} // namespace
} // namespace warden::policy
