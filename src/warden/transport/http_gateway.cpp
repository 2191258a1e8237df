#include "warden/transport/http_gateway.h"

#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <simdjson.h>

#include "warden/audit/audit_log.h"
#include "warden/audit/audit_log.h"
#include "warden/audit/redact.h"
#include "warden/codec/codec.h"
#include "warden/detect/shadowing.h"
#include "warden/gateway/agent_identity.h"
#include "warden/gateway/aggregator.h"
#include "warden/gateway/chain.h"
#include "warden/gateway/modern.h"
#include "warden/gateway/processor.h"
#include "warden/gateway/upstream.h"
#include "warden/transport/http_upstream.h"
#include "warden/transport/stdio_relay.h"
#include "warden/util/json_writer.h"
#include "warden/util/sha256.h"
#include "warden/util/strings.h"

namespace warden::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::string json_quote(std::string_view s) {
  std::string out;
  util::append_json_string(out, s);
  return out;
}

constexpr std::string_view k_supported_versions[] = {"2025-03-26", "2025-06-18", "2025-11-25"};
// The legacy HTTP+SSE transport's two endpoints (protocol 2024-11-05).
constexpr std::string_view k_legacy_sse_path = "/sse";
constexpr std::string_view k_legacy_messages_path = "/messages";

std::string new_session_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

