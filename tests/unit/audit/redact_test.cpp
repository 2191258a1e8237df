#include <simdjson.h>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "warden/audit/redact.h"

namespace warden::audit {
namespace {

// Token-shaped test values are assembled at run time so the source holds no literal secrets.
std::string rep(const std::string& s, size_t n) {
  std::string out;
  while (out.size() < n)
    out += s;
  out.resize(n);
  return out;
}

struct Sample {
  std::string kind;
  std::string secret; // what must disappear
};

std::vector<Sample> samples() {
  const std::string alnum = "aB3dE5gH7jK9mN1pQ2sT4vW6yZ8";
  return {
      {"aws_access_key_id", "AKIA" + std::string("IOSFODNN7EXAMPLE")},
      {"aws_access_key_id", "ASIA" + std::string("Y34FZKBOKMUTVV7A")},
      {"github_token", "ghp_" + rep(alnum, 36)},
      {"github_token", "gho_" + rep(alnum, 36)},
      {"github_token", "ghs_" + rep(alnum, 36)},
      {"github_token", "ghu_" + rep(alnum, 36)},
      {"github_token", "github_pat_" + rep("11ABCDEFG0_" + alnum, 82)},
      {"slack_token", "xoxb-" + std::string("123456789012-1234567890123-") + rep(alnum, 24)},
      {"slack_token", "xoxp-" + std::string("123456789012-") + rep(alnum, 20)},
      {"stripe_key", "sk_live_" + rep(alnum, 24)},
      {"stripe_key", "rk_live_" + rep(alnum, 24)},
      {"google_api_key", "AIza" + rep("Sy" + alnum + "-_", 35)},
      {"openai_key", "sk-" + rep(alnum, 48)},
      {"openai_key", "sk-proj-" + rep(alnum + "_-", 60)},
      {"anthropic_key", "sk-ant-api03-" + rep(alnum + "-_", 90)},
      {"jwt",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ." +
           rep(alnum + "_-", 43)},
      {"npm_token", "npm_" + rep(alnum, 36)},
  };
}

TEST(RedactSecrets, EachTokenKindIsReplacedWithItsKind) {
  for (const auto& s : samples()) {
    int n = -1;
    std::string out = redact_secrets("key: " + s.secret + " end", &n);
    EXPECT_EQ(out, "key: [REDACTED:" + s.kind + "] end") << s.secret;
    EXPECT_EQ(n, 1) << s.secret;
  }
}

TEST(RedactSecrets, TokenAfterAJsonEscapeIsFound) {
  const std::string gh = "ghp_" + rep("x1Y2", 36);
  EXPECT_EQ(redact_secrets(R"(line one\n)" + gh + R"(\tnext)"),
            R"(line one\n[REDACTED:github_token]\tnext)");
  EXPECT_EQ(redact_secrets(R"(\u0020)" + gh), R"(\u0020[REDACTED:github_token])");
}

TEST(RedactSecrets, PemPrivateKeys) {
  const std::string body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
                           "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n";
  const std::string pem =
      "-----BEGIN RSA PRIVATE KEY-----\n" + body + "-----END RSA PRIVATE KEY-----";
  EXPECT_EQ(redact_secrets("a\n" + pem + "\nb"), "a\n[REDACTED:private_key]\nb");
  const std::string ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
                          "-----END OPENSSH PRIVATE KEY-----";
  EXPECT_EQ(redact_secrets(ssh), "[REDACTED:private_key]");
  // Inside a JSON string the newlines are `\n` escapes.
  std::string escaped =
      R"({"key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n","n":1})";
  EXPECT_EQ(redact_secrets(escaped), R"({"key":"[REDACTED:private_key]\n","n":1})");
  // A BEGIN without END (an excerpt that was cut) still loses its key material.
  EXPECT_EQ(
      redact_secrets(
          R"({"k":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oqLJEbbGa"})"),
      R"({"k":"[REDACTED:private_key]"})");
  // Public material is left alone.
  const std::string cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
  EXPECT_EQ(redact_secrets(cert), cert);
}

TEST(RedactSecrets, AwsSecretKeyOnlyInContext) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + std::string("EXAMPLEKEY");
  EXPECT_EQ(redact_secrets("aws_secret_access_key = " + secret),
            "aws_secret_access_key = [REDACTED:aws_secret_key]");
  EXPECT_EQ(redact_secrets(R"({"AWS_SECRET_ACCESS_KEY":")" + secret + R"("})"),
            R"({"AWS_SECRET_ACCESS_KEY":"[REDACTED:aws_secret_key]"})");
  EXPECT_EQ(redact_secrets(R"({"SecretAccessKey": ")" + secret + R"("})"),
            R"({"SecretAccessKey": "[REDACTED:aws_secret_key]"})");
  // Forty base64 characters with no AWS context are not a finding.
  EXPECT_EQ(redact_secrets("sha: " + secret), "sha: " + secret);
}

