#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "warden/policy/matchers.h"

namespace warden::policy {
namespace {

TEST(PolicyMatchers, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("h\xc3\xa9llo"), 5u);      // é is 2 bytes
  EXPECT_EQ(utf8_length("\xf0\x9f\x98\x80!"), 2u); // emoji is 4 bytes
}

TEST(PolicyMatchers, TruncateUtf8CutsAtABoundary) {
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
  EXPECT_EQ(truncate_utf8("abcd", 3), "abc...");
  // "é" straddles byte 2: the cut moves back before it.
  EXPECT_EQ(truncate_utf8("a\xc3\xa9z", 2), "a...");
}

TEST(PolicyMatchers, GlobMatch) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything/at/all"));
  EXPECT_TRUE(glob_match("send_*", "send_email"));
  EXPECT_TRUE(glob_match("send_*", "send_"));
  EXPECT_FALSE(glob_match("send_*", "resend_email"));
  EXPECT_TRUE(glob_match("*_file", "read_file"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  EXPECT_TRUE(glob_match("file:///docs/*", "file:///docs/a/b.md"));
  EXPECT_FALSE(glob_match("file:///docs/*", "file:///etc/passwd"));
  EXPECT_FALSE(glob_match("Send", "send")); // case-sensitive
  EXPECT_FALSE(glob_match("exact", "exact2"));
}

TEST(PolicyMatchers, HostPatterns) {
  HostPattern p;
  std::string why;
  ASSERT_TRUE(parse_host_pattern("Example.COM", p, why));
  EXPECT_EQ(p.host, "example.com");
  EXPECT_FALSE(p.subdomains);
  ASSERT_TRUE(parse_host_pattern("*.example.com", p, why));
  EXPECT_TRUE(p.subdomains);
  EXPECT_TRUE(host_matches(p, "api.example.com"));
  EXPECT_TRUE(host_matches(p, "a.b.example.com"));
  EXPECT_FALSE(host_matches(p, "example.com")); // subdomains only
  EXPECT_FALSE(host_matches(p, "evilexample.com"));
  EXPECT_FALSE(host_matches(p, "example.com.evil.com"));
  ASSERT_TRUE(parse_host_pattern("[::1]", p, why));
  EXPECT_FALSE(parse_host_pattern("https://example.com", p, why));
  EXPECT_FALSE(parse_host_pattern("example.com:443", p, why));
  EXPECT_FALSE(parse_host_pattern("ex*ample.com", p, why));
  EXPECT_FALSE(parse_host_pattern("", p, why));
  EXPECT_FALSE(parse_host_pattern("a..b", p, why));
}

struct UrlCase {
  const char* url;
  const char* host; // nullptr: refused
};

TEST(PolicyMatchers, ExtractUrlHost) {
  const UrlCase cases[] = {
      {"https://example.com", "example.com"},
      {"https://Example.COM/path?q=1#f", "example.com"},
      {"HTTP://example.com:8080/x", "example.com"},
      {"wss://ws.example.com/socket", "ws.example.com"},
      {"ws://example.com", "example.com"},
      {"https://user:pass@example.com/", "example.com"},
      {"http://example.com@evil.com/", "evil.com"}, // userinfo trick: the host is evil.com
      {"http://evil.com#@example.com", "evil.com"}, // fragment trick
      {"http://evil.com?@example.com", "evil.com"}, // query trick
      {"http://evil.com/@example.com", "evil.com"}, // path trick
      {"https://example.com./", "example.com"},     // trailing dot of an FQDN
      {"http://[::1]:8080/", "[::1]"},
      {"http://127.0.0.1/", "127.0.0.1"},
      {"http://a@b@evil.com/", nullptr},           // two '@'
      {"http://evil.com\\@example.com/", nullptr}, // backslash: parsers disagree
      {"ftp://example.com/", nullptr},
      {"file:///etc/passwd", nullptr},
      {"javascript:alert(1)", nullptr},
      {"//example.com/", nullptr},
      {"example.com", nullptr},
      {"https://", nullptr},
      {"https://:443/", nullptr},
      {"https://exa mple.com/", nullptr},
      {"https://example.com:99999/", nullptr},
      {"https://example.com:/", nullptr},
      {"https://example.com:80a/", nullptr},
      {"https://ex%61mple.com/", nullptr},
      {"https://\xd0\xb5xample.com/", nullptr}, // Cyrillic homoglyph
      {"https://[::1/", nullptr},
      {"https://a..b.com/", nullptr},
  };
  for (const auto& c : cases) {
    std::string host;
    const char* why = "";
    bool ok = extract_url_host(c.url, host, why);
    if (c.host) {
      EXPECT_TRUE(ok) << c.url << ": " << why;
      EXPECT_EQ(host, c.host) << c.url;
    } else {
      EXPECT_FALSE(ok) << c.url << " gave host " << host;
    }
  }
}

TEST(PolicyMatchers, ParseEmail) {
  std::string domain;
  const char* why = "";
  ASSERT_TRUE(parse_email("ops@Example.com", domain, why));
  EXPECT_EQ(domain, "example.com");
  EXPECT_TRUE(parse_email("first.last+tag@mail.example.com", domain, why));
  const char* refused[] = {
      "",
      "no-at-sign",
      "a@b@example.com",
      "Bob <bob@example.com>",
      "\"bob\"@example.com",
      "\"a@evil.com\"@example.com",
      "bob@example.com (comment)",
      "bob @example.com",
      "a%evil.com@example.com",
      "evil.com!a@example.com",
      ".a@example.com",
      "a..b@example.com",
      "a@",
      "@example.com",
      "a@example.com.",
      "a@-example.com",
      "a@[127.0.0.1]",
      "a@exa_mple..com",
      "r\xc3\xa9@example.com",
  };
  for (const char* addr : refused)
    EXPECT_FALSE(parse_email(addr, domain, why)) << addr;
}

TEST(PolicyMatchers, DomainWithin) {
  EXPECT_TRUE(domain_within("example.com", "example.com"));
  EXPECT_TRUE(domain_within("mail.example.com", "example.com"));
  EXPECT_FALSE(domain_within("example.com.evil.com", "example.com"));
  EXPECT_FALSE(domain_within("badexample.com", "example.com"));
  EXPECT_FALSE(domain_within("com", "example.com"));
}

struct PathCase {
  const char* value;
  const char* cwd;
  const char* out; // nullptr: refused
};

TEST(PolicyMatchers, NormalizePath) {
  const PathCase cases[] = {
      {"/srv/data/a.txt", "", "/srv/data/a.txt"},
      {"/srv//data/./a.txt", "", "/srv/data/a.txt"},
      {"/srv/data/x/../a.txt", "", "/srv/data/a.txt"},
      {"/srv/data/../../etc/passwd", "", "/etc/passwd"},
      {"a.txt", "/home/u/proj", "/home/u/proj/a.txt"},
      {"./sub/../a.txt", "/home/u/proj", "/home/u/proj/a.txt"},
      {"../other/a.txt", "/home/u/proj", "/home/u/other/a.txt"},
      {"/", "", "/"},
      {"/srv/data/", "", "/srv/data"},
      {"/..", "", nullptr}, // climbs above the root
      {"/srv/../../etc", "", nullptr},
      {"../../../../etc", "/home/u", nullptr},
      {"a.txt", "", nullptr}, // relative, cwd unknown
      {"a.txt", "relative/cwd", nullptr},
      {"~/.ssh/id_rsa", "/home/u", nullptr},
      {"/srv/~root/x", "", nullptr},
      {"", "/", nullptr},
      {"file:///etc/passwd", "/", nullptr},
  };
  std::vector<std::string_view> parts;
  for (const auto& c : cases) {
    std::string out;
    const char* why = "";
    bool ok = normalize_path(c.value, c.cwd, out, parts, why);
    if (c.out) {
      EXPECT_TRUE(ok) << c.value << ": " << why;
      EXPECT_EQ(out, c.out) << c.value;
    } else {
      EXPECT_FALSE(ok) << c.value << " gave " << out;
    }
  }
  std::string out;
  const char* why = "";
  EXPECT_FALSE(normalize_path(std::string_view("/srv/a\0b", 8), "", out, parts, why));
  EXPECT_STREQ(why, "the path contains a NUL byte");
  // A '~' inside a name is an ordinary character (backup files).
  EXPECT_TRUE(normalize_path("/srv/notes.txt~", "", out, parts, why));
}

TEST(PolicyMatchers, PathWithin) {
  EXPECT_TRUE(path_within("/srv/data", "/srv/data"));
  EXPECT_TRUE(path_within("/srv/data/a", "/srv/data"));
  EXPECT_FALSE(path_within("/srv/database", "/srv/data"));
  EXPECT_FALSE(path_within("/srv", "/srv/data"));
  EXPECT_TRUE(path_within("/anything", "/"));
}

} // namespace
} // namespace warden::policy