// The id key of a response line (a message with result or error and no method), or nullopt.
std::optional<std::string> response_key(simdjson::dom::parser& parser, std::string_view line) {
  simdjson::dom::object o;
  if (parser.parse(line.data(), line.size()).get(o) != simdjson::SUCCESS) return std::nullopt;
  if (o["method"].error() == simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::element id;
  if (o["id"].get(id) != simdjson::SUCCESS) return std::nullopt;
  codec::Id cid;
  int64_t i = 0;
  std::string_view s;
  if (id.get_int64().get(i) == simdjson::SUCCESS) cid = codec::Id{codec::Id::Type::integer, i, {}};
  else if (id.get_string().get(s) == simdjson::SUCCESS) cid = codec::Id{codec::Id::Type::string, 0, std::string(s)};
  else return std::nullopt;
  return cid.key();
}

bool is_loopback_name(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1";
}

// The host part of a Host header or an Origin URL's authority (without port).
std::string host_part(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return std::string(authority.substr(0, close == std::string_view::npos ? authority.size() : close + 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

}  // namespace

// Everything one POST (or the GET stream) waits for: the responses to its request ids and, for
// SSE, the server's messages routed to it.
struct Waiter {
  explicit Waiter(asio::any_io_executor ex) : wake(ex) { wake.expires_at(asio::steady_timer::time_point::max()); }
  asio::steady_timer wake;
  std::deque<std::string> messages;  // JSON lines to send
  std::deque<uint64_t> event_ids;    // their SSE event ids (0: none)
  std::set<std::string> awaiting;    // id keys of requests not yet answered
  bool sse = false;
  bool closed = false;
  int stream = 0;                    // SSE stream number within the session
  std::weak_ptr<Waiter> successor;   // the connection that resumed this stream (Last-Event-ID)
  // 2026-07-28 clients: every message is rewritten on its way in (the client's id and progress
  // token restored, the result completed; see handle_modern).
  std::function<void(std::string&)> rewrite;
  void push(std::string m, uint64_t event_id = 0) {
    messages.push_back(std::move(m));
    event_ids.push_back(event_id);
    wake.cancel();
  }
  void pop() {
    messages.pop_front();
    event_ids.pop_front();
  }
};

// An SSE event kept for resumption.
struct SentEvent {
  uint64_t id = 0;
  int stream = 0;
  std::string data;
};

// One server behind a session: its sandboxed upstream, filter chain and Processor, as in `run`.
struct Leg {
  Leg(size_t i, const policy::ServerPolicy* sp, const std::string& sid, asio::io_context& io)
      : index(i), server(sp), session(sp->name, sid), out_sd(io), err_sd(io), in_sd(io), q_sd(io),
        framer(16u << 20) {}
  size_t index;
  const policy::ServerPolicy* server;
  gateway::Session session;
  gateway::FilterChain chain;
  gateway::BreakerFilter* breaker = nullptr;
  gateway::PolicyFilter* policy = nullptr;  // decides held approvals
  std::unique_ptr<gateway::Upstream> upstream;       // a local command, in the sandbox
  std::unique_ptr<HttpUpstream> remote;              // or a remote server (`url:`)
  std::unique_ptr<gateway::Processor> processor;
  int64_t timeout_ms = 0;  // servers.NAME.timeout, or the gateway's --upstream-timeout-ms
  asio::posix::stream_descriptor out_sd, err_sd, in_sd, q_sd;
  LineFramer framer;
  std::deque<std::string> to_server;
  bool writing = false;
  bool dead = false;
};

struct GwSession {
  explicit GwSession(std::string sid) : id(std::move(sid)), last_active(std::chrono::steady_clock::now()) {}
  std::string id;
  std::chrono::steady_clock::time_point last_active;  // the last request on it (for idle expiry)
  std::vector<std::unique_ptr<Leg>> legs;         // one per server, in policy order
  std::unique_ptr<gateway::Aggregator> aggregator;  // with two or more servers (or namespace: always)
  std::map<std::string, std::shared_ptr<Waiter>> by_id;  // request id key -> its POST
  std::weak_ptr<Waiter> sse_post;                       // newest open SSE POST
  std::weak_ptr<Waiter> get_stream;
  std::deque<std::string> backlog;  // server messages with no stream to go to (bounded)
  bool dead = false;
  std::string how_ended;
  std::string agent;  // who opened it (empty without `agents:`)
  bool legacy = false;  // HTTP+SSE (2024-11-05): one GET stream carries every answer
  // 2026-07-28 (sessionless) clients of one agent share one session the gateway initialized.
  bool modern = false;
  bool ready = false;           // the gateway's own initialize was answered
  bool upstream_modern = false; // the upstream speaks 2026-07-28 itself: requests pass through
  std::string init_error;       // why it failed, if it did
  std::string init_result;      // the upstream's initialize result (JSON)
  std::string server_info;      // its serverInfo (JSON)
  std::map<std::string, std::weak_ptr<Waiter>> progress;  // gateway progress token -> its request
  gateway::modern::ParamHeaders param_headers;  // tools' x-mcp-header arguments, from tools/list
  // 2026-07-28 calls in flight on a 2025-era upstream, by gateway id key, and the server requests
  // they raised that wait to become an input_required round.
  struct ModernCall {
    std::weak_ptr<Waiter> waiter;
    std::string capabilities;  // the client's, from the request's _meta
    std::string method, target;
  };
  std::map<std::string, ModernCall> calls;
  std::map<std::string, std::vector<gateway::modern::InputRounds::Ask>> asking;
  bool flush_posted = false;
  gateway::modern::InputRounds rounds;
  // gateway.upstreams: shared. A client's session then has no servers of its own: its messages go
  // to `upstream`, the agent's shared session, under gateway ids; the shared session knows its
  // `clients` to route server messages to them.
  std::shared_ptr<GwSession> upstream;
  struct Mapped {
    std::string client_id;  // JSON
    std::string token;      // the gateway progress token standing for the client's, if any
  };
  std::map<std::string, Mapped> mapped;  // gateway id key -> the client's id
  std::map<std::string, std::string> tokens;  // gateway progress token -> the client's (JSON)
  std::vector<std::weak_ptr<GwSession>> clients;
  std::string shared_key;  // its key in Impl::shared
  std::set<std::string> shadow_seen;  // cross-server findings already recorded
  // SSE resumption: every event on a stream gets a session-wide id; the last 1000 are kept.
  uint64_t next_event = 0;
  int next_stream = 0;
  std::deque<SentEvent> history;
  std::map<int, std::weak_ptr<Waiter>> streams;
  bool tripped() const {
    if (upstream) return upstream->tripped();
    for (const auto& l : legs)
      if (l->breaker->tripped()) return true;
    return false;
  }
};

// A request held for `action: approve` until a person decides or the wait times out.
struct PendingApproval {
  std::string id;  // what `mcp-warden approvals approve ID` names
  std::weak_ptr<GwSession> session;
  size_t leg = 0;
  std::string request_key;  // codec::Id::key() of the held request
  std::string line;         // the message, fed through the leg's chain again once decided
  std::string server, tool, method, agent, session_id, reason, arguments;
  int64_t requested_unix_us = 0;
  std::chrono::steady_clock::time_point deadline;
};

struct HttpGateway::Impl {
  // Servers starting at once: starting is mostly waiting for the sandbox, little CPU.
  static constexpr size_t k_start_workers = 4;
  explicit Impl(HttpGatewayOptions o) : opts(std::move(o)), acceptor(io), admin_acceptor(io) {}

  HttpGatewayOptions opts;
  asio::io_context io{1};
  tcp::acceptor acceptor, admin_acceptor;
  uint16_t admin_bound = 0;
  bool kill_switch = false;
  // Metrics (I/O thread only): POST latency histogram and message counts of closed sessions.
  static constexpr double k_buckets[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30};
  uint64_t latency_counts[std::size(k_buckets) + 1] = {};
  double latency_sum = 0;
  uint64_t latency_n = 0;
  gateway::ProcessorStats closed_totals;
  std::string listen_host;
  uint16_t bound_port = 0;
  std::map<std::string, std::shared_ptr<GwSession>> sessions;
  std::map<std::string, PendingApproval> approvals;  // by approval id
  std::map<std::string, std::shared_ptr<GwSession>> shared;  // 2026-07-28 sessions by agent ("" anonymous)
  uint64_t next_modern = 0;  // gateway ids and progress tokens for 2026-07-28 requests
  simdjson::dom::parser parser;  // I/O thread only
  // POST bodies, decoded once for their request ids and the Processor (I/O thread only; the
  // Processors' own limits).
  codec::Decoder body_decoder{body_limits(opts)};
  static codec::Limits body_limits(const HttpGatewayOptions& o) {
    codec::Limits limits;
    limits.max_message_bytes = o.max_body_bytes;
    return limits;
  }
  std::optional<asio::ssl::context> ssl;  // with gateway.tls
  std::shared_ptr<const gateway::AgentDirectory> agents;  // swapped on reload
  mutable std::mutex stats_mu;
  HttpGatewayStats stats;

  // ---- the audit log: written before anything is forwarded -----------------------------------
  //
  // The legs' Processors defer their records (audit::AuditLog::append_deferred); every write to a
  // peer (a server's stdin, a remote server, an HTTP answer or SSE event) first calls
  // audit_written(), and a flush is posted to the end of the loop turn in which the first record
  // waits. So the records of one turn go out in one write(2), and nothing a record describes
  // leaves before that record is written. If a write fails, the gateway fails closed for good:
  // every session ends, nothing more is forwarded, new sessions are refused.
  bool audit_down = false;
  uint64_t audit_failures_before = 0;  // stats().failures when the gateway started

  bool audit_written() {
    if (!opts.audit) return true;
    if (audit_down) return false;
    auto st = opts.audit->flush();
    if (st.ok() && opts.audit->stats().failures == audit_failures_before) return true;
    fail_audit(st.ok() ? opts.audit->last_error() : st.error().message);
    return false;
  }

  void fail_audit(const std::string& why) {
    audit_down = true;
    std::fprintf(stderr,
                 "mcp-warden gateway: the audit log cannot be written (%s): every session is ended and new ones are "
                 "refused (fail closed: no unaudited traffic); restart the gateway once the log can be written\n",
                 why.c_str());
    auto all = sessions;
    for (auto& [id, s] : all) close_session(s, "was ended: the audit log cannot be written");
  }

  static constexpr std::string_view k_audit_down = "the audit log cannot be written; nothing is forwarded (see the gateway's log)";

  // ---- sessions --------------------------------------------------------------------------------

  // The leg's filter chain and Processor (`co` names its intent board, if any).
  void build_chain(const std::shared_ptr<GwSession>& s, Leg& leg, const policy::AgentConfig* agent,
                   gateway::ChainOptions& co) {
    co.policy = opts.policy;
    co.server = leg.server;
    co.clock = opts.clock;
    co.mode_override = opts.mode_override;
    co.scanner = opts.scanner;
    co.pins = opts.pins;
    if (agent) {
      co.agent = agent->name;
      co.agent_tools = agent->tools;
      leg.session.set_agent(agent->name);
    }
    co.hold_for_approval = [this, weak = std::weak_ptr<GwSession>(s), index = leg.index](
                               const codec::Message& m, const std::string& reason) {
      hold_for_approval(weak, index, m, reason);
    };
    auto built = gateway::build_standard_chain(leg.chain, co);
    leg.breaker = built.breaker;
    leg.policy = built.policy;
    leg.processor = std::make_unique<gateway::Processor>(leg.session, leg.chain, opts.audit, opts.alerter,
                                                         *opts.clock, body_limits(opts));
    leg.processor->set_defer_audit(true);  // written by audit_written() before anything goes out
  }

  // `f()` on a worker thread; the coroutine resumes on the I/O thread with its result.
  template <class T, class F>
  awaitable<T> on_worker(F f) {
    // (No temporary with a destructor inside the co_await expression: GCC 12 destroys it twice.)
    auto initiate = [this, f = std::move(f)](auto handler) mutable {
      asio::post(workers, [this, f = std::move(f), handler = std::move(handler)]() mutable {
        T result = f();
        asio::post(io, [handler = std::move(handler), result = std::move(result)]() mutable {
          std::move(handler)(std::move(result));
        });
      });
    };
    T result = co_await asio::async_initiate<decltype(use_awaitable), void(T)>(std::move(initiate), use_awaitable);
    co_return result;
  }

  // A local server starts on a worker thread (the sandbox takes tens of milliseconds: a burst of
  // new sessions must not stall requests on open ones); the rest happens back on the I/O thread.
  awaitable<Status> start_leg(std::shared_ptr<GwSession> s, Leg& leg, const policy::AgentConfig* agent) {
    leg.timeout_ms = leg.server->timeout_s > 0 ? leg.server->timeout_s * 1000 : opts.upstream_timeout_ms;
    if (!leg.server->url.empty()) co_return start_remote_leg(s, leg, agent);
    gateway::UpstreamOptions uo;
    uo.session = s->id;
    uo.monitor = opts.mode_override.value_or(opts.policy->mode()) == policy::Mode::monitor;
    uo.state_dir = opts.state_dir;
    uo.audit_path = opts.audit_path;
    uo.audit = opts.audit;
    uo.alerter = opts.alerter;
    uo.clock = opts.clock;
    // The policy (and so *leg.server) outlives a reload (`retired`); the audit log and the
    // alerter the guard is given are thread-safe.
    auto job = [server = leg.server, uo] { return gateway::Upstream::start(*server, server->command, uo); };
    auto up = co_await on_worker<Result<std::unique_ptr<gateway::Upstream>>>(std::move(job));
    if (!up) co_return Error{502, fmt::format("server '{}': {}", leg.server->name, up.error().message)};
    leg.upstream = std::move(*up);
    gateway::ChainOptions co;
    co.board = &leg.upstream->board();
    build_chain(s, leg, agent, co);
    leg.processor->lifecycle("start", fmt::format(R"({{"transport":"streamable-http","pid":{},"sandbox":{}}})",
                                                  leg.upstream->child().pid(), leg.upstream->describe_json()));
    auto& child = leg.upstream->child();
    leg.out_sd.assign(::dup(child.stdout_fd().get()));
    leg.err_sd.assign(::dup(child.stderr_fd().get()));
    leg.in_sd.assign(::dup(child.stdin_fd().get()));
    child.stdin_fd().reset();
    child.stdout_fd().reset();
    child.stderr_fd().reset();
    co_return Ok{};
  }

  // A remote server (`url:`): the gateway is its Streamable HTTP client, with the headers the
  // policy gives it (${NAME} filled from the gateway's own secrets; an agent's credentials are
  // never passed on). Its messages run through the same chain as a local server's.
  Status start_remote_leg(const std::shared_ptr<GwSession>& s, Leg& leg, const policy::AgentConfig* agent) {
    HttpUpstreamOptions ho;
    ho.url = leg.server->url;
    // Past the leg's own timeout, which answers and cancels first (expire_requests).
    ho.timeout_ms = static_cast<uint32_t>(std::min<int64_t>(leg.timeout_ms + 2000, UINT32_MAX));
    ho.max_message_bytes = opts.max_body_bytes;
    for (const auto& [name, value] : leg.server->headers) {
      std::string filled;
      for (size_t i = 0; i < value.size();) {
        size_t at = value.find("${", i);
        size_t end = at == std::string::npos ? std::string::npos : value.find('}', at);
        if (end == std::string::npos) {
          filled += value.substr(i);
          break;
        }
        filled += value.substr(i, at - i);
        std::string secret = value.substr(at + 2, end - at - 2);
        auto ref = leg.server->secrets.find(secret);
        const char* real = ref == leg.server->secrets.end() ? nullptr : std::getenv(ref->second.from_env.c_str());
        if (!real)
          return Error{502, fmt::format("server '{}': header {} needs secret {}, but ${} is not set in the gateway's "
                                        "environment",
                                        leg.server->name, name, secret,
                                        ref == leg.server->secrets.end() ? secret : ref->second.from_env)};
        filled += real;
        i = end + 1;
      }
      ho.headers.emplace_back(name, std::move(filled));
    }
    auto checked = HttpUpstream::check(std::move(ho));
    if (!checked) return Error{502, fmt::format("server '{}': {}", leg.server->name, checked.error().message)};
    gateway::ChainOptions co;  // no intent board: what a remote server sends out is not ours to see
    build_chain(s, leg, agent, co);
    std::weak_ptr<GwSession> weak = s;
    Leg* lp = &leg;
    leg.remote = std::make_unique<HttpUpstream>(
        io, std::move(*checked),
        [this, weak, lp](std::string_view line) {
          auto live = weak.lock();
          if (!live || lp->dead) return;
          gateway::Output out;
          lp->processor->on_line(core::Direction::s2c, line, false, out);
          route(live, *lp, out);
        },
        [this, weak, lp](std::string how) {
          auto live = weak.lock();
          if (live && !lp->dead) leg_ended(live, *lp, how);
        });
    leg.processor->lifecycle("start", fmt::format(R"({{"transport":"streamable-http","upstream":{}}})",
                                                  leg.remote->describe_json()));
    return Ok{};
  }

  // Why no session can open now, if so.
  std::optional<Error> cannot_open() const {
    if (kill_switch) return Error{503, "the gateway's kill switch is on: no new sessions (admin POST /release)"};
    if (audit_down) return Error{503, std::string(k_audit_down)};
    if (sessions.size() + starting >= opts.max_sessions)
      return Error{503, fmt::format("too many sessions ({}); end some with DELETE", sessions.size() + starting)};
    return std::nullopt;
  }

  size_t starting = 0;  // sessions whose servers are starting

  awaitable<Result<std::shared_ptr<GwSession>>> open_session(const policy::AgentConfig* agent) {
    if (auto why = cannot_open()) co_return *why;
    auto s = std::make_shared<GwSession>(new_session_id());
    std::vector<std::string> names;
    std::vector<const policy::ServerPolicy*> servers = opts.servers;  // a reload may swap opts.servers
    ++starting;
    std::optional<Error> failed;
    for (const auto* sp : servers) {
      s->legs.push_back(std::make_unique<Leg>(s->legs.size(), sp, s->id, io));
      names.push_back(sp->name);
      if (auto st = co_await start_leg(s, *s->legs.back(), agent); !st.ok()) {
        failed = st.error();
        break;
      }
    }
    --starting;
    if (!failed && (kill_switch || audit_down)) failed = cannot_open();  // thrown while it started
    if (failed) {
      for (auto& l : s->legs) stop_leg(s, *l, false);
      co_return *failed;
    }
    if (s->legs.size() > 1 || opts.namespacing == policy::Namespacing::always)
      s->aggregator = std::make_unique<gateway::Aggregator>(
          names, opts.namespacing != policy::Namespacing::never, WARDEN_VERSION);
    if (agent) s->agent = agent->name;
    sessions[s->id] = s;
    {
      std::lock_guard lock(stats_mu);
      ++stats.sessions_opened;
      stats.sessions_open = sessions.size();
    }
    for (auto& l : s->legs) {
      Leg* leg = l.get();
      if (!leg->upstream) continue;  // remote: its HttpUpstream calls back
      asio::co_spawn(io, read_server(s, leg), asio::detached);
      asio::co_spawn(io, pass_stderr(s, leg), asio::detached);
      if (leg->upstream->guard()) {
        leg->q_sd.assign(::dup(leg->upstream->guard()->quarantine_fd()));
        asio::co_spawn(io, watch_quarantine(s, leg), asio::detached);
      }
    }
    co_return s;
  }

  // Kills a leg's server. The I/O thread never waits for it: the exit is reaped by a coroutine
  // (the upstream, and so the chain's intent board, stays alive with the session), except when the
  // gateway itself is stopping and nothing else runs.
  void stop_leg(const std::shared_ptr<GwSession>& s, Leg& leg, bool blocking) {
    boost::system::error_code ec;
    leg.out_sd.close(ec);
    leg.err_sd.close(ec);
    leg.in_sd.close(ec);
    leg.q_sd.close(ec);
    if (leg.remote) leg.remote->close();  // DELETE the remote session (bounded, in the background)
    if (!leg.upstream) return;
    leg.upstream->child().kill();
    if (blocking) {
      while (!leg.upstream->child().try_wait()) ::usleep(1000);
      return;
    }
    asio::co_spawn(io, reap(s, &leg), asio::detached);
  }

  awaitable<void> reap(std::shared_ptr<GwSession> s, Leg* leg) {
    (void)s;  // keeps the session, and so `leg`, alive
    asio::steady_timer t(io);
    for (int i = 0; !leg->upstream->child().try_wait() && i < 6000; ++i) {
      t.expires_after(std::chrono::milliseconds(i < 20 ? 1 : 10));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
  }

  // One server of a session is gone (exited, quarantined, or the session ends): its pending
  // requests are answered with the reason and its stop is recorded.
  void close_leg(const std::shared_ptr<GwSession>& s, Leg& leg, std::string how, bool blocking = false) {
    if (leg.dead) return;
    leg.dead = true;
    if (leg.breaker->tripped()) how = "was " + leg.breaker->describe();
    gateway::Output out;
    leg.processor->on_server_exit(how, out);
    route(s, leg, out);
    leg.processor->lifecycle("stop", fmt::format(R"({{"how":{}}})", json_quote(how)));
    const auto& ps = leg.processor->stats();
    closed_totals.forwarded += ps.forwarded;
    closed_totals.blocked += ps.blocked;
    closed_totals.invalid += ps.invalid;
    for (size_t i = 0; i < 5; ++i) closed_totals.findings[i] += ps.findings[i];
    stop_leg(s, leg, blocking);
    if (s->aggregator && !leg.breaker->tripped()) {
      // A quarantined server keeps answering through its breaker; an exited one is down.
      gateway::Aggregator::Out aout;
      s->aggregator->leg_down(leg.index, how, aout);
      deliver_client(s, aout.to_client);
    }
  }

  void close_session(const std::shared_ptr<GwSession>& s, std::string how, bool blocking = false) {
    if (s->dead) return;
    s->dead = true;
    // A quarantined session stays listed: later requests get the breaker's error, not a 404.
    bool keep_listed = s->tripped() && how.find("DELETE") == std::string::npos &&
                       how.find("stopped with the gateway") == std::string::npos &&
                       how.find("idle for") == std::string::npos;
    for (auto& l : s->legs) close_leg(s, *l, how, blocking);
    if (s->legs.size() == 1 && s->legs[0]->breaker->tripped()) how = "was " + s->legs[0]->breaker->describe();
    s->how_ended = how;
    for (auto& [k, w] : s->by_id) w->wake.cancel();
    if (auto g = s->get_stream.lock()) {
      g->closed = true;
      g->wake.cancel();
    }
    if (!keep_listed) sessions.erase(s->id);
    if (s->modern) {
      auto it = shared.find(s->shared_key);
      if (it != shared.end() && it->second == s) shared.erase(it);
      for (auto& weak : s->clients)  // the sessions that shared it end with it
        if (auto c = weak.lock(); c && !c->dead) close_session(c, "lost its shared servers: they " + how);
    }
    if (s->upstream)  // its POSTs wait on the shared session's ids: they see this one end now
      for (const auto& [key, m] : s->mapped)
        if (auto it = s->upstream->by_id.find(key); it != s->upstream->by_id.end()) it->second->wake.cancel();
    if (s->upstream && !s->upstream->dead)  // a sharing session's calls in flight are cancelled
      for (const auto& [key, m] : s->mapped)  // gateway ids are strings: key "s" + id
        feed_client(s->upstream, fmt::format(R"({{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{},"reason":"the client's session ended"}}}})",
                                             json_quote(key.substr(1))));
    std::lock_guard lock(stats_mu);
    stats.sessions_open = sessions.size();
  }

  // A leg ended: with one server the session ends with it; with several, when none is left.
  void leg_ended(const std::shared_ptr<GwSession>& s, Leg& leg, const std::string& how) {
    if (s->legs.size() == 1) return close_session(s, how);
    close_leg(s, leg, how);
    for (const auto& l : s->legs)
      if (!l->dead || l->breaker->tripped()) return;
    close_session(s, "lost every server");
  }

  // Hands a message to a waiter; on SSE streams it gets an event id and is kept for resumption,
  // and a stream whose client reconnected with Last-Event-ID passes it on to the new connection.
  void deliver(const std::shared_ptr<GwSession>& s, std::shared_ptr<Waiter> w, std::string line,
               bool rewritten = false) {
    if (w->rewrite && !rewritten) w->rewrite(line);
    uint64_t id = 0;
    if (w->sse && !s->modern) {  // 2026-07-28 streams are not resumable
      id = ++s->next_event;
      s->history.push_back({id, w->stream, line});
      if (s->history.size() > 1000) s->history.pop_front();
    }
    while (w->closed) {
      auto next = w->successor.lock();
      if (!next) break;
      w = next;
    }
    w->push(std::move(line), id);
  }

  // Messages for the client: a response to the POST that waits for it, anything else to the
  // newest SSE POST, else the GET stream, else kept for the next stream.
  void deliver_client(const std::shared_ptr<GwSession>& s, std::vector<std::string>& lines) {
    for (auto& line : lines) {
      if (auto key = response_key(parser, line)) {
        auto it = s->by_id.find(*key);
        if (it != s->by_id.end()) {
          auto w = it->second;
          s->by_id.erase(it);
          // A waiter's `awaiting` holds the ids its client sees: a gateway id is mapped back first.
          if (w->rewrite) {
            w->rewrite(line);
            w->awaiting.erase(response_key(parser, line).value_or(*key));
          } else {
            w->awaiting.erase(*key);
          }
          deliver(s, w, std::move(line), true);
          continue;
        }
      }
      if (s->modern) {
        modern_server_message(s, line);
        continue;
      }
      if (auto w = s->sse_post.lock(); w && !w->closed) deliver(s, w, std::move(line));
      else if (auto g = s->get_stream.lock(); g && !g->closed) deliver(s, g, std::move(line));
      else if (s->backlog.size() < 1000) s->backlog.push_back(std::move(line));
    }
    lines.clear();
  }

  void send_to_server(const std::shared_ptr<GwSession>& s, Leg& leg, std::string data) {
    if (data.empty() || leg.dead) return;
    if (leg.remote) {  // one POST per message
      if (!audit_written()) return;
      std::string_view rest = data;
      while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (!line.empty()) leg.remote->send(std::string(line));
      }
      return;
    }
    leg.to_server.push_back(std::move(data));
    if (!leg.writing) asio::co_spawn(io, write_server(s, &leg), asio::detached);
  }

  // Lines a leg's Processor produced: to its server's stdin, or towards the client (through the
  // aggregator when there is one).
  void route(const std::shared_ptr<GwSession>& s, Leg& leg, gateway::Output& out) {
    send_to_server(s, leg, std::move(out.to_server));
    out.to_server.clear();
    std::vector<std::string> lines;
    std::string_view rest = out.to_client;
    gateway::Aggregator::Out aout;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      if (line.empty()) continue;
      if (s->aggregator) s->aggregator->from_leg(leg.index, line, aout);
      else lines.emplace_back(line);
    }
    out.to_client.clear();
    if (s->aggregator) {
      carry_out(s, aout);
      record_shadowing(s);
    } else {
      deliver_client(s, lines);
    }
  }

  // What the aggregator decided: lines into legs' Processors, answers to the client.
  void carry_out(const std::shared_ptr<GwSession>& s, gateway::Aggregator::Out& aout) {
    for (auto& [index, line] : aout.to_leg) {
      Leg& leg = *s->legs[index];
      gateway::Output out;
      leg.processor->on_line(core::Direction::c2s, line, false, out);
      route(s, leg, out);
    }
    aout.to_leg.clear();
    deliver_client(s, aout.to_client);
  }

  // Where several servers meet, look-alike and duplicate tool names and descriptions that talk
  // about another server's tools are findings (detect/shadowing.h): audited once per session.
  void record_shadowing(const std::shared_ptr<GwSession>& s) {
    if (!s->aggregator->take_tools_update()) return;
    for (const auto& f : detect::cross_server_findings(s->aggregator->tools())) {
      std::string key = f.server + '\n' + f.tool + '\n' + f.finding.rule + '\n' + f.finding.path;
      if (!s->shadow_seen.insert(key).second) continue;
      for (auto& l : s->legs)
        if (l->server->name == f.server) {
          core::Finding cf;
          cf = f.finding.to_core();
          l->processor->lifecycle("shadowing", fmt::format(R"({{"tool":{}}})", json_quote(f.tool)), {cf});
        }
    }
  }

  // `s` keeps the session (and so `leg`) alive while the coroutine runs.
  awaitable<void> write_server(std::shared_ptr<GwSession> s, Leg* leg) {
    (void)s;
    leg->writing = true;
    while (!leg->to_server.empty() && !leg->dead) {
      std::string data = std::move(leg->to_server.front());
      leg->to_server.pop_front();
      if (!audit_written()) break;
      boost::system::error_code ec;
      co_await asio::async_write(leg->in_sd, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
    }
    leg->writing = false;
  }

  awaitable<void> read_server(std::shared_ptr<GwSession> s, Leg* leg) {
    for (;;) {
      boost::system::error_code ec;
      co_await leg->out_sd.async_wait(asio::posix::descriptor_base::wait_read, asio::redirect_error(use_awaitable, ec));
      if (ec || leg->dead) break;
      ssize_t r = leg->framer.read_from(leg->out_sd.native_handle());
      if (r == -1) continue;
      if (r <= 0) break;
      gateway::Output out;
      leg->framer.drain(
          [&](std::string_view line, bool padded) { leg->processor->on_line(core::Direction::s2c, line, padded, out); },
          [&](size_t bytes) { leg->processor->on_oversized(core::Direction::s2c, bytes, out); });
      route(s, *leg, out);
    }
    if (!leg->dead) {
      // How it ended, if it ends soon (without blocking the I/O thread).
      std::optional<ChildExit> exit;
      asio::steady_timer t(io);
      for (int i = 0; i < 200 && !(exit = leg->upstream->child().try_wait()); ++i) {
        t.expires_after(std::chrono::milliseconds(1));
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      if (!leg->dead) leg_ended(s, *leg, exit ? exit->describe() : "closed its output");
    }
  }

  awaitable<void> pass_stderr(std::shared_ptr<GwSession> s, Leg* leg) {
    (void)s;
    char buf[8192];
    for (;;) {
      boost::system::error_code ec;
      size_t n = co_await leg->err_sd.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      (void)!::write(STDERR_FILENO, buf, n);
    }
  }

  awaitable<void> watch_quarantine(std::shared_ptr<GwSession> s, Leg* leg) {
    boost::system::error_code ec;
    co_await leg->q_sd.async_wait(asio::posix::descriptor_base::wait_read, asio::redirect_error(use_awaitable, ec));
    if (ec || leg->dead) co_return;
    auto ev = leg->upstream->guard()->quarantine();
    std::string reason = ev ? ev->reason : "egress finding";
    leg->breaker->trip(reason, ev ? ev->audit_seq : 0);
    leg->processor->lifecycle("quarantine", fmt::format(R"({{"audit_seq":{}}})", ev ? ev->audit_seq : 0));
    std::fprintf(stderr, "mcp-warden: QUARANTINED server '%s' (session %s): %s\n", leg->server->name.c_str(),
                 s->id.c_str(), reason.c_str());
    // The server's output closes next: its pending requests are answered with the reason, and the
    // breaker answers every later request to it (close_session / close_leg).
    leg->upstream->child().kill();
  }

  // ---- approvals (`action: approve`) ---------------------------------------------------------

  void hold_for_approval(const std::weak_ptr<GwSession>& weak, size_t index, const codec::Message& m,
                         const std::string& reason) {
    auto s = weak.lock();
    if (!s) return;
    PendingApproval a;
    a.id = new_session_id().substr(0, 16);
    a.session = weak;
    a.leg = index;
    a.request_key = m.id.key();
    a.line = std::string(m.raw);
    a.server = s->legs[index]->server->name;
    a.tool = m.target;
    a.method = m.method;
    a.agent = s->agent;
    a.session_id = s->id;
    a.reason = reason;
    simdjson::dom::element args;
    if (m.has_params && m.params["arguments"].get(args) == simdjson::SUCCESS)
      a.arguments = gateway::safe_excerpt(audit::redact_secrets(simdjson::minify(args)), 4096);
    a.requested_unix_us = opts.clock->now_unix_us();
    a.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opts.approval_timeout_s);
    std::fprintf(stderr,
                 "mcp-warden gateway: APPROVAL NEEDED %s: %s '%s' on server '%s'%s%s (session %s); "
                 "decide with `mcp-warden approvals approve|deny %s` within %d s\n",
                 a.id.c_str(), a.method.c_str(), a.tool.c_str(), a.server.c_str(), a.agent.empty() ? "" : " for agent ",
                 a.agent.c_str(), a.session_id.c_str(), a.id.c_str(), opts.approval_timeout_s);
    std::string id = a.id;
    approvals.emplace(id, std::move(a));
    asio::co_spawn(io, expire_approval(id), asio::detached);
  }

  awaitable<void> expire_approval(std::string id) {
    asio::steady_timer t(io);
    auto it = approvals.find(id);
    if (it == approvals.end()) co_return;
    t.expires_at(it->second.deadline);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    decide_approval(id, false, fmt::format("nobody decided within {} s", opts.approval_timeout_s));
  }

  // Feeds the held request through its leg's chain again with the decision; false if unknown.
  bool decide_approval(const std::string& id, bool approved, const std::string& note) {
    auto it = approvals.find(id);
    if (it == approvals.end()) return false;
    PendingApproval a = std::move(it->second);
    approvals.erase(it);
    auto s = a.session.lock();
    if (!s || a.leg >= s->legs.size()) return true;
    Leg& leg = *s->legs[a.leg];
    leg.policy->decide(a.request_key, approved, note);
    gateway::Output out;
    leg.processor->on_line(core::Direction::c2s, a.line, false, out);
    route(s, leg, out);
    return true;
  }

  std::string approvals_json() const {
    std::string body = "[";
    auto now = std::chrono::steady_clock::now();
    for (const auto& [id, a] : approvals) {
      if (body.size() > 1) body += ',';
      body += fmt::format(
          R"({{"id":{},"session":{},"agent":{},"server":{},"method":{},"tool":{},"arguments":{},"reason":{},"requested":{},"expires_in_s":{}}})",
          json_quote(id), json_quote(a.session_id), json_quote(a.agent), json_quote(a.server), json_quote(a.method),
          json_quote(a.tool), json_quote(a.arguments), json_quote(a.reason),
          json_quote(util::format_rfc3339_us(a.requested_unix_us)),
          std::chrono::duration_cast<std::chrono::seconds>(a.deadline - now).count());
    }
    return body + "]";
  }

  // ---- identity --------------------------------------------------------------------------------

  // The agent the request's credentials select (see gateway/agent_identity.h); without `agents:`
  // no agent and status 200 (the listener is loopback then).
  gateway::Identified authenticate(const http::request<http::string_body>& req,
                                   const gateway::auth::PeerIdentity* peer) const {
    if (agents->empty()) return {};
    std::string_view auth = sv(req[http::field::authorization]);
    std::string_view bearer;
    if (auth.size() >= 8 && util::to_lower(auth.substr(0, 7)) == "bearer ") bearer = auth.substr(7);
    return agents->identify(bearer, peer, *opts.clock);
  }

  std::string origin_url(const http::request<http::string_body>& req) const {
    return fmt::format("{}://{}", ssl ? "https" : "http", sv(req[http::field::host]));
  }
  std::string resource_url(const http::request<http::string_body>& req) const { return origin_url(req) + opts.path; }

  // 401 with an RFC 6750/9728 challenge, or 403 when the credentials select several agents.
  template <class Stream>
  awaitable<void> send_unauthorized(Stream& sock, const http::request<http::string_body>& req, bool keep,
                                    const gateway::Identified& who) {
    {
      std::lock_guard lock(stats_mu);
      ++stats.rejected;
    }
    bool forbidden = who.status == 403;
    http::response<http::string_body> res{forbidden ? http::status::forbidden : http::status::unauthorized, 11};
    common_headers(res);
    if (!forbidden)
      res.set(http::field::www_authenticate,
              fmt::format(R"(Bearer realm="mcp-warden", {}{}resource_metadata="{}/.well-known/oauth-protected-resource")",
                          who.bearer_params, who.bearer_params.empty() ? "" : ", ", origin_url(req)));
    res.set(http::field::content_type, "application/json");
    res.body() = codec::make_error_response(codec::Id{codec::Id::Type::null, 0, {}}, -32600, "mcp-warden: " + who.message);
    res.keep_alive(keep);
    res.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(sock, res, asio::redirect_error(use_awaitable, ec));
  }

  // RFC 9728 protected-resource metadata.
  template <class Stream>
  awaitable<void> send_resource_metadata(Stream& sock, const http::request<http::string_body>& req, bool keep) {
    std::string servers;
    for (const auto& issuer : agents->issuers()) servers += (servers.empty() ? "" : ",") + json_quote(issuer);
    std::string body = fmt::format(R"({{"resource":{},{}"bearer_methods_supported":["header"],"resource_name":"mcp-warden gateway"}})",
                                   json_quote(resource_url(req)),
                                   servers.empty() ? "" : fmt::format(R"("authorization_servers":[{}],)", servers));
    co_await send_json(sock, http::status::ok, std::move(body), keep);
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  template <class Body>
  void common_headers(http::response<Body>& res, const std::string& session_id = "") {
    res.set(http::field::server, "mcp-warden");
    res.set(http::field::cache_control, "no-store");
    if (!session_id.empty()) res.set("Mcp-Session-Id", session_id);
  }

  template <class Stream>
  awaitable<void> send_json(Stream& sock, http::status status, std::string body, bool keep_alive,
                            const std::string& session_id = "") {
    if (!audit_written()) {
      status = http::status::service_unavailable;
      body = codec::make_error_response(codec::Id{codec::Id::Type::null, 0, {}}, codec::k_internal_error,
                                        "mcp-warden: " + std::string(k_audit_down));
      keep_alive = false;
    }
    http::response<http::string_body> res{status, 11};
    common_headers(res, session_id);
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(sock, res, asio::redirect_error(use_awaitable, ec));
  }

  // 202 with Content-Length: 0 (without it a strict HTTP/1.1 client waits for the close).
  template <class Stream>
  awaitable<void> send_accepted(Stream& sock, bool keep_alive, const std::string& session_id = "") {
    if (!audit_written()) {
      co_await send_json(sock, http::status::service_unavailable, {}, false);  // says why
      co_return;
    }
    http::response<http::empty_body> res{http::status::accepted, 11};
    common_headers(res, session_id);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(sock, res, asio::redirect_error(use_awaitable, ec));
  }

  template <class Stream>
  awaitable<void> send_error(Stream& sock, http::status status, std::string_view message, bool keep_alive) {
    {
      std::lock_guard lock(stats_mu);
      ++stats.rejected;
    }
    std::string body = codec::make_error_response(codec::Id{codec::Id::Type::null, 0, {}},
                                                  status == http::status::not_found ? -32001 : -32600,
                                                  std::string("mcp-warden: ") + std::string(message));
    co_await send_json(sock, status, std::move(body), keep_alive);
  }

  // Streams a waiter's messages as SSE until it has nothing more to wait for (or, for the GET
  // stream, until the session ends or the client goes).
  // A POST's stream ends with its last response and a final chunk, so the connection can carry the
  // next request (`keep_alive`); a GET stream ends only with the connection.
  template <class Stream>
  awaitable<void> stream_sse(Stream& sock, std::shared_ptr<Waiter> w, std::shared_ptr<GwSession> s,
                             bool until_answered, bool keep_alive = false, std::string preamble = {}) {
    http::response<http::empty_body> res{http::status::ok, 11};
    common_headers(res, s->modern ? std::string() : s->id);  // 2026-07-28 has no session ids
    res.set(http::field::content_type, "text/event-stream");
    res.set("X-Accel-Buffering", "no");
    res.keep_alive(until_answered && keep_alive);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    boost::system::error_code ec;
    co_await http::async_write_header(sock, sr, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    if (!preamble.empty()) {
      co_await asio::async_write(sock, http::make_chunk(asio::buffer(preamble)), asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
    }
    auto deadline = std::chrono::steady_clock::now() + post_deadline(*s);
    for (;;) {
      while (!w->messages.empty()) {
        std::string ev = w->event_ids.front() ? fmt::format("id: {}\n", w->event_ids.front()) : std::string();
        ev += "event: message\ndata: " + w->messages.front() + "\n\n";
        w->pop();
        if (!audit_written()) {  // no final chunk: the client sees the stream broken off
          beast::get_lowest_layer(sock).close(ec);
          co_return;
        }
        co_await asio::async_write(sock, http::make_chunk(asio::buffer(ev)), asio::redirect_error(use_awaitable, ec));
        if (ec) co_return;
      }
      if (until_answered && w->awaiting.empty()) break;
      if (w->closed || s->dead) break;
      if (until_answered && std::chrono::steady_clock::now() > deadline) {
        for (const auto& key : w->awaiting) s->by_id.erase(key);
        w->awaiting.clear();
        break;
      }
      // A POST's stream sleeps until a message arrives (push cancels the wait) or its deadline;
      // the GET stream wakes every 15 s for a keep-alive.
      if (until_answered) w->wake.expires_at(deadline);
      else w->wake.expires_after(std::chrono::seconds(15));
      co_await w->wake.async_wait(asio::redirect_error(use_awaitable, ec));
      if (!until_answered && ec != asio::error::operation_aborted && w->messages.empty()) {
        static const std::string ping = ": keep-alive\n\n";  // detects a client that went away
        co_await asio::async_write(sock, http::make_chunk(asio::buffer(ping)), asio::redirect_error(use_awaitable, ec));
        if (ec) break;
      }
    }
    co_await asio::async_write(sock, http::make_chunk_last(), asio::redirect_error(use_awaitable, ec));
  }

  // How long a POST waits at most: each leg answers its own timed-out requests (expire_requests);
  // this is the backstop should one not.
  static std::chrono::milliseconds post_deadline(const GwSession& s) {
    int64_t ms = 0;
    for (const auto& l : (s.upstream ? s.upstream->legs : s.legs)) ms = std::max(ms, l->timeout_ms);
    return std::chrono::milliseconds(ms + 5000);
  }

  // A session opened by one agent is refused to every other (and to anonymous requests).
  static bool foreign(const GwSession& s, const policy::AgentConfig* agent) {
    return !s.agent.empty() && (!agent || agent->name != s.agent);
  }

  // Why `agent` may not open a session here (each session gets every configured server), if so.
  std::optional<std::string> agent_refused(const policy::AgentConfig* agent) const {
    if (!agent) return std::nullopt;
    for (const auto* sp : opts.servers)
      if (std::find(agent->servers.begin(), agent->servers.end(), sp->name) == agent->servers.end())
        return fmt::format("agent '{}' may not use server '{}' (policy agents.{}.servers){}", agent->name, sp->name,
                           agent->name,
                           opts.servers.size() > 1 ? "; this gateway serves every listed server in one session" : "");
    return std::nullopt;
  }

  // A new session for `agent`, or null after answering why not (403, 503 or 502).
  template <class Stream>
  awaitable<std::shared_ptr<GwSession>> open_for(Stream& sock, const policy::AgentConfig* agent, bool keep) {
    if (auto why = agent_refused(agent)) {
      co_await send_error(sock, http::status::forbidden, *why, keep);
      co_return nullptr;
    }
    auto opened = co_await open_session(agent);
    if (!opened) {
      co_await send_error(sock, opened.error().code == 503 ? http::status::service_unavailable : http::status::bad_gateway,
                          opened.error().message, keep);
      co_return nullptr;
    }
    co_return *opened;
  }

  // A client's message (or batch) into the session: its one server's Processor, or the aggregator.
  // `decoded`: the body as body_decoder decoded it, if it did (and nothing has used it since).
  void feed_client(const std::shared_ptr<GwSession>& s, std::string_view body,
                   const Result<codec::Decoded>* decoded = nullptr) {
    if (s->upstream) return feed_shared(s, body);
    if (s->aggregator) {
      gateway::Aggregator::Out aout;
      s->aggregator->from_client(body, aout);
      carry_out(s, aout);
    } else {
      gateway::Output out;
      if (decoded) s->legs[0]->processor->on_decoded(core::Direction::c2s, body, *decoded, body_decoder.failed_id(), out);
      else s->legs[0]->processor->on_line(core::Direction::c2s, body, false, out);
      route(s, *s->legs[0], out);
    }
  }

  // ---- gateway.upstreams: shared -------------------------------------------------------------

  // A 2025-era session on the agent's shared servers: answered `initialize` from the shared
  // session's, its requests forwarded there under gateway ids, its answers to server requests
  // and its notifications passed on (cancellations with the gateway id).
  template <class Stream>
  awaitable<std::shared_ptr<GwSession>> open_sharing(Stream& sock, const policy::AgentConfig* agent, bool keep) {
    if (auto why = agent_refused(agent)) {
      co_await send_error(sock, http::status::forbidden, *why, keep);
      co_return nullptr;
    }
    if (kill_switch || sessions.size() >= opts.max_sessions) {
      co_await send_error(sock, http::status::service_unavailable,
                          kill_switch ? "the gateway's kill switch is on: no new sessions (admin POST /release)"
                                      : fmt::format("too many sessions ({}); end some with DELETE", sessions.size()),
                          keep);
      co_return nullptr;
    }
    auto up = co_await shared_session(sock, agent, keep, true);
    if (!up) co_return nullptr;
    auto s = std::make_shared<GwSession>(new_session_id());
    s->upstream = up;
    if (agent) s->agent = agent->name;
    std::erase_if(up->clients, [](const std::weak_ptr<GwSession>& w) { return w.expired(); });
    up->clients.push_back(s);
    sessions[s->id] = s;
    std::lock_guard lock(stats_mu);
    ++stats.sessions_opened;
    stats.sessions_open = sessions.size();
    co_return s;
  }

  void feed_shared(const std::shared_ptr<GwSession>& s, std::string_view body) {
    auto up = s->upstream;
    codec::Limits limits;
    limits.max_message_bytes = opts.max_body_bytes;
    codec::Decoder decoder(limits);
    auto decoded = decoder.decode(body, false);
    std::vector<std::string> answers;
    if (!decoded) {
      answers.push_back(codec::make_error_response(decoder.failed_id(), decoded.error().code,
                                                   "mcp-warden: " + decoded.error().message));
      deliver_client(s, answers);
      return;
    }
    up->last_active = std::chrono::steady_clock::now();
    for (const codec::Message& m : decoded->messages) {
      if (up->dead) {
        if (m.kind == codec::Kind::request)
          answers.push_back(codec::make_error_response(m.id, codec::k_server_exited,
                                                       "mcp-warden: the shared servers " + up->how_ended));
        continue;
      }
      if (m.kind == codec::Kind::request && m.method == "initialize") {
        // The shared servers are initialized already: the client gets their answer, in the
        // protocol version it asked for when this gateway speaks it.
        simdjson::dom::element init;
        std::string result = s->upstream->init_result;
        if (parser.parse(result).get(init) == simdjson::SUCCESS && !m.protocol_version.empty() &&
            std::find(std::begin(k_supported_versions), std::end(k_supported_versions), m.protocol_version) !=
                std::end(k_supported_versions))
          result = gateway::replace_at(init, {"protocolVersion"}, json_quote(m.protocol_version));
        answers.push_back(fmt::format(R"({{"jsonrpc":"2.0","id":{},"result":{}}})", m.id.to_json(), result));
        continue;
      }
      if (m.kind == codec::Kind::notification && m.method == "notifications/initialized") continue;
      if (m.kind == codec::Kind::notification && m.method == "notifications/cancelled") {
        simdjson::dom::element rid;
        if (m.root.at_pointer("/params/requestId").get(rid) != simdjson::SUCCESS) continue;
        std::string want = simdjson::minify(rid);
        for (const auto& [key, mapped] : s->mapped)
          if (mapped.client_id == want)
            feed_client(up, gateway::replace_at(m.root, {"params", "requestId"}, json_quote(key.substr(1))));
        continue;
      }
      if (m.kind != codec::Kind::request) {  // answers to server requests, other notifications
        feed_client(up, m.raw);
        continue;
      }
      std::string gid = fmt::format("mcp-warden-s{}", ++next_modern);
      std::string gkey = codec::Id{codec::Id::Type::string, 0, gid}.key();
      std::string line = gateway::replace_at(m.root, {"id"}, json_quote(gid));
      GwSession::Mapped mapped{m.id.to_json(), {}};
      simdjson::dom::element token;
      if (m.root.at_pointer("/params/_meta/progressToken").get(token) == simdjson::SUCCESS) {
        mapped.token = "mcp-warden-p" + std::to_string(next_modern);
        s->tokens[mapped.token] = simdjson::minify(token);
        simdjson::dom::element again;
        if (parser.parse(line).get(again) == simdjson::SUCCESS)
          line = gateway::replace_at(again, {"params", "_meta", "progressToken"}, json_quote(mapped.token));
      }
      // The POST waiting for this request waits on the shared session, its answer mapped back.
      auto w = s->by_id.count(m.id.key()) ? s->by_id[m.id.key()] : std::shared_ptr<Waiter>();
      if (!w) {
        w = std::make_shared<Waiter>(io.get_executor());  // no POST waits (should not happen)
        w->closed = true;
      }
      s->by_id.erase(m.id.key());
      if (!w->rewrite) w->rewrite = [this, weak = std::weak_ptr<GwSession>(s)](std::string& msg) { unmap(weak, msg); };
      up->by_id[gkey] = w;
      if (!mapped.token.empty()) up->progress[mapped.token] = w;
      s->mapped[gkey] = std::move(mapped);
      feed_client(up, line);
    }
    if (!answers.empty()) deliver_client(s, answers);
  }

  // A message from the shared servers on its way to a sharing session: the client's own id and
  // progress token back in place of the gateway's.
  void unmap(const std::weak_ptr<GwSession>& weak, std::string& msg) {
    auto s = weak.lock();
    simdjson::dom::element root;
    if (!s || parser.parse(msg).get(root) != simdjson::SUCCESS) return;
    std::string_view token;
    if (root["method"].error() == simdjson::SUCCESS) {
      if (root.at_pointer("/params/progressToken").get_string().get(token) == simdjson::SUCCESS)
        if (auto it = s->tokens.find(std::string(token)); it != s->tokens.end())
          msg = gateway::replace_at(root, {"params", "progressToken"}, it->second);
      return;
    }
    auto key = response_key(parser, msg);
    auto it = key ? s->mapped.find(*key) : s->mapped.end();
    if (it == s->mapped.end()) return;
    if (parser.parse(msg).get(root) != simdjson::SUCCESS) return;
    msg = gateway::replace_at(root, {"id"}, it->second.client_id);
    if (!it->second.token.empty()) {
      s->tokens.erase(it->second.token);
      s->upstream->progress.erase(it->second.token);
    }
    s->mapped.erase(it);
  }

  // The legacy HTTP+SSE transport (protocol 2024-11-05), for clients that predate Streamable HTTP:
  // GET /sse opens a session and its stream, whose first event names the endpoint to POST to;
  // every answer and server message travels on that stream. The session ends with the stream.
  template <class Stream>
  awaitable<void> handle_legacy_sse(Stream& sock, http::request<http::string_body>& req,
                                    const policy::AgentConfig* agent) {
    if (util::to_lower(sv(req[http::field::accept])).find("text/event-stream") == std::string::npos) {
      co_await send_error(sock, http::status::not_acceptable, "GET /sse needs Accept: text/event-stream", false);
      co_return;
    }
    auto s = co_await open_for(sock, agent, false);
    if (!s) co_return;
    s->legacy = true;
    auto w = std::make_shared<Waiter>(io.get_executor());
    w->sse = true;
    w->stream = ++s->next_stream;
    s->streams[w->stream] = w;
    s->get_stream = w;
    co_await stream_sse(sock, w, s, false, false,
                        fmt::format("event: endpoint\ndata: {}?sessionId={}\n\n", k_legacy_messages_path, s->id));
    w->closed = true;
    close_session(s, "ended its SSE stream (legacy HTTP+SSE transport)");
  }

  template <class Stream>
  awaitable<void> handle_legacy_post(Stream& sock, http::request<http::string_body>& req, bool keep,
                                     const policy::AgentConfig* agent) {
    std::string_view target = sv(req.target());
    std::string sid;
    if (auto q = target.find("sessionId="); q != std::string_view::npos) sid = std::string(target.substr(q + 10, 32));
    auto it = sessions.find(sid);
    if (it == sessions.end() || !it->second->legacy) {
      co_await send_error(sock, http::status::not_found, "unknown or ended session (open one with GET /sse)", keep);
      co_return;
    }
    auto s = it->second;
    if (foreign(*s, agent)) {
      co_await send_error(sock, http::status::forbidden, "this session belongs to another agent", keep);
      co_return;
    }
    if (util::to_lower(sv(req[http::field::content_type])).find("application/json") == std::string::npos) {
      co_await send_error(sock, http::status::unsupported_media_type, "POST bodies must be application/json", keep);
      co_return;
    }
    s->last_active = std::chrono::steady_clock::now();
    feed_client(s, req.body());  // answers go to the session's stream
    co_await send_accepted(sock, keep);
  }

  template <class Stream>
  awaitable<void> handle_post(Stream& sock, http::request<http::string_body>& req, bool& keep,
                              const policy::AgentConfig* agent) {
    std::string accept = util::to_lower(sv(req[http::field::accept]));
    bool wants_sse = accept.find("text/event-stream") != std::string::npos;
    bool wants_json = accept.find("application/json") != std::string::npos || accept.find("*/*") != std::string::npos || accept.empty();
    std::string ctype = util::to_lower(sv(req[http::field::content_type]));
    if (ctype.find("application/json") == std::string::npos) {
      co_await send_error(sock, http::status::unsupported_media_type, "POST bodies must be application/json", keep);
      co_return;
    }
    // Which requests does the body carry? The body is decoded once, here; the session's Processor
    // takes this result and decides everything else.
    std::vector<std::string> request_keys;
    std::vector<codec::Id> ids;  // parallel to request_keys
    bool is_initialize = false;
    Result<codec::Decoded> decoded = body_decoder.decode(req.body(), false);
    if (decoded)
      for (const auto& m : decoded->messages)
        if (m.kind == codec::Kind::request) {
          request_keys.push_back(m.id.key());
          ids.push_back(m.id);
          if (m.method == "initialize") is_initialize = true;
        }
    std::string sid(sv(req["Mcp-Session-Id"]));
    std::shared_ptr<GwSession> s;
    if (sid.empty()) {
      if (!is_initialize) {
        co_await send_error(sock, http::status::bad_request,
                            "missing Mcp-Session-Id header (start a session with an initialize request)", keep);
        co_return;
      }
      // (Not one `?:` with a co_await in each branch: GCC 12 destroys its temporaries twice.)
      if (opts.share_upstreams) s = co_await open_sharing(sock, agent, keep);
      else s = co_await open_for(sock, agent, keep);
      if (!s) co_return;
      decoded = body_decoder.decode(req.body(), false);  // other requests used the decoder meanwhile
    } else {
      auto it = sessions.find(sid);
      if (it == sessions.end()) {
        co_await send_error(sock, http::status::not_found, "unknown or ended session; initialize a new one", keep);
        co_return;
      }
      s = it->second;
    }
    s->last_active = std::chrono::steady_clock::now();
    if (foreign(*s, agent)) {
      co_await send_error(sock, http::status::forbidden, "this session belongs to another agent", keep);
      co_return;
    }
    auto w = std::make_shared<Waiter>(io.get_executor());
    w->sse = wants_sse && !request_keys.empty();
    if (w->sse) {
      w->stream = ++s->next_stream;
      s->streams[w->stream] = w;
    }
    for (const auto& k : request_keys) {
      w->awaiting.insert(k);
      s->by_id[k] = w;
    }
    if (w->sse) s->sse_post = w;
    feed_client(s, req.body(), &decoded);
    if (request_keys.empty()) {
      // Notifications and responses only: accepted (refusals of malformed input still answered).
      if (!w->messages.empty()) co_await send_json(sock, http::status::ok, w->messages.front(), keep, s->id);
      else co_await send_accepted(sock, keep, s->id);
      co_return;
    }
    if (w->sse) {
      co_await stream_sse(sock, w, s, true, keep);
      w->closed = true;
      co_return;
    }
    if (!wants_json) {
      co_await send_error(sock, http::status::not_acceptable, "Accept must include application/json or text/event-stream", keep);
      co_return;
    }
    // JSON: wait for every response.
    auto deadline = std::chrono::steady_clock::now() + post_deadline(*s);
    while (!w->awaiting.empty() && !s->dead && std::chrono::steady_clock::now() < deadline) {
      w->wake.expires_at(deadline);  // push() and close_session() cancel the wait
      boost::system::error_code ec;
      co_await w->wake.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    for (const auto& key : w->awaiting) {
      s->by_id.erase(key);
      w->messages.push_back(codec::make_error_response(
          ids[static_cast<size_t>(std::find(request_keys.begin(), request_keys.end(), key) - request_keys.begin())],
          codec::k_server_exited,
          fmt::format("mcp-warden: the upstream did not answer within {} ms", post_deadline(*s).count())));
    }
    std::string body;
    if (w->messages.size() == 1) {
      body = w->messages.front();
    } else {
      body = "[";
      for (size_t i = 0; i < w->messages.size(); ++i) body += (i ? "," : "") + w->messages[i];
      body += "]";
    }
    co_await send_json(sock, http::status::ok, std::move(body), keep, s->id);
  }

  // ---- 2026-07-28 (sessionless) clients ------------------------------------------------------

  // A message the shared session's upstream sent with no request of a modern client waiting for
  // it: progress goes to the request that asked for it; a request from the server (sampling,
  // elicitation, roots) is answered with an error, since a sessionless client has no channel
  // for it here; other notifications (log messages, list_changed) have no stream to go to.
  void modern_server_message(const std::shared_ptr<GwSession>& s, const std::string& line) {
    simdjson::dom::element root;
    if (parser.parse(line).get(root) != simdjson::SUCCESS || !root.is_object()) return;
    std::string_view method;
    if (root["method"].get_string().get(method) != simdjson::SUCCESS) return;
    simdjson::dom::element id;
    bool is_request = root["id"].get(id) == simdjson::SUCCESS;
    if (is_request && !s->clients.empty()) {
      // A server request on a shared upstream goes to the one client session with a request in
      // flight (the one whose call it serves); with none or several it cannot be placed.
      std::shared_ptr<GwSession> target;
      int busy = 0;
      for (auto& weak : s->clients)
        if (auto c = weak.lock(); c && !c->dead && !c->mapped.empty()) {
          target = c;
          ++busy;
        }
      if (busy == 1) {
        std::vector<std::string> one{line};
        deliver_client(target, one);
        return;
      }
    }
    if (!is_request && method != "notifications/progress" && !s->clients.empty()) {
      for (auto& weak : s->clients)  // list_changed, log messages, resource updates: to every session
        if (auto c = weak.lock(); c && !c->dead) {
          std::vector<std::string> one{line};
          deliver_client(c, one);
        }
      return;
    }
    if (is_request && s->clients.empty() && !s->upstream_modern && ask_modern_client(s, root, method))
      return;
    if (is_request) {
      std::string answer = fmt::format(
          R"j({{"jsonrpc":"2.0","id":{},"error":{{"code":{},"message":"mcp-warden: {} has no client to go to (a 2026-07-28 sessionless client, or several sessions sharing this server with calls in flight)"}}}})j",
          simdjson::minify(id), codec::k_method_not_found, method);
      asio::post(io, [this, s, answer = std::move(answer)] { if (!s->dead) feed_client(s, answer); });
      return;
    }
    std::string_view token;
    if (method == "notifications/progress" &&
        root.at_pointer("/params/progressToken").get_string().get(token) == simdjson::SUCCESS) {
      auto it = s->progress.find(std::string(token));
      if (it != s->progress.end())
        if (auto w = it->second.lock(); w && !w->closed) deliver(s, w, line);
    }
  }

  // A server request on the shared session of 2026-07-28 clients (a 2025-era server): when exactly
  // one call that may take input (tools/call, prompts/get, resources/read) is in flight and its
  // client declared the capability, it waits to become that call's input_required round (sent
  // once every request of this burst is in); false: it cannot be placed.
  bool ask_modern_client(const std::shared_ptr<GwSession>& s, simdjson::dom::element root, std::string_view method) {
    const char* cap = gateway::modern::InputRounds::capability_for(method);
    std::string call_key;
    int n = 0;
    for (const auto& [key, call] : s->calls) {  // a call held for a retry has no open POST: not it
      auto w = call.waiter.lock();
      if (w && !w->closed &&
          (call.method == "tools/call" || call.method == "prompts/get" || call.method == "resources/read")) {
        call_key = key;
        ++n;
      }
    }
    if (!cap || n != 1) return false;
    simdjson::dom::element id, params;
    if (root["id"].get(id) != simdjson::SUCCESS) return false;
    std::string id_json = simdjson::minify(id);  // before `root`'s parser parses anything else
    std::string params_json = root["params"].get(params) == simdjson::SUCCESS ? simdjson::minify(params) : "{}";
    simdjson::dom::parser own;  // the caller still reads `root`
    simdjson::dom::element caps;
    if (own.parse(s->calls[call_key].capabilities).get(caps) != simdjson::SUCCESS || caps[cap].error()) return false;
    auto& asks = s->asking[call_key];
    asks.push_back({fmt::format("{}{}", cap, asks.size() + 1), id_json, std::string(method), params_json});
    if (!s->flush_posted) {
      s->flush_posted = true;
      asio::post(io, [this, s] { flush_rounds(s); });
    }
    return true;
  }

  // The server requests gathered for a call go to its client as one input_required round.
  void flush_rounds(const std::shared_ptr<GwSession>& s) {
    s->flush_posted = false;
    auto asking = std::move(s->asking);
    s->asking.clear();
    for (auto& [call_key, asks] : asking) {
      auto it = s->calls.find(call_key);
      auto w = it == s->calls.end() ? nullptr : it->second.waiter.lock();
      if (!w || w->closed || s->dead) {
        for (const auto& a : asks)  // nobody to ask: the server gets an error
          if (!s->dead)
            feed_client(s, fmt::format(R"({{"jsonrpc":"2.0","id":{},"error":{{"code":{},"message":"mcp-warden: the client's request ended"}}}})",
                                       a.server_id, codec::k_method_not_found));
        continue;
      }
      std::string state = s->rounds.hold({call_key, s->agent, it->second.method, it->second.target, asks});
      std::vector<std::string> one{fmt::format(R"({{"jsonrpc":"2.0","id":{},"result":{}}})", json_quote(call_key.substr(1)),
                                               gateway::modern::InputRounds::result(asks, state))};
      deliver_client(s, one);  // to the call's waiter (its id mapped back), which ends the POST
    }
  }

  // Feeds the gateway's own request `line` (id `id`) into a session and waits for its answer
  // ("" if none came).
  awaitable<std::string> ask(std::shared_ptr<GwSession> s, const std::string& id, const std::string& line) {
    auto w = std::make_shared<Waiter>(io.get_executor());
    std::string key = codec::Id{codec::Id::Type::string, 0, id}.key();
    w->awaiting.insert(key);
    s->by_id[key] = w;
    feed_client(s, line);
    auto deadline = std::chrono::steady_clock::now() + post_deadline(*s);
    while (w->messages.empty() && !s->dead && std::chrono::steady_clock::now() < deadline) {
      w->wake.expires_at(deadline);
      boost::system::error_code ec;
      co_await w->wake.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    s->by_id.erase(key);
    co_return w->messages.empty() ? std::string() : w->messages.front();
  }

  // A new shared session's upstream: a 2026-07-28 server (it answers server/discover with that
  // version) is spoken to in its own era, its results and multi-round (input_required) exchanges
  // passed through; any other gets the gateway's own initialize as a 2025-11-25 client (with
  // sampling, elicitation and roots when 2025-era sessions share it), then notifications/initialized.
  awaitable<void> initialize_shared(std::shared_ptr<GwSession> s, bool legacy) {
    simdjson::dom::element root, result, info;
    if (!s->aggregator && !legacy) {
      std::string answer = co_await ask(
          s, "mcp-warden-discover",
          fmt::format(R"({{"jsonrpc":"2.0","id":"mcp-warden-discover","method":"server/discover","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"{}","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}})",
                      gateway::modern::k_version));
      simdjson::dom::array versions;
      if (!answer.empty() && parser.parse(answer).get(root) == simdjson::SUCCESS &&
          root["result"].get(result) == simdjson::SUCCESS &&
          result["supportedVersions"].get_array().get(versions) == simdjson::SUCCESS)
        for (auto v : versions)
          if (v.is_string() && std::string_view(v.get_string().value_unsafe()) == gateway::modern::k_version) {
            s->upstream_modern = true;
            s->init_result = simdjson::minify(result);
            if (result.at_pointer("/_meta/io.modelcontextprotocol~1serverInfo").get(info) == simdjson::SUCCESS)
              s->server_info = simdjson::minify(info);
            co_await learn_tools(s);
            s->ready = true;
            co_return;
          }
      if (s->dead) {
        s->init_error = "the upstream ended when asked server/discover";
        s->ready = true;
        co_return;
      }
    }
    // Sessions sharing it answer the server's requests (each goes to the session whose call it
    // serves); for 2026-07-28 clients they become input_required rounds.
    std::string caps = R"({"sampling":{},"elicitation":{},"roots":{"listChanged":true}})";
    std::string answer = co_await ask(
        s, "mcp-warden-init",
        fmt::format(R"({{"jsonrpc":"2.0","id":"mcp-warden-init","method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{{"name":"mcp-warden-gateway","version":"{}"}}}}}})",
                    caps, WARDEN_VERSION));
    if (answer.empty()) {
      s->init_error = s->dead ? "the upstream ended during initialize" : "the upstream did not answer initialize";
    } else if (parser.parse(answer).get(root) != simdjson::SUCCESS || root["result"].get(result) != simdjson::SUCCESS ||
               !result.is_object()) {
      s->init_error = "the upstream refused initialize: " + gateway::safe_excerpt(answer, 300);
    } else {
      s->init_result = simdjson::minify(result);
      if (result["serverInfo"].get(info) == simdjson::SUCCESS) s->server_info = simdjson::minify(info);
      feed_client(s, R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
      co_await learn_tools(s);
    }
    s->ready = true;
  }

  // Which tool arguments are mirrored in Mcp-Param-* headers: the gateway lists the tools itself
  // (every page) so the check does not depend on what a client listed.
  awaitable<void> learn_tools(std::shared_ptr<GwSession> s) {
    simdjson::dom::element caps;
    if (parser.parse(s->init_result).get(caps) != simdjson::SUCCESS || caps["capabilities"]["tools"].error())
      co_return;
    std::string cursor;
    for (int page = 0; page < 100 && !s->dead; ++page) {
      std::string params = s->upstream_modern
                               ? fmt::format(R"("_meta":{{"io.modelcontextprotocol/protocolVersion":"{}","io.modelcontextprotocol/clientCapabilities":{{}}}})",
                                             gateway::modern::k_version)
                               : "";
      if (!cursor.empty()) params += (params.empty() ? "" : ",") + std::string(R"("cursor":)") + cursor;
      std::string answer = co_await ask(
          s, "mcp-warden-tools", fmt::format(R"({{"jsonrpc":"2.0","id":"mcp-warden-tools","method":"tools/list","params":{{{}}}}})", params));
      simdjson::dom::element root, result, next;
      if (answer.empty() || parser.parse(answer).get(root) != simdjson::SUCCESS ||
          root["result"].get(result) != simdjson::SUCCESS)
        co_return;
      gateway::modern::collect_param_headers(result, s->param_headers);
      if (result["nextCursor"].get(next) != simdjson::SUCCESS || !next.is_string()) co_return;
      cursor = simdjson::minify(next);
    }
  }

  // The agent's shared session, opened and initialized on first use; null after answering why
  // not.
  static std::string shared_key(const std::string& agent, bool legacy) { return (legacy ? "2025:" : "2026:") + agent; }

  // `legacy`: the one that 2025-era sessions share (gateway.upstreams: shared), always initialized
  // as 2025-11-25; 2026-07-28 clients use another.
  template <class Stream>
  awaitable<std::shared_ptr<GwSession>> shared_session(Stream& sock, const policy::AgentConfig* agent, bool keep,
                                                       bool legacy = false) {
    std::string key = shared_key(agent ? agent->name : "", legacy);
    auto it = shared.find(key);
    std::shared_ptr<GwSession> s;
    if (it == shared.end() || it->second->dead) {
      s = co_await open_for(sock, agent, keep);
      if (!s) co_return nullptr;
      if (auto won = shared.find(key); won != shared.end() && !won->second->dead) {
        // Another request opened it while this one's servers were starting: that one serves.
        close_session(s, "was not needed: another request opened the shared session first");
        s = won->second;
      } else {
        s->modern = true;
        s->shared_key = key;
        shared[key] = s;
        co_await initialize_shared(s, legacy);
      }
    } else {
      s = it->second;
    }
    asio::steady_timer t(io);
    for (int i = 0; !s->ready && !s->dead && i < 60000; ++i) {  // another request is initializing it
      t.expires_after(std::chrono::milliseconds(5));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    if (s->dead || !s->init_error.empty() || !s->ready) {
      std::string why = s->init_error.empty() ? "the shared session ended" : s->init_error;
      if (!s->dead) close_session(s, why);
      co_await send_error(sock, http::status::bad_gateway, why, keep);
      co_return nullptr;
    }
    co_return s;
  }

  // One 2026-07-28 POST: checked against its headers (gateway/modern.h), then served from the
  // agent's shared session under a gateway id, answered as JSON (or SSE when it asked for
  // progress) with the client's id and the result completed for this era.
  template <class Stream>
  awaitable<void> handle_modern(Stream& sock, http::request<http::string_body>& req, bool keep,
                                const policy::AgentConfig* agent) {
    auto refuse = [&](const codec::Id& id, const gateway::modern::Refusal& r) -> awaitable<void> {
      {
        std::lock_guard lock(stats_mu);
        ++stats.rejected;
      }
      co_await send_json(sock, static_cast<http::status>(r.http_status), gateway::modern::error_response(id, r), keep);
    };
    const codec::Id null_id{codec::Id::Type::null, 0, {}};
    codec::Limits limits;
    limits.max_message_bytes = opts.max_body_bytes;
    codec::Decoder decoder(limits);
    auto decoded = decoder.decode(req.body(), false);
    // (Refusals are named before co_await: GCC 12 mishandles aggregate temporaries there.)
    if (!decoded) {
      // A method this era does not have is a 404 even when its params would not pass either.
      simdjson::dom::element root;
      std::string_view method;
      if (parser.parse(req.body()).get(root) == simdjson::SUCCESS && root.is_object() &&
          root["method"].get_string().get(method) == simdjson::SUCCESS && !gateway::modern::known_method(method)) {
        gateway::modern::Refusal r{404, codec::k_method_not_found,
                                   fmt::format("mcp-warden: method '{}' is not served in protocol {}", method,
                                               gateway::modern::k_version),
                                   {}};
        co_await refuse(decoder.failed_id(), r);
        co_return;
      }
      gateway::modern::Refusal r{400, decoded.error().code, "mcp-warden: " + decoded.error().message, {}};
      co_await refuse(decoder.failed_id(), r);
      co_return;
    }
    if (decoded->is_batch || decoded->messages.size() != 1) {
      gateway::modern::Refusal r{400, codec::k_invalid_request, "mcp-warden: one message per POST in protocol 2026-07-28", {}};
      co_await refuse(null_id, r);
      co_return;
    }
    const codec::Message& m = decoded->messages[0];
    if (m.kind == codec::Kind::notification) {  // none is defined for this era over HTTP
      co_await send_accepted(sock, keep);
      co_return;
    }
    auto header = [&](std::string_view name) -> std::optional<std::string> {
      auto it = req.find(beast::string_view(name.data(), name.size()));
      if (it == req.end()) return std::nullopt;
      return std::string(util::trim(sv(it->value())));
    };
    gateway::modern::Headers h{header("MCP-Protocol-Version"), header("Mcp-Method"), header("Mcp-Name")};
    if (auto r = gateway::modern::check(h, m)) {
      co_await refuse(m.id, *r);
      co_return;
    }
    codec::Id client_id = m.id;
    std::string method = m.method;
    std::string progress_token;  // the client's, as JSON
    simdjson::dom::element token;
    if (m.root.at_pointer("/params/_meta/progressToken").get(token) == simdjson::SUCCESS)
      progress_token = simdjson::minify(token);
    std::string gid = fmt::format("mcp-warden-{}", ++next_modern);
    std::string line = gateway::replace_at(m.root, {"id"}, json_quote(gid));
    std::string gtoken = "mcp-warden-p" + std::to_string(next_modern);
    if (!progress_token.empty()) {
      simdjson::dom::element again;
      if (parser.parse(line).get(again) == simdjson::SUCCESS)
        line = gateway::replace_at(again, {"params", "_meta", "progressToken"}, json_quote(gtoken));
    }
    auto s = co_await shared_session(sock, agent, keep);
    if (!s) co_return;
    s->last_active = std::chrono::steady_clock::now();
    if (method == "tools/call")
      if (auto r = gateway::modern::check_param_headers(s->param_headers, m, header)) {
        co_await refuse(client_id, *r);
        co_return;
      }
    simdjson::dom::element init, caps;
    if (parser.parse(s->init_result).get(init) != simdjson::SUCCESS) init = {};
    if (method == "server/discover") {
      co_await send_json(sock, http::status::ok,
                         fmt::format(R"({{"jsonrpc":"2.0","id":{},"result":{}}})", client_id.to_json(),
                                     gateway::modern::discover_result(init)),
                         keep);
      co_return;
    }
    if (init.is_object() && init["capabilities"].get(caps) == simdjson::SUCCESS &&
        !gateway::modern::served(method, caps)) {
      gateway::modern::Refusal r{404, codec::k_method_not_found,
                                 fmt::format("mcp-warden: {} is not served: the upstream has no such capability", method), {}};
      co_await refuse(client_id, r);
      co_return;
    }
    std::string accept = util::to_lower(sv(req[http::field::accept]));
    auto w = std::make_shared<Waiter>(io.get_executor());
    w->sse = !progress_token.empty() && accept.find("text/event-stream") != std::string::npos;
    std::string server_info = s->server_info;
    w->rewrite = [this, client_id, method, progress_token, gtoken, server_info,
                  weak = std::weak_ptr<GwSession>(s)](std::string& msg) {
      simdjson::dom::element root, result;
      if (parser.parse(msg).get(root) != simdjson::SUCCESS) return;
      if (root["method"].error() == simdjson::SUCCESS) {  // progress: the client's token back
        msg = gateway::replace_at(root, {"params", "progressToken"}, progress_token);
        return;
      }
      auto live = weak.lock();
      if (live && method == "tools/list" && root["result"].get(result) == simdjson::SUCCESS)
        gateway::modern::collect_param_headers(result, live->param_headers);
      std::string_view type;
      if (live && root.at_pointer("/result/resultType").get_string().get(type) == simdjson::SUCCESS &&
          type == "input_required" && !live->upstream_modern) {
        // The gateway's own round: the call stays in flight for the client's retry.
      } else if (live) {
        std::string_view gid_of;
        if (root["id"].get_string().get(gid_of) == simdjson::SUCCESS) {
          std::string call_key = codec::Id{codec::Id::Type::string, 0, std::string(gid_of)}.key();
          live->calls.erase(call_key);
          live->rounds.forget_call(call_key);
        }
      }
      msg = gateway::modern::complete_response(gateway::replace_at(root, {"id"}, client_id.to_json()), method,
                                               server_info, parser);
    };
    std::string key = codec::Id{codec::Id::Type::string, 0, gid}.key();
    w->awaiting.insert(client_id.key());  // the rewrite maps the gateway id back before it counts
    // A retry of a call the gateway asked input for (2026-07-28 MRTR on a 2025-era server): the
    // answers go to the server's requests and this POST waits for the same call.
    std::string_view state;
    if (!s->upstream_modern && m.root.at_pointer("/params/requestState").get_string().get(state) == simdjson::SUCCESS) {
      auto* held = s->rounds.find(state, s->agent, method, m.target);
      simdjson::dom::element answers;
      if (!held || s->calls.find(held->call_key) == s->calls.end()) {
        gateway::modern::Refusal r{400, codec::k_invalid_params,
                                   "mcp-warden: requestState does not verify (altered, expired, or not this request's)", {}};
        co_await refuse(client_id, r);
        co_return;
      }
      if (m.root.at_pointer("/params/inputResponses").get(answers) != simdjson::SUCCESS || !answers.is_object()) {
        gateway::modern::Refusal r{400, codec::k_invalid_params, "mcp-warden: params.inputResponses must be an object", {}};
        co_await refuse(client_id, r);
        co_return;
      }
      gateway::modern::InputRounds::Held rest{held->call_key, held->agent, held->method, held->target, {}};
      for (const auto& a : held->asks) {
        simdjson::dom::element answer;
        if (answers[a.key].get(answer) == simdjson::SUCCESS && answer.is_object())
          feed_client(s, fmt::format(R"({{"jsonrpc":"2.0","id":{},"result":{}}})", a.server_id, simdjson::minify(answer)));
        else
          rest.asks.push_back(a);  // not answered: asked again
      }
      std::string call_key = held->call_key;
      s->rounds.forget(state);
      s->calls[call_key].waiter = w;
      if (!rest.asks.empty()) {
        std::string again = s->rounds.hold(rest);
        co_await send_json(sock, http::status::ok,
                           fmt::format(R"({{"jsonrpc":"2.0","id":{},"result":{}}})", client_id.to_json(),
                                       gateway::modern::InputRounds::result(rest.asks, again)),
                           keep);
        co_return;
      }
      key = call_key;
      s->by_id[key] = w;
    } else {
      s->by_id[key] = w;
      if (!progress_token.empty()) s->progress[gtoken] = w;
      if (!s->upstream_modern) s->calls[key] = {w, gateway::modern::client_capabilities(m), method, m.target};
      feed_client(s, line);
    }
    if (w->sse) {
      co_await stream_sse(sock, w, s, true, keep);
    } else {
      auto deadline = std::chrono::steady_clock::now() + post_deadline(*s);
      while (!w->awaiting.empty() && !s->dead && std::chrono::steady_clock::now() < deadline) {
        w->wake.expires_at(deadline);
        boost::system::error_code ec;
        co_await w->wake.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      // Only the response counts here; a progress notification without SSE was not asked for.
      std::string body;
      for (auto& msg : w->messages)
        if (msg.find(R"("method")") == std::string::npos || body.empty()) body = msg;
      if (!w->awaiting.empty()) {
        s->by_id.erase(key);
        s->calls.erase(key);
        s->rounds.forget_call(key);
        body = codec::make_error_response(client_id, codec::k_upstream_timeout,
                                          fmt::format("mcp-warden: the upstream did not answer within {} ms",
                                                      post_deadline(*s).count()));
      }
      // The errors this era defines travel with their HTTP status (400, or 404 for -32601).
      simdjson::dom::element root;
      int64_t code = 0;
      auto status = http::status::ok;
      if (parser.parse(body).get(root) == simdjson::SUCCESS &&
          root.at_pointer("/error/code").get_int64().get(code) == simdjson::SUCCESS)
        status = static_cast<http::status>(gateway::modern::status_of_error(static_cast<int>(code)));
      co_await send_json(sock, status, std::move(body), keep);
    }
    w->closed = true;
    s->progress.erase(gtoken);
  }

  // One client connection, plain TCP or TLS; `peer` is its verified client certificate, if any.
  // Closes the connection when its next request has not arrived, whole, within
  // `connection_idle_timeout_s` (idle keep-alive connections, half-open and slowloris clients).
  template <class Stream>
  void arm_idle(asio::steady_timer& t, const std::shared_ptr<Stream>& stream) {
    t.expires_after(std::chrono::seconds(opts.connection_idle_timeout_s));
    t.async_wait([weak = std::weak_ptr<Stream>(stream)](boost::system::error_code ec) {
      if (ec) return;
      if (auto st = weak.lock()) {
        boost::system::error_code ignored;
        beast::get_lowest_layer(*st).close(ignored);
      }
    });
  }

  template <class Stream>
  awaitable<void> serve(std::shared_ptr<Stream> stream, const gateway::auth::PeerIdentity* peer) {
    Stream& sock = *stream;
    beast::flat_buffer buf;
    asio::steady_timer idle(io);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(opts.max_body_bytes);
      boost::system::error_code ec;
      arm_idle(idle, stream);
      co_await http::async_read(sock, buf, parser, asio::redirect_error(use_awaitable, ec));
      idle.cancel();
      if (ec == http::error::body_limit) {
        co_await send_error(sock, http::status::payload_too_large, "request body too large", false);
        co_return;
      }
      if (ec) co_return;
      http::request<http::string_body> req = parser.release();
      bool keep = req.keep_alive();
      {
        std::lock_guard lock(stats_mu);
        ++stats.http_requests;
      }
      // DNS rebinding: on a loopback listener only loopback names, and no foreign Origin.
      std::string host = host_part(sv(req[http::field::host]));
      std::string origin(sv(req[http::field::origin]));
      bool loopback = is_loopback_name(listen_host);
      if (loopback && !is_loopback_name(host)) {
        co_await send_error(sock, http::status::forbidden, fmt::format("Host '{}' is not allowed", host), false);
        co_return;
      }
      if (!origin.empty()) {
        auto scheme_end = origin.find("://");
        std::string ohost = scheme_end == std::string::npos ? "" : host_part(std::string_view(origin).substr(scheme_end + 3));
        if (loopback ? !is_loopback_name(ohost) : ohost != host) {
          co_await send_error(sock, http::status::forbidden, fmt::format("Origin '{}' is not allowed", origin), false);
          co_return;
        }
      }
      std::string target(sv(req.target()));
      if (req.method() == http::verb::get && target == "/.well-known/oauth-protected-resource") {
        co_await send_resource_metadata(sock, req, keep);
        if (!keep) co_return;
        continue;
      }
      gateway::Identified who = authenticate(req, peer);
      if (who.status != 200) {
        co_await send_unauthorized(sock, req, keep, who);
        if (!keep) co_return;
        continue;
      }
      const policy::AgentConfig* agent = who.agent;
      const std::string tpath = target.substr(0, target.find('?'));
      if (tpath == k_legacy_sse_path && req.method() == http::verb::get) {
        co_await handle_legacy_sse(sock, req, agent);
        co_return;
      }
      if (tpath == k_legacy_messages_path && req.method() == http::verb::post) {
        co_await handle_legacy_post(sock, req, keep, agent);
        if (!keep) co_return;
        continue;
      }
      if (tpath != opts.path) {
        co_await send_error(sock, http::status::not_found, fmt::format("no MCP endpoint at {} (it is {})", target, opts.path), keep);
        if (!keep) co_return;
        continue;
      }
      std::string version(sv(req["MCP-Protocol-Version"]));
      if (req.method() == http::verb::post &&
          gateway::modern::is_modern(util::trim(version), !sv(req["Mcp-Session-Id"]).empty(), req.body())) {
        auto t0 = std::chrono::steady_clock::now();
        if (util::to_lower(sv(req[http::field::content_type])).find("application/json") == std::string::npos)
          co_await send_error(sock, http::status::unsupported_media_type, "POST bodies must be application/json", keep);
        else
          co_await handle_modern(sock, req, keep, agent);
        observe_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (!keep) co_return;
        continue;
      }
      if (!version.empty() && std::find(std::begin(k_supported_versions), std::end(k_supported_versions), version) ==
                                  std::end(k_supported_versions)) {
        co_await send_error(sock, http::status::bad_request,
                            fmt::format("unsupported MCP-Protocol-Version '{}' (supported: 2025-03-26, 2025-06-18, 2025-11-25)", version), keep);
        if (!keep) co_return;
        continue;
      }
      if (req.method() == http::verb::post) {
        auto t0 = std::chrono::steady_clock::now();
        co_await handle_post(sock, req, keep, agent);
        observe_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      } else if (req.method() == http::verb::get) {
        std::string sid(sv(req["Mcp-Session-Id"]));
        auto it = sessions.find(sid);
        if (util::to_lower(sv(req[http::field::accept])).find("text/event-stream") == std::string::npos) {
          co_await send_error(sock, http::status::not_acceptable, "GET needs Accept: text/event-stream", keep);
        } else if (it == sessions.end()) {
          co_await send_error(sock, sid.empty() ? http::status::bad_request : http::status::not_found,
                              "GET needs the Mcp-Session-Id of a live session", keep);
        } else if (foreign(*it->second, agent)) {
          co_await send_error(sock, http::status::forbidden, "this session belongs to another agent", keep);
        } else if (auto old = it->second->get_stream.lock(); old && !old->closed && sv(req["Last-Event-ID"]).empty()) {
          co_await send_error(sock, http::status::conflict, "this session already has a GET stream", keep);
        } else {
          auto s = it->second;
          s->last_active = std::chrono::steady_clock::now();
          auto w = std::make_shared<Waiter>(io.get_executor());
          w->sse = true;
          std::string last(sv(req["Last-Event-ID"]));
          uint64_t last_id = 0;
          auto known = std::find_if(s->history.begin(), s->history.end(), [&](const SentEvent& e) {
            return !last.empty() && std::to_string(e.id) == last && (last_id = e.id) != 0;
          });
          if (known != s->history.end()) {
            // Resumption: replay what followed on that stream, and take it over.
            w->stream = known->stream;
            for (const auto& e : s->history)
              if (e.stream == w->stream && e.id > last_id) w->push(e.data, e.id);
            if (auto old = s->streams[w->stream].lock()) {
              old->successor = w;
              old->closed = true;  // the client left it; this connection carries it on
              old->wake.cancel();
              if (s->get_stream.lock() == old) s->get_stream = w;
            }
            if (!s->get_stream.lock() || s->get_stream.lock()->closed) s->get_stream = w;
          } else {
            w->stream = ++s->next_stream;
            while (!s->backlog.empty()) {
              deliver(s, w, std::move(s->backlog.front()));
              s->backlog.pop_front();
            }
            s->get_stream = w;
          }
          s->streams[w->stream] = w;
          co_await stream_sse(sock, w, s, false);
          w->closed = true;
          co_return;
        }
      } else if (req.method() == http::verb::delete_) {
        std::string sid(sv(req["Mcp-Session-Id"]));
        auto it = sessions.find(sid);
        if (it == sessions.end()) {
          co_await send_error(sock, http::status::not_found, "unknown or ended session", keep);
        } else if (foreign(*it->second, agent)) {
          co_await send_error(sock, http::status::forbidden, "this session belongs to another agent", keep);
        } else {
          auto s = it->second;
          close_session(s, "was ended by the client (DELETE)");
          http::response<http::empty_body> res{http::status::ok, 11};
          common_headers(res);
          res.keep_alive(keep);
          co_await http::async_write(sock, res, asio::redirect_error(use_awaitable, ec));
        }
      } else {
        http::response<http::string_body> res{http::status::method_not_allowed, 11};
        common_headers(res);
        res.set(http::field::allow, "GET, POST, DELETE");
        res.keep_alive(keep);
        res.prepare_payload();
        co_await http::async_write(sock, res, asio::redirect_error(use_awaitable, ec));
      }
      if (!keep) co_return;
    }
  }

  // ---- admin API and metrics -------------------------------------------------------------------

  void observe_latency(double seconds) {
    size_t i = 0;
    while (i < std::size(k_buckets) && seconds > k_buckets[i]) ++i;
    ++latency_counts[i];
    latency_sum += seconds;
    ++latency_n;
  }

  static int pid_of(const Leg& l) { return l.upstream ? l.upstream->child().pid() : 0; }

  void quarantine_session(const std::shared_ptr<GwSession>& s, const std::string& reason) {
    if (s->upstream) return quarantine_session(s->upstream, reason);  // its servers are shared
    if (s->tripped()) return;
    for (auto& l : s->legs) {
      l->breaker->trip(reason, 0);
      l->processor->lifecycle("quarantine", fmt::format(R"({{"reason":{},"by":"admin"}})", json_quote(reason)));
      if (l->upstream) l->upstream->child().kill();
      else if (l->remote && !l->dead) close_leg(s, *l, "was quarantined");
    }
    std::lock_guard lock(stats_mu);
    ++stats.quarantines;
  }

  Status reload_policy() {
    std::shared_ptr<const policy::Policy> fresh;
    try {
      fresh = policy::load_policy_file(opts.policy_path);
    } catch (const policy::LoadError& e) {
      std::lock_guard lock(stats_mu);
      ++stats.reload_failures;
      return Error{2, std::string(e.what()) + " (the previous policy stays in force)"};
    }
    std::vector<const policy::ServerPolicy*> servers;
    for (const auto* old : opts.servers) {
      const policy::ServerPolicy* server = fresh->find_server(old->name);
      if (!server || (server->command.empty() && server->url.empty())) {
        std::lock_guard lock(stats_mu);
        ++stats.reload_failures;
        return Error{2, fmt::format("{} has no server entry '{}' with a command or url (the previous policy stays in force)",
                                    opts.policy_path, old->name)};
      }
      servers.push_back(server);
    }
    auto directory = gateway::AgentDirectory::build(fresh);
    if (!directory) {
      std::lock_guard lock(stats_mu);
      ++stats.reload_failures;
      return Error{2, directory.error().message + " (the previous policy stays in force)"};
    }
    retired.push_back(opts.policy);  // live sessions keep pointers into it
    opts.policy = fresh;
    agents = std::move(*directory);
    opts.servers = std::move(servers);
    std::lock_guard lock(stats_mu);
    ++stats.reloads;
    return Ok{};
  }
  std::vector<std::shared_ptr<const policy::Policy>> retired;
  // Where sessions' servers start (Upstream::start). Declared after `io`, so it is joined first.
  asio::thread_pool workers{k_start_workers};

  std::string metrics_text() {
    gateway::ProcessorStats t = closed_totals;
    size_t dead = 0;
    for (const auto& [id, s] : sessions)
      for (const auto& l : s->legs) {
        if (!l->dead) {
          t.forwarded += l->processor->stats().forwarded;
          t.blocked += l->processor->stats().blocked;
          t.invalid += l->processor->stats().invalid;
          for (size_t i = 0; i < 5; ++i) t.findings[i] += l->processor->stats().findings[i];
        }
        dead += l->dead ? 1 : 0;
      }
    HttpGatewayStats st;
    {
      std::lock_guard lock(stats_mu);
      st = stats;
    }
    std::string m;
    auto counter = [&](const char* name, const char* help, uint64_t v, const char* type = "counter") {
      m += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
    };
    counter("mcp_warden_sessions_open", "Sessions open now", sessions.size(), "gauge");
    counter("mcp_warden_sessions_opened_total", "Sessions opened", st.sessions_opened);
    counter("mcp_warden_upstreams_down", "Sessions whose upstream is gone (quarantined or exited)", dead, "gauge");
    counter("mcp_warden_http_requests_total", "HTTP requests to the MCP endpoint", st.http_requests);
    counter("mcp_warden_http_rejected_total", "HTTP requests refused (auth, origin, session, size)", st.rejected);
    counter("mcp_warden_tls_handshake_failures_total", "TLS connections refused (handshake, client certificate)",
            st.tls_handshake_failures);
    counter("mcp_warden_quarantines_total", "Sessions quarantined from the admin API", st.quarantines);
    counter("mcp_warden_policy_reloads_total", "Successful policy reloads", st.reloads);
    counter("mcp_warden_policy_reload_failures_total", "Refused policy reloads (the old policy stayed)", st.reload_failures);
    counter("mcp_warden_kill_switch", "1 while the kill switch refuses new sessions", kill_switch ? 1 : 0, "gauge");
    m += "# HELP mcp_warden_messages_total JSON-RPC messages by decision\n# TYPE mcp_warden_messages_total counter\n";
    m += fmt::format("mcp_warden_messages_total{{decision=\"forwarded\"}} {}\n", t.forwarded);
    m += fmt::format("mcp_warden_messages_total{{decision=\"blocked\"}} {}\n", t.blocked);
    m += fmt::format("mcp_warden_messages_total{{decision=\"invalid\"}} {}\n", t.invalid);
    m += "# HELP mcp_warden_findings_total Findings of detectors and policy, audited, by severity\n"
         "# TYPE mcp_warden_findings_total counter\n";
    for (size_t i = 0; i < 5; ++i)
      m += fmt::format("mcp_warden_findings_total{{severity=\"{}\"}} {}\n", core::severity_name(static_cast<core::Severity>(i)),
                       t.findings[i]);
    m += "# HELP mcp_warden_request_seconds Time from an HTTP POST to its answer\n# TYPE mcp_warden_request_seconds histogram\n";
    uint64_t cum = 0;
    for (size_t i = 0; i < std::size(k_buckets); ++i) {
      cum += latency_counts[i];
      m += fmt::format("mcp_warden_request_seconds_bucket{{le=\"{}\"}} {}\n", k_buckets[i], cum);
    }
    cum += latency_counts[std::size(k_buckets)];
    m += fmt::format("mcp_warden_request_seconds_bucket{{le=\"+Inf\"}} {}\n", cum);
    m += fmt::format("mcp_warden_request_seconds_sum {}\nmcp_warden_request_seconds_count {}\n", latency_sum, latency_n);
    return m;
  }

  awaitable<void> handle_admin(tcp::socket sock) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      co_await http::async_read(sock, buf, req, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      bool keep = req.keep_alive();
      std::string target(sv(req.target()));
      auto reply = [&](http::status st, std::string body, const char* type = "application/json") {
        auto res = std::make_shared<http::response<http::string_body>>(st, 11);
        common_headers(*res);
        res->set(http::field::content_type, type);
        res->body() = std::move(body);
        res->keep_alive(keep);
        res->prepare_payload();
        return res;
      };
      std::shared_ptr<http::response<http::string_body>> res;
      std::string_view auth = sv(req[http::field::authorization]);
      bool authorized = !opts.admin_token.empty() && auth.size() == 7 + opts.admin_token.size() &&
                        util::sha256_hex(auth.substr(7)) == util::sha256_hex(opts.admin_token) &&
                        util::to_lower(auth.substr(0, 7)) == "bearer ";
      if (target == "/health") {
        res = reply(http::status::ok, fmt::format(R"({{"status":"ok","sessions":{},"kill_switch":{}}})", sessions.size(),
                                                  kill_switch ? "true" : "false"));
      } else if (!authorized) {
        res = reply(http::status::unauthorized, R"({"error":"admin API: Authorization: Bearer <admin token> required"})");
        res->set(http::field::www_authenticate, R"(Bearer realm="mcp-warden-admin")");
      } else if (target == "/metrics" && req.method() == http::verb::get) {
        res = reply(http::status::ok, metrics_text(), "text/plain; version=0.0.4");
      } else if (target == "/sessions" && req.method() == http::verb::get) {
        std::string body = "[";
        bool first = true;
        for (const auto& [id, s] : sessions) {
          std::string servers;
          const GwSession& owner = s->upstream ? *s->upstream : *s;  // a sharing session: the shared ones
          if (owner.legs.empty()) continue;
          for (const auto& l : owner.legs)
            servers += fmt::format(R"({}{{"server":{},"pid":{},"quarantined":{},"upstream":"{}"}})",
                                   servers.empty() ? "" : ",", json_quote(l->server->name), pid_of(*l),
                                   l->breaker->tripped() ? "true" : "false", l->dead ? "down" : "up");
          const Leg& l0 = *owner.legs[0];
          body += fmt::format(R"({}{{"id":"{}","agent":{},"server":{},"pid":{},"quarantined":{},"upstream":"{}","servers":[{}],"shares":{}}})",
                              first ? "" : ",", id, json_quote(s->agent), json_quote(l0.server->name),
                              pid_of(l0), s->tripped() ? "true" : "false", s->dead ? "down" : "up",
                              servers, s->upstream ? json_quote(s->upstream->id) : std::string("null"));
          first = false;
        }
        res = reply(http::status::ok, body + "]");
      } else if (target.rfind("/sessions/", 0) == 0 && target.size() > 21 &&
                 target.substr(target.size() - 11) == "/quarantine" && req.method() == http::verb::post) {
        std::string id = target.substr(10, target.size() - 21);
        auto it = sessions.find(id);
        if (it == sessions.end()) {
          res = reply(http::status::not_found, R"({"error":"no such session"})");
        } else {
          quarantine_session(it->second, "quarantined by an operator (admin API)");
          res = reply(http::status::ok, R"({"quarantined":true})");
        }
      } else if (target == "/approvals" && req.method() == http::verb::get) {
        res = reply(http::status::ok, approvals_json());
      } else if (target.rfind("/approvals/", 0) == 0 && req.method() == http::verb::post &&
                 (target.ends_with("/approve") || target.ends_with("/deny"))) {
        bool approve = target.ends_with("/approve");
        std::string id = target.substr(11, target.size() - 11 - (approve ? 8 : 5));
        // Optional body {"by": "...", "reason": "..."}: who decided, in the audit record.
        std::string by = "an operator", why;
        simdjson::dom::element body;
        if (!req.body().empty() && parser.parse(req.body()).get(body) == simdjson::SUCCESS && body.is_object()) {
          std::string_view v;
          if (body["by"].get_string().get(v) == simdjson::SUCCESS && !v.empty()) by = std::string(v.substr(0, 200));
          if (body["reason"].get_string().get(v) == simdjson::SUCCESS) why = std::string(v.substr(0, 500));
        }
        std::string note = fmt::format("{} by {} (admin API){}", approve ? "approved" : "denied", by,
                                       why.empty() ? "" : ": " + why);
        res = decide_approval(id, approve, note)
                  ? reply(http::status::ok, fmt::format(R"({{"id":{},"decision":"{}"}})", json_quote(id),
                                                        approve ? "approve" : "deny"))
                  : reply(http::status::not_found, R"js({"error":"no such pending approval (decided or timed out)"})js");
      } else if (target == "/kill-switch" && req.method() == http::verb::post) {
        kill_switch = true;
        auto all = sessions;
        for (auto& [id, s] : all) quarantine_session(s, "the gateway's kill switch was thrown");
        res = reply(http::status::ok, fmt::format(R"({{"kill_switch":true,"quarantined":{}}})", all.size()));
      } else if (target == "/release" && req.method() == http::verb::post) {
        kill_switch = false;
        res = reply(http::status::ok, R"({"kill_switch":false})");
      } else if (target == "/reload" && req.method() == http::verb::post) {
        auto st = reload_policy();
        res = st.ok() ? reply(http::status::ok, R"({"reloaded":true})")
                      : reply(http::status::unprocessable_entity,
                              codec::make_error_response(codec::Id{codec::Id::Type::null, 0, {}}, -32600, st.error().message));
      } else {
        res = reply(http::status::not_found,
                    R"({"error":"admin endpoints: GET /health /metrics /sessions /approvals; POST /sessions/ID/quarantine /approvals/ID/approve /approvals/ID/deny /kill-switch /release /reload"})");
      }
      co_await http::async_write(sock, *res, asio::redirect_error(use_awaitable, ec));
      if (ec || !keep) co_return;
    }
  }

  // Ends sessions nobody has used for `session_idle_timeout_s`: no request, no open GET stream, no
  // request waiting for an answer or an approval. A client that vanished without DELETE would
  // otherwise keep its servers running and, at max_sessions, lock everyone else out.
  awaitable<void> expire_idle_sessions() {
    asio::steady_timer t(io);
    const auto limit = std::chrono::seconds(opts.session_idle_timeout_s);
    for (;;) {
      t.expires_after(std::min<std::chrono::seconds>(std::chrono::seconds(30), limit / 2 + std::chrono::seconds(1)));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      auto now = std::chrono::steady_clock::now();
      std::set<std::string> awaiting_approval;
      for (const auto& [id, a] : approvals) awaiting_approval.insert(a.session_id);
      std::vector<std::shared_ptr<GwSession>> idle;
      for (const auto& [id, s] : sessions) {
        auto g = s->get_stream.lock();
        bool streaming = g && !g->closed;
        if (now - s->last_active > limit && !streaming && s->by_id.empty() && !awaiting_approval.count(id))
          idle.push_back(s);
      }
      for (auto& s : idle) {
        if (s->dead) {
          sessions.erase(s->id);  // a quarantined session kept for its error: forgotten now
          continue;
        }
        close_session(s, fmt::format("was idle for more than {} s (session_idle_timeout)", opts.session_idle_timeout_s));
      }
      if (!idle.empty()) {
        std::lock_guard lock(stats_mu);
        stats.sessions_open = sessions.size();
      }
    }
  }

  // Every request an upstream has not answered within its leg's timeout gets an error (and the
  // server a cancellation), checked twice a second.
  awaitable<void> expire_requests() {
    asio::steady_timer t(io);
    for (;;) {
      t.expires_after(std::chrono::milliseconds(500));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      int64_t now = opts.clock->now_mono_us();
      auto all = sessions;  // routing may end a session
      for (auto& [id, s] : all)
        for (auto& l : s->legs) {
          if (l->dead || !l->processor) continue;
          gateway::Output out;
          if (l->processor->expire_requests(now, l->timeout_ms * 1000, out)) route(s, *l, out);
        }
    }
  }

  awaitable<void> backoff() {
    asio::steady_timer t(io);
    t.expires_after(std::chrono::milliseconds(50));
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
  }

  awaitable<void> admin_accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock = co_await admin_acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        co_await backoff();  // EMFILE and the like: retrying at once would spin
        continue;
      }
      asio::co_spawn(io, handle_admin(std::move(sock)), asio::detached);
    }
  }

  awaitable<void> handle_plain(tcp::socket sock) { co_await serve(std::make_shared<tcp::socket>(std::move(sock)), nullptr); }

  // TLS: the handshake (bounded in time), the client certificate's identity, then the same
  // request handling as plain HTTP, and a bounded close_notify at the end.
  awaitable<void> handle_tls(tcp::socket sock) {
    using SslStream = asio::ssl::stream<tcp::socket>;
    auto stream = std::make_shared<SslStream>(std::move(sock), *ssl);
    asio::steady_timer deadline(io);
    auto arm = [&](std::chrono::seconds after) {
      deadline.expires_after(after);
      deadline.async_wait([weak = std::weak_ptr<SslStream>(stream)](boost::system::error_code ec) {
        if (ec) return;
        if (auto st = weak.lock()) {
          boost::system::error_code ignored;
          st->lowest_layer().close(ignored);
        }
      });
    };
    arm(std::chrono::seconds(10));
    boost::system::error_code ec;
    co_await stream->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
    if (ec) {
      std::lock_guard lock(stats_mu);
      ++stats.tls_handshake_failures;
      co_return;
    }
    std::optional<gateway::auth::PeerIdentity> peer;
    if (X509* cert = SSL_get0_peer_certificate(stream->native_handle())) {
      // OpenSSL verified it against client_ca (SSL_VERIFY_PEER); a name that reads two ways is refused.
      auto id = SSL_get_verify_result(stream->native_handle()) == X509_V_OK
                    ? gateway::auth::peer_identity(cert)
                    : Result<gateway::auth::PeerIdentity>(Error{401, "the client certificate did not verify"});
      if (!id) {
        std::lock_guard lock(stats_mu);
        ++stats.tls_handshake_failures;
        co_return;
      }
      peer = std::move(*id);
    }
    co_await serve(stream, peer ? &*peer : nullptr);
    arm(std::chrono::seconds(2));
    co_await stream->async_shutdown(asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
  }

  // The listener's TLS context from gateway.tls: TLS 1.2 or later, the certificate chain and its
  // key, and with client_ca the verification of client certificates (mutual TLS).
  Status setup_tls() {
    const policy::TlsConfig& t = *opts.tls;
    auto ossl_error = [] {
      unsigned long e = ERR_get_error();
      char buf[256] = {};
      if (e) ERR_error_string_n(e, buf, sizeof buf);
      ERR_clear_error();
      return std::string(e ? buf : "unknown OpenSSL error");
    };
    struct stat st {};
    if (::stat(t.key.c_str(), &st) != 0)
      return Error{2, fmt::format("gateway.tls.key: cannot read {}: {}", t.key, std::strerror(errno))};
    if (st.st_mode & (S_IRWXG | S_IRWXO))
      return Error{2, fmt::format("gateway.tls.key: {} is readable by group or others (mode {:o}); chmod 600 it",
                                  t.key, st.st_mode & 0777)};
    ssl.emplace(asio::ssl::context::tls_server);
    SSL_CTX* ctx = ssl->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, t.cert.c_str()) != 1)
      return Error{2, fmt::format("gateway.tls.cert: cannot load the certificate chain from {}: {}", t.cert, ossl_error())};
    if (SSL_CTX_use_PrivateKey_file(ctx, t.key.c_str(), SSL_FILETYPE_PEM) != 1)
      return Error{2, fmt::format("gateway.tls.key: cannot load the private key from {}: {}", t.key, ossl_error())};
    if (SSL_CTX_check_private_key(ctx) != 1)
      return Error{2, fmt::format("gateway.tls.key: {} is not the key of {}: {}", t.key, t.cert, ossl_error())};
    if (!t.client_ca.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, t.client_ca.c_str(), nullptr) != 1)
        return Error{2, fmt::format("gateway.tls.client_ca: cannot load {}: {}", t.client_ca, ossl_error())};
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(t.client_ca.c_str()))
        SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
      int mode = SSL_VERIFY_PEER;
      if (t.client_cert == policy::ClientCertMode::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(ctx, mode, nullptr);
      static const unsigned char k_sid[] = "mcp-warden-gateway";
      SSL_CTX_set_session_id_context(ctx, k_sid, sizeof k_sid - 1);
    }
    ERR_clear_error();
    return Ok{};
  }

  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        co_await backoff();  // EMFILE and the like: retrying at once would spin
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      if (ssl) asio::co_spawn(io, handle_tls(std::move(sock)), asio::detached);
      else asio::co_spawn(io, handle_plain(std::move(sock)), asio::detached);
    }
  }
};

