// The webhook sink: each alert is POSTed as JSON (alert_json) to an http:// URL.
//
// Only plain http:// for now (https:// is refused with a message; TLS will come with the egress
// work). Point it at a local relay or collector if the receiver is remote. Delivery runs on one
// worker thread with a Boost.Beast HTTP/1.1 client: a bounded queue (default 1024, drop oldest
// when full, counted), 3 tries per alert with 200 ms / 400 ms backoff, connect and write/read
// timeouts, so a dead or slow receiver never blocks Alerter::raise(). Any 2xx is success; 408,
// 429 and 5xx are retried; other statuses fail at once. The worker drives Beast's asynchronous
// operations on a private io_context (run until the attempt's deadline): one request at a time,
// synchronous from the worker's point of view, with timeouts Beast's blocking calls lack.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "warden/alert/sink.h"
#include "warden/util/result.h"

namespace boost::asio {
class io_context;
}

namespace warden::alert {

struct HttpUrl {
  std::string host; // without brackets for IPv6
  uint16_t port = 80;
  std::string target = "/"; // path and query
  std::string host_header;  // host[:port] as it goes in the Host header
};
// http://host[:port][/path][?query]. An error names what is wrong (https, no host, bad port...).
Result<HttpUrl> parse_http_url(const std::string& url);

struct WebhookOptions {
  QueuedSink::Options queue{1024, 3, std::chrono::milliseconds(200)};
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{2000}; // writing the request and reading the answer
};

class WebhookSink final : public QueuedSink {
public:
  static Result<std::unique_ptr<WebhookSink>> open(const std::string& url,
                                                   const WebhookOptions& options = {});
  ~WebhookSink() override;
  std::string name() const override { return "webhook:" + m_url; }

private:
  WebhookSink(std::string url, HttpUrl parsed, const WebhookOptions& options);
  SendResult send_one(const Alert& a, SteadyTime deadline) override;
  void abort_in_flight() override;

  std::string m_url;
  HttpUrl m_parsed;
  WebhookOptions m_options;
  std::mutex m_io_mu;
  boost::asio::io_context* m_active = nullptr; // the attempt in flight, for abort_in_flight
  bool m_aborted = false;
};

} // namespace warden::alert
