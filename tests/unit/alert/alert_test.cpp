#include <fcntl.h>
#include <simdjson.h>
#include <syslog.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "warden/alert/alerter.h"
#include "warden/policy/model.h"

#include "../audit/test_support.h"

namespace warden::alert {
namespace {

Alert sample(core::Severity sev = core::Severity::high) {
  Alert a;
  a.finding = {"policy.tool_denied", sev, "tool sendEmail is denied by policy", "sendEmail"};
  a.server = "postmark";
  a.tool = "sendEmail";
  a.method = "tools/call";
  a.audit_seq = 12;
  a.ts_us = 1'767'225'600'000'000; // 2026-01-01T00:00:00Z
  return a;
}

// Reads what is available on a non-blocking pipe.
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

struct Pipe {
  Pipe() { EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0); }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int fds[2] = {-1, -1};
};

TEST(AlertFormat, HumanLineAndJson) {
  Alert a = sample();
  EXPECT_EQ(alert_line(a), "mcp-warden: ALERT high policy.tool_denied server=postmark "
                           "tool=sendEmail: tool sendEmail is denied by policy (audit seq 12)");
  EXPECT_EQ(
      alert_json(a),
      R"({"ts":"2026-01-01T00:00:00.000000Z","severity":"high","detector":"policy.tool_denied",)"
      R"("message":"tool sendEmail is denied by policy","evidence":"sendEmail","server":"postmark",)"
      R"("tool":"sendEmail","method":"tools/call","audit_seq":12})");
  a.tool.clear();
  a.audit_seq = 0;
  a.finding.message = "bad\x1b[2Jthing\n";
  EXPECT_EQ(alert_line(a), "mcp-warden: ALERT high policy.tool_denied server=postmark "
                           "method=tools/call: bad?[2Jthing?");
}

TEST(AlertStderr, OneLinePerAlertAtOrAboveTheMinimum) {
  Pipe p;
  AlerterConfig c;
  c.min_severity = core::Severity::high;
  c.stderr_fd = p.fds[1];
  auto alerter = Alerter::create(c);
  ASSERT_TRUE(alerter) << alerter.error().message;
  (*alerter)->raise(sample(core::Severity::medium)); // below: ignored
  (*alerter)->raise(sample(core::Severity::high));
  (*alerter)->raise(sample(core::Severity::critical));
  EXPECT_EQ(drain(p.fds[0]),
            "mcp-warden: ALERT high policy.tool_denied server=postmark tool=sendEmail: tool "
            "sendEmail is denied by policy (audit seq 12)\n"
            "mcp-warden: ALERT critical policy.tool_denied server=postmark tool=sendEmail: tool "
            "sendEmail is denied by policy (audit seq 12)\n");
  EXPECT_EQ((*alerter)->raised(), 2u);
  EXPECT_EQ((*alerter)->ignored(), 1u);
}

TEST(AlertFileSink, AppendsJsonLinesWithMode0600AndRedacts) {
  test::TempDir dir;
  const std::string path = dir.file("alerts.jsonl");
  AlerterConfig c;
  c.min_severity = core::Severity::low;
  c.sinks = {{SinkSpec::Kind::file, path}};
  util::ManualClock clock;
  auto alerter = Alerter::create(c, clock);
  ASSERT_TRUE(alerter) << alerter.error().message;
  Alert a = sample();
  (*alerter)->raise(a);
  a.ts_us = 0; // filled from the clock
  a.finding.evidence = "token=ghp_" + std::string(36, 'Q');
  (*alerter)->raise(a);
  (*alerter)->shutdown();
  auto lines = test::read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], alert_json(sample()));
  EXPECT_NE(lines[1].find(R"("ts":"2026-01-01T00:00:00.000000Z")"), std::string::npos);
  EXPECT_NE(lines[1].find(R"("evidence":"token=[REDACTED:github_token]")"), std::string::npos);
  EXPECT_EQ(test::file_mode(path), 0600u);
  simdjson::dom::parser parser;
  for (const auto& l : lines) {
    simdjson::dom::element e;
    EXPECT_EQ(parser.parse(l).get(e), simdjson::SUCCESS) << l;
  }
}

TEST(AlertConfig, BadSinksAreErrorsThatNameThem) {
  AlerterConfig c;
  c.sinks = {{SinkSpec::Kind::webhook, "https://hooks.example.com/x"}};
  auto a = Alerter::create(c);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message,
            "webhook URL 'https://hooks.example.com/x': https:// is not supported yet; use an "
            "http:// endpoint (for example a local relay) or a file or syslog sink");
  c.sinks = {{SinkSpec::Kind::syslog, "local9"}};
  a = Alerter::create(c);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("unknown syslog facility 'local9'"), std::string::npos);
  c.sinks = {{SinkSpec::Kind::file, "/nonexistent-warden/alerts.jsonl"}};
  a = Alerter::create(c);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("cannot open alert file /nonexistent-warden/alerts.jsonl"),
            std::string::npos);
}

TEST(AlertConfig, FromPolicyKeepsWorkingSinks) {
  test::TempDir dir;
  policy::AlertConfig pc;
  pc.alert_severity = core::Severity::medium;
  pc.sinks = {{policy::SinkKind::file, dir.file("a.jsonl")},
              {policy::SinkKind::file, "/nonexistent-warden/b.jsonl"}};
  auto alerter = Alerter::from_config(pc);
  ASSERT_NE(alerter, nullptr);
  EXPECT_EQ(alerter->min_severity(), core::Severity::medium);
  ASSERT_EQ(alerter->sinks().size(), 1u);
  EXPECT_EQ(alerter->sinks()[0]->name(), "file:" + dir.file("a.jsonl"));
}

TEST(AlertSyslog, FacilitiesAndPriorities) {
  EXPECT_EQ(parse_syslog_facility("local0"), LOG_LOCAL0);
  EXPECT_EQ(parse_syslog_facility("user"), LOG_USER);
  EXPECT_EQ(parse_syslog_facility("DAEMON"), LOG_DAEMON);
  EXPECT_EQ(parse_syslog_facility("local8"), -1);
  EXPECT_EQ(syslog_priority(core::Severity::critical), LOG_CRIT);
  EXPECT_EQ(syslog_priority(core::Severity::high), LOG_ERR);
  EXPECT_EQ(syslog_priority(core::Severity::medium), LOG_WARNING);
  EXPECT_EQ(syslog_priority(core::Severity::low), LOG_NOTICE);
  EXPECT_EQ(syslog_priority(core::Severity::info), LOG_INFO);
  auto sink = SyslogSink::open("local3");
  ASSERT_TRUE(sink);
  EXPECT_EQ((*sink)->name(), "syslog:local3");
  (*sink)->deliver(sample()); // queued; the worker hands it to syslog(3)
  (*sink)->shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  EXPECT_EQ((*sink)->stats().delivered, 1u);
}

TEST(AlertWebhookUrl, Parses) {
  auto u = parse_http_url("http://127.0.0.1:8080/hook?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/hook?x=1");
  EXPECT_EQ(u->host_header, "127.0.0.1:8080");
  u = parse_http_url("http://[::1]/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 80);
  u = parse_http_url("http://alerts.internal");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, "/");
  EXPECT_FALSE(parse_http_url("http://:80/"));
  EXPECT_FALSE(parse_http_url("http://host:99999/"));
  EXPECT_FALSE(parse_http_url("http://user:pw@host/"));
  EXPECT_FALSE(parse_http_url("ftp://host/"));
}

} // namespace
} // namespace warden::alert