HttpGateway::HttpGateway(HttpGatewayOptions options) : m_impl(std::make_unique<Impl>(std::move(options))) {}

HttpGateway::~HttpGateway() { stop(); }

Status HttpGateway::listen() {
  Impl& im = *m_impl;
  auto directory = gateway::AgentDirectory::build(im.opts.policy);
  if (!directory) return directory.error();
  im.agents = std::move(*directory);
  if (im.opts.tls)
    if (auto st = im.setup_tls(); !st.ok()) return st;
  auto colon = im.opts.listen.rfind(':');
  if (colon == std::string::npos) return Error{2, fmt::format("gateway.listen '{}' must be HOST:PORT", im.opts.listen)};
  std::string host = im.opts.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Error{2, fmt::format("gateway.listen: '{}' is not an IP address", host)};
  int port = std::atoi(im.opts.listen.c_str() + colon + 1);
  tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  im.acceptor.open(ep.protocol(), ec);
  if (!ec) im.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) im.acceptor.bind(ep, ec);
  if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{2, fmt::format("cannot listen on {}: {}", im.opts.listen, ec.message())};
  im.bound_port = im.acceptor.local_endpoint().port();
  im.listen_host = addr.is_loopback() ? "127.0.0.1" : host;
  if (!im.opts.admin_listen.empty()) {
    auto acolon = im.opts.admin_listen.rfind(':');
    std::string ahost = acolon == std::string::npos ? "" : im.opts.admin_listen.substr(0, acolon);
    auto aaddr = asio::ip::make_address(ahost == "localhost" ? "127.0.0.1" : ahost, ec);
    if (ec || acolon == std::string::npos)
      return Error{2, fmt::format("gateway.admin '{}' must be IP:PORT", im.opts.admin_listen)};
    tcp::endpoint aep(aaddr, static_cast<uint16_t>(std::atoi(im.opts.admin_listen.c_str() + acolon + 1)));
    im.admin_acceptor.open(aep.protocol(), ec);
    if (!ec) im.admin_acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) im.admin_acceptor.bind(aep, ec);
    if (!ec) im.admin_acceptor.listen(64, ec);
    if (ec) return Error{2, fmt::format("cannot listen on {} (admin): {}", im.opts.admin_listen, ec.message())};
    im.admin_bound = im.admin_acceptor.local_endpoint().port();
  }
  return Ok{};
}

