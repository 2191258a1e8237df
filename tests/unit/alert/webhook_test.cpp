// The webhook sink against a tiny HTTP server on 127.0.0.1 port 0, and against nothing at all.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "warden/alert/alerter.h"
#include "warden/alert/webhook.h"

namespace warden::alert {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

struct Received {
  std::string target;
  std::string content_type;
  std::string body;
};

// Accepts connections one at a time. `statuses` are answered in order (the last one repeats);
// status 0 means: read the request, then hold the connection without answering.
class TinyHttpServer {
public:
  explicit TinyHttpServer(std::vector<unsigned> statuses)
      : m_statuses(std::move(statuses)),
        m_acceptor(m_ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    m_port = m_acceptor.local_endpoint().port();
    m_thread = std::thread([this] { serve(); });
  }
  ~TinyHttpServer() {
    m_stop = true;
    beast::error_code ec;
    tcp::socket wake(m_ioc);
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), m_port), ec);
    m_thread.join();
  }
  uint16_t port() const { return m_port; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  bool wait_for(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lk(m_mu);
    return m_cv.wait_for(lk, timeout, [&] { return m_received.size() >= n; });
  }
  std::vector<Received> received() {
    std::lock_guard lk(m_mu);
    return m_received;
  }

private:
  void serve() {
    for (size_t i = 0;; ++i) {
      tcp::socket s(m_ioc);
      beast::error_code ec;
      m_acceptor.accept(s, ec);
      if (ec || m_stop) return;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) continue;
      unsigned status = m_statuses[std::min(i, m_statuses.size() - 1)];
      {
        std::lock_guard lk(m_mu);
        m_received.push_back(
            {std::string(req.target()), std::string(req[http::field::content_type]), req.body()});
      }
      m_cv.notify_all();
      if (status == 0) {
        m_held.push_back(std::move(s));
        continue;
      }
      http::response<http::string_body> res{static_cast<http::status>(status), 11};
      res.body() = "ok";
      res.prepare_payload();
      http::write(s, res, ec);
    }
  }

  std::vector<unsigned> m_statuses;
  net::io_context m_ioc;
  tcp::acceptor m_acceptor;
  uint16_t m_port = 0;
  std::atomic<bool> m_stop{false};
  std::vector<tcp::socket> m_held;
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::vector<Received> m_received;
  std::thread m_thread;
};

Alert sample(int i = 1) {
  Alert a;
  a.finding = {"egress.unknown_recipient", core::Severity::critical,
               "Bcc phan@giftshop.club was not in the call's arguments", "phan@giftshop.club"};
  a.server = "postmark";
  a.tool = "sendEmail";
  a.method = "tools/call";
  a.audit_seq = static_cast<uint64_t>(i);
  a.ts_us = 1'767'225'600'000'000;
  return a;
}

// A port on 127.0.0.1 where nothing listens.
uint16_t dead_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port(); // closed when `a` goes
}

TEST(AlertWebhook, PostsTheAlertJson) {
  TinyHttpServer server({200});
  AlerterConfig c;
  c.min_severity = core::Severity::high;
  c.sinks = {{SinkSpec::Kind::webhook, server.url("/hook?team=sec")}};
  auto alerter = Alerter::create(c);
  ASSERT_TRUE(alerter) << alerter.error().message;
  (*alerter)->raise(sample(7));
  ASSERT_TRUE(server.wait_for(1, 5s));
  (*alerter)->shutdown();
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/hook?team=sec");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].body, alert_json(sample(7)));
  auto* sink = dynamic_cast<WebhookSink*>((*alerter)->sinks().at(0).get());
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->stats().delivered, 1u);
  EXPECT_EQ(sink->stats().failed, 0u);
}

TEST(AlertWebhook, RetriesAServerErrorWithBackoff) {
  TinyHttpServer server({503, 200});
  auto sink = WebhookSink::open(server.url("/"));
  ASSERT_TRUE(sink);
  auto t0 = std::chrono::steady_clock::now();
  (*sink)->deliver(sample());
  ASSERT_TRUE(server.wait_for(2, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 190ms); // the 200 ms backoff
  (*sink)->shutdown(std::chrono::steady_clock::now() + 2s);
  auto s = (*sink)->stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.retries, 1u);
  auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, got[1].body);
}

TEST(AlertWebhook, ClientErrorIsNotRetried) {
  TinyHttpServer server({400, 200});
  auto sink = WebhookSink::open(server.url("/"));
  ASSERT_TRUE(sink);
  (*sink)->deliver(sample());
  ASSERT_TRUE(server.wait_for(1, 5s));
  (*sink)->shutdown(std::chrono::steady_clock::now() + 2s);
  EXPECT_EQ((*sink)->stats().failed, 1u);
  EXPECT_EQ(server.received().size(), 1u);
}

TEST(AlertWebhook, DeadWebhookNeverBlocksRaise) {
  AlerterConfig c;
  c.min_severity = core::Severity::high;
  c.sinks = {{SinkSpec::Kind::webhook, "http://127.0.0.1:" + std::to_string(dead_port()) + "/x"}};
  auto alerter = Alerter::create(c);
  ASSERT_TRUE(alerter) << alerter.error().message;
  auto* sink = dynamic_cast<WebhookSink*>((*alerter)->sinks().at(0).get());
  ASSERT_NE(sink, nullptr);

  auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= 2000; ++i)
    (*alerter)->raise(sample(i));
  auto took = std::chrono::steady_clock::now() - t0;
  // Not a speed claim (bench/ makes those): a raise() that waited for delivery would spend at least
  // one 200 ms retry backoff per alert, 400 s for 2000. Any bound far below that proves the
  // queue decouples, and stays robust on a loaded CI machine under ASan.
  EXPECT_LT(took, 2000ms) << std::chrono::duration_cast<std::chrono::microseconds>(took).count()
                          << " us for 2000 raises";

  auto s = sink->stats();
  EXPECT_EQ(s.queued, 1024u);
  // The worker holds at most a couple of alerts; everything else beyond 1024 was dropped.
  EXPECT_GE(s.dropped, 2000u - 1024u - 3u);
  EXPECT_LE(s.dropped, 2000u - 1024u);

  // Shutdown drains with a 2 s deadline, then gives up on the rest.
  auto t1 = std::chrono::steady_clock::now();
  (*alerter)->shutdown();
  auto shut = std::chrono::steady_clock::now() - t1;
  EXPECT_LT(shut, 2500ms);
  s = sink->stats();
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_GE(s.failed, 1u);
  EXPECT_EQ(s.dropped + s.failed + s.abandoned, 2000u);
}

TEST(AlertWebhook, SlowWebhookIsCutOffAtTheShutdownDeadline) {
  TinyHttpServer server({0}); // reads the request, never answers
  auto sink = WebhookSink::open(server.url("/"));
  ASSERT_TRUE(sink);
  (*sink)->deliver(sample());
  ASSERT_TRUE(server.wait_for(1, 5s));
  auto t0 = std::chrono::steady_clock::now();
  (*sink)->shutdown(std::chrono::steady_clock::now() + 300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 1000ms);
  EXPECT_EQ((*sink)->stats().delivered, 0u);
}

} // namespace
} // namespace warden::alert