TEST(RedactSecrets, UuidTokenOnlyNextToATokenHeader) {
  const std::string uuid = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d";
  EXPECT_EQ(redact_secrets(R"({"X-Postmark-Server-Token":")" + uuid + R"("})"),
            R"({"X-Postmark-Server-Token":"[REDACTED:uuid_token]"})");
  EXPECT_EQ(redact_secrets("X-Postmark-Server-Token: " + uuid),
            "X-Postmark-Server-Token: [REDACTED:uuid_token]");
  EXPECT_EQ(redact_secrets("POSTMARK_SERVER_TOKEN=" + uuid),
            "POSTMARK_SERVER_TOKEN=[REDACTED:uuid_token]");
  EXPECT_EQ(redact_secrets(R"({\"api_key\":\")" + uuid + R"(\"})"),
            R"({\"api_key\":\"[REDACTED:uuid_token]\"})");
  // A request id is not a secret.
  EXPECT_EQ(redact_secrets(R"({"request_id":")" + uuid + R"("})"),
            R"({"request_id":")" + uuid + R"("})");
}

TEST(RedactSecrets, BearerTokensInAuthorizationValues) {
  EXPECT_EQ(redact_secrets(R"({"Authorization":"Bearer abcDEF123456.xyz~+/="})"),
            R"({"Authorization":"Bearer [REDACTED:bearer]"})");
  EXPECT_EQ(redact_secrets("authorization: bearer 0123456789abcdef"),
            "authorization: bearer [REDACTED:bearer]");
  // A JWT bearer is named as a JWT.
  std::string jwt = samples()[15].secret;
  EXPECT_EQ(redact_secrets("Authorization: Bearer " + jwt), "Authorization: Bearer [REDACTED:jwt]");
}

TEST(RedactSecrets, OrdinaryTextIsUntouched) {
  const std::vector<std::string> texts = {
      "Send the quarterly report to ops@example.com",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sendEmail"}})",
      "task-12345678901234567890123 and risk-assessment-framework-document",
      "the sky is blue; ask-me-anything-about-this-topic-please",
      "Bearer token authentication is described in RFC 6750",
      "AKIA is a prefix; ghp_short; npm_short; sk-short",
  };
  for (const auto& t : texts) {
    int n = -1;
    EXPECT_EQ(redact_secrets(t, &n), t);
    EXPECT_EQ(n, 0) << t;
  }
}

TEST(RedactSecrets, CountsEveryReplacement) {
  int n = 0;
  std::string text = samples()[0].secret + " " + samples()[2].secret + " " + samples()[2].secret;
  EXPECT_EQ(redact_secrets(text, &n),
            "[REDACTED:aws_access_key_id] [REDACTED:github_token] [REDACTED:github_token]");
  EXPECT_EQ(n, 3);
}

bool valid_json(const std::string& text) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  return p.parse(text).get(e) == simdjson::SUCCESS;
}

TEST(RedactSecrets, RedactedJsonStaysValidJson) {
  const std::string uuid = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d";
  std::vector<std::string> secrets;
  for (const auto& s : samples())
    secrets.push_back(s.secret);
  secrets.push_back(
      R"(-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----)");
  secrets.push_back(R"(-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq)");
  secrets.push_back("Bearer abcdefghijklmnop");
  const std::vector<std::string> templates = {
      R"({"k":"@"})",
      R"({"k":"pre @ post"})",
      R"({"k":"@","k2":"@"})",
      R"(["@\"quoted\"@"])",
      R"({"@":1})",
      R"({"k":"a\n@\n"})",
      R"({"k":"@\\"})",
      R"({"detail":"{\"token\":\"@\",\"x\":\"@\"}"})",
      R"({"X-Api-Token":"@","Authorization":"@"})",
      R"({"headers":{"X-Postmark-Server-Token":")" + uuid + R"(","authorization":"Bearer @"}})",
      R"({"aws_secret_access_key":"@"})",
  };
  for (const auto& t : templates) {
    for (const auto& s : secrets) {
      std::string doc = t;
      for (size_t p; (p = doc.find('@')) != std::string::npos;)
        doc.replace(p, 1, s);
      ASSERT_TRUE(valid_json(doc)) << doc;
      int n = 0;
      std::string out = redact_secrets(doc, &n);
      EXPECT_TRUE(valid_json(out)) << doc << "\n-> " << out;
      EXPECT_GT(n, 0) << doc;
      if (s.find("-----BEGIN") == std::string::npos && s.rfind("Bearer", 0) != 0) {
        EXPECT_EQ(out.find(s), std::string::npos) << out;
      }
    }
  }
}

TEST(RedactSecrets, KindsAreListed) {
  const auto& k = redaction_kinds();
  EXPECT_EQ(k.size(), 13u);
  EXPECT_EQ(k.front(), "private_key");
  EXPECT_EQ(k.back(), "npm_token");
}

} // namespace
} // namespace warden::audit