uint16_t HttpGateway::admin_port() const { return m_impl->admin_bound; }

void HttpGateway::reload() {
  asio::post(m_impl->io, [im = m_impl.get()] {
    auto st = im->reload_policy();
    if (st.ok()) std::fprintf(stderr, "mcp-warden gateway: policy reloaded from %s (new sessions use it)\n", im->opts.policy_path.c_str());
    else std::fprintf(stderr, "mcp-warden gateway: reload refused: %s\n", st.error().message.c_str());
  });
}

uint16_t HttpGateway::port() const { return m_impl->bound_port; }

void HttpGateway::run() {
  Impl& im = *m_impl;
  asio::co_spawn(im.io, im.accept_loop(), asio::detached);
  asio::co_spawn(im.io, im.expire_idle_sessions(), asio::detached);
  asio::co_spawn(im.io, im.expire_requests(), asio::detached);
  if (im.admin_bound) asio::co_spawn(im.io, im.admin_accept_loop(), asio::detached);
  if (im.opts.audit) {
    im.audit_failures_before = im.opts.audit->stats().failures;
    im.opts.audit->set_flush_request([&im] { asio::post(im.io, [&im] { (void)im.audit_written(); }); });
  }
  im.io.run();
  // Stopped: end every session (its upstream is killed, pending requests recorded).
  auto sessions = im.sessions;
  for (auto& [id, s] : sessions) im.close_session(s, "was stopped with the gateway", true);
  if (im.opts.audit) {
    im.opts.audit->set_flush_request({});
    (void)im.audit_written();
  }
}

void HttpGateway::stop() { m_impl->io.stop(); }

HttpGatewayStats HttpGateway::stats() const {
  std::lock_guard lock(m_impl->stats_mu);
  return m_impl->stats;
}

}  // namespace warden::transport
