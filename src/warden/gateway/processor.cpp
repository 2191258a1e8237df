#include "warden/gateway/processor.h"

#include <fmt/format.h>

#include "warden/alert/alerter.h"
#include "warden/audit/audit_log.h"
#include "warden/util/json_writer.h"

namespace warden::gateway {

using core::Direction;
using core::Finding;
using core::Severity;

namespace {

constexpr size_t k_max_pending = 65536;

audit::Kind record_kind(codec::Kind k) {
  switch (k) {
  case codec::Kind::request: return audit::Kind::request;
  case codec::Kind::notification: return audit::Kind::notification;
  default: return audit::Kind::response;
  }
}

// Length of the longest prefix of `s` not longer than `cap` that ends on a UTF-8 boundary.
size_t utf8_prefix(std::string_view s, size_t cap) {
  if (s.size() <= cap) return s.size();
  size_t n = cap;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

// The `data` of every JSON-RPC error the warden answers with.
std::string refusal_data(core::Decision d, std::string_view rule, uint64_t seq) {
  std::string data;
  util::JsonWriter w(data);
  w.begin_object();
  w.key("decision").string(core::decision_name(d));
  if (!rule.empty()) w.key("rule").string(rule);
  if (seq) w.key("audit_seq").integer(static_cast<int64_t>(seq));
  w.end_object();
  return data;
}

std::string json_string(std::string_view s) {
  std::string out;
  util::append_json_string(out, s);
  return out;
}

}  // namespace

std::string safe_excerpt(std::string_view bytes, size_t cap) {
  std::string out;
  size_t i = 0;
  while (i < bytes.size() && out.size() < cap) {
    auto c = static_cast<unsigned char>(bytes[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && i + len <= bytes.size();
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
    if (valid && len == 1 && c < 0x20 && c != '\t') valid = false;
    if (valid) {
      out.append(bytes.data() + i, len);
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  if (i < bytes.size()) out += fmt::format("...({} bytes)", bytes.size());
  return out;
}

std::string detail_excerpt(const codec::Message& m, size_t cap) {
  simdjson::dom::element el;
  bool have = false;
  if (m.method == "tools/call" || m.method == "prompts/get") {
    have = m.has_params && !m.params["arguments"].get(el);
  } else if (m.kind == codec::Kind::response) {
    el = m.result;
    have = m.has_result;
  } else if (m.kind == codec::Kind::error_response) {
    el = m.error;
    have = m.has_error;
  }
  if (!have) return {};
  if (m.raw.size() <= cap) return codec::serialize(el);
  std::string_view raw = m.raw;
  return json_string(std::string(raw.substr(0, utf8_prefix(raw, cap))) +
                     fmt::format("...(truncated, message was {} bytes)", raw.size()));
}

Processor::Processor(Session& session, FilterChain& chain, audit::AuditLog* audit,
                     alert::Alerter* alerter, const util::Clock& clock, codec::Limits limits)
    : m_session(session), m_chain(chain), m_audit(audit), m_alerter(alerter), m_clock(clock),
      m_decoder(limits) {}

Processor::~Processor() = default;

uint64_t Processor::record(const audit::Record& r) {
  for (const auto& f : r.findings) ++m_stats.findings[static_cast<size_t>(f.severity) % 5];
  if (!m_audit) return 0;
  return m_defer_audit ? m_audit->append_deferred(r) : m_audit->append(r);
}

void Processor::alert(const std::vector<Finding>& findings, const std::string& tool,
                      const std::string& method, uint64_t seq) {
  if (!m_alerter) return;
  for (const auto& f : findings) {
    alert::Alert a;
    a.finding = f;
    a.server = m_session.server();
    a.tool = tool;
    a.method = method;
    a.audit_seq = seq;
    a.ts_us = m_clock.now_unix_us();
    m_alerter->raise(a);
  }
}

void Processor::lifecycle(std::string_view event, std::string_view detail_json,
                          std::vector<Finding> findings) {
  audit::Record r;
  r.server = m_session.server();
  r.session = m_session.id();
  r.kind = audit::Kind::lifecycle;
  r.direction = Direction::c2s;
  r.method = std::string(event);
  r.decision = core::Decision::allow;
  r.findings = std::move(findings);
  if (!detail_json.empty()) r.detail = std::string(detail_json);
  uint64_t seq = record(r);
  alert(r.findings, {}, r.method, seq);
}

void Processor::refuse_line(Direction from, std::string_view line, const Error& err,
                            const codec::Id& id, Output& out) {
  ++m_stats.invalid;
  bool from_client = from == Direction::c2s;
  Finding f;
  bool non_json = err.code == codec::k_parse_error && !from_client;
  f.detector = non_json ? "codec.non_json_output" : "codec.invalid_message";
  f.severity = err.message.rfind("duplicate key", 0) == 0 ? Severity::high : Severity::medium;
  if (non_json) f.severity = Severity::low;
  f.message = fmt::format("{} from the {}: {}", non_json ? "dropped a non-JSON line" : "refused a message",
                          from_client ? "client" : "server", err.message);
  f.evidence = safe_excerpt(line, 200);

  audit::Record r;
  r.server = m_session.server();
  r.session = m_session.id();
  r.kind = from_client ? audit::Kind::request : audit::Kind::response;
  r.direction = from;
  if (id.type == codec::Id::Type::integer || id.type == codec::Id::Type::string) r.id = id.to_json();
  r.decision = core::Decision::block;
  r.findings = {f};
  r.detail = json_string(safe_excerpt(line, 512));
  uint64_t seq = record(r);
  alert(r.findings, {}, {}, seq);

  if (from_client) {
    // Answer so the client does not wait forever; the message never reaches the server.
    out.to_client += codec::make_error_response(
        id, err.code, fmt::format("mcp-warden: refused: {}", err.message),
        refusal_data(core::Decision::block, {}, seq));
    out.to_client += '\n';
  } else if (id.type != codec::Id::Type::null && id.type != codec::Id::Type::none) {
    // A broken answer to a client request: answer the client with an error in its place.
    auto it = m_session.pending_c2s().find(id.key());
    if (it != m_session.pending_c2s().end()) {
      m_session.pending_c2s().erase(it);
      out.to_client += codec::make_error_response(
          id, codec::k_internal_error,
          fmt::format("mcp-warden: the server's response was refused: {}", err.message),
          refusal_data(core::Decision::block, {}, seq));
      out.to_client += '\n';
    }
  } else {
    if (non_json) ++m_stats.dropped_non_json;
  }
}

void Processor::on_oversized(Direction from, size_t bytes, Output& out) {
  Error err{codec::k_invalid_request,
            fmt::format("message of at least {} bytes exceeds the limit of {} bytes",
                        bytes, m_decoder.limits().max_message_bytes)};
  refuse_line(from, {}, err, codec::Id{codec::Id::Type::null}, out);
}

void Processor::on_line(Direction from, std::string_view line, bool padded, Output& out) {
  auto decoded = m_decoder.decode(line, padded);
  on_decoded(from, line, decoded, m_decoder.failed_id(), out);
}

void Processor::on_decoded(Direction from, std::string_view line, const Result<codec::Decoded>& decoded,
                           const codec::Id& failed_id, Output& out) {
  if (!decoded) {
    refuse_line(from, line, decoded.error(), failed_id, out);
    return;
  }
  bool from_client = from == Direction::c2s;
  if (decoded->is_batch && !codec::batches_allowed(m_session.protocol_version())) {
    Error err{codec::k_invalid_request,
              fmt::format("JSON-RPC batches are not allowed in protocol version '{}' (only "
                          "2025-03-26 has them)",
                          m_session.protocol_version())};
    refuse_line(from, line, err, codec::Id{codec::Id::Type::null}, out);
    return;
  }
  if (!decoded->is_batch) {
    std::string unused_fwd, unused_reply;
    bool modified = false;
    on_message(from, decoded->messages[0], false, unused_fwd, unused_reply, modified, out);
    return;
  }
  // A batch: forward the members that pass as one batch, answer the refused ones as one batch.
  std::string forward = "[", reply = "[";
  bool modified = false;
  for (const auto& m : decoded->messages)
    on_message(from, m, true, forward, reply, modified, out);
  std::string& to_peer = from_client ? out.to_server : out.to_client;
  std::string& to_sender = from_client ? out.to_client : out.to_server;
  if (!modified) {
    to_peer.append(line);
    to_peer += '\n';
  } else if (forward.size() > 1) {
    forward += "]\n";
    to_peer += forward;
  }
  if (reply.size() > 1) {
    reply += "]\n";
    to_sender += reply;
  }
}

void Processor::on_message(Direction from, const codec::Message& m, bool in_batch,
                           std::string& forward_batch, std::string& reply_batch, bool& modified,
                           Output& out) {
  bool from_client = from == Direction::c2s;
  int64_t now = m_clock.now_mono_us();
  MessageContext ctx{from, m, m_session};
  ctx.tool = m.target;

  FilterStatus status = FilterStatus::Continue;
  std::optional<int64_t> latency;
  if (m.kind == codec::Kind::request) {
    auto& pending = m_session.pending(from_client);
    if (pending.count(m.id.key())) {
      ctx.findings.push_back({"codec.duplicate_id", Severity::medium,
                              "request id is already in use by a request in flight",
                              m.id.to_json()});
      ctx.stop_with_error(core::Decision::block, codec::k_invalid_request,
                          "refused: request id " + m.id.to_json() +
                              " is already in use by a request in flight");
      status = FilterStatus::Stop;
    } else if (pending.size() >= k_max_pending) {
      ctx.stop_with_error(core::Decision::block, codec::k_internal_error,
                          "refused: too many requests in flight");
      status = FilterStatus::Stop;
    }
  } else if (m.kind == codec::Kind::response || m.kind == codec::Kind::error_response) {
    // Match the answer to the request it answers (sent the other way).
    auto& pending = m_session.pending(!from_client);
    auto it = pending.find(m.id.key());
    if (it == pending.end()) {
      ctx.decision = core::Decision::block;
      ctx.findings.push_back({"codec.unmatched_response", Severity::low,
                              "response to no request in flight: dropped", m.id.to_json()});
      status = FilterStatus::Stop;
    } else {
      ctx.tool = it->second.tool;
      ctx.method = it->second.method;
      latency = now - it->second.start_us;
      if (it->second.method == "initialize" && !m.protocol_version.empty())
        m_session.set_protocol_version(m.protocol_version);
      pending.erase(it);
    }
  }
  if (status == FilterStatus::Continue) status = m_chain.run(ctx);

  if (status == FilterStatus::Continue) {
    if (m.kind == codec::Kind::request) {
      m_session.pending(from_client)[m.id.key()] = {m.method, m.target, now, m.id};
      if (from_client && !m.protocol_version.empty() &&
          (m.method == "initialize" || m_session.protocol_version().empty() ||
           codec::era_of(m.protocol_version) == codec::Era::sessionless))
        m_session.set_protocol_version(m.protocol_version);
    }
    ++m_stats.forwarded;
  } else {
    ++m_stats.blocked;
  }

  audit::Record r;
  r.server = m_session.server();
  r.session = m_session.id();
  r.agent = m_session.agent();
  r.kind = record_kind(m.kind);
  r.direction = from;
  r.method = m.method.empty() ? ctx.method : m.method;
  r.tool = ctx.tool;
  if (m.id.type != codec::Id::Type::none) r.id = m.id.to_json();
  r.decision = ctx.decision;
  r.findings = ctx.findings;
  r.latency_us = latency;
  r.detail = detail_excerpt(m);
  uint64_t seq = record(r);
  alert(ctx.findings, ctx.tool, r.method, seq);

  std::string& to_peer = from_client ? out.to_server : out.to_client;
  std::string& to_sender = from_client ? out.to_client : out.to_server;
  auto forward = [&](std::string_view text) {
    if (in_batch) {
      if (forward_batch.size() > 1) forward_batch += ',';
      forward_batch.append(text);
    } else {
      to_peer.append(text);
      to_peer += '\n';
    }
  };
  if (status == FilterStatus::Continue) {
    if (ctx.replacement) modified = true;
    forward(ctx.replacement ? std::string_view(*ctx.replacement) : m.raw);
    return;
  }
  modified = true;
  bool answer = m.kind == codec::Kind::request || m.kind == codec::Kind::response ||
                m.kind == codec::Kind::error_response;
  if (ctx.error_code == 0 || !answer) return;  // dropped silently
  std::string reply = codec::make_error_response(m.id, ctx.error_code,
                                                 "mcp-warden: " + ctx.error_message,
                                                 refusal_data(ctx.decision, ctx.rule, seq));
  if (m.kind != codec::Kind::request) {
    forward(reply);  // a refused answer: the requester gets the error in its place
    return;
  }
  if (in_batch) {
    if (reply_batch.size() > 1) reply_batch += ',';
    reply_batch += reply;
  } else {
    to_sender += reply;
    to_sender += '\n';
  }
}

void Processor::on_server_exit(const std::string& how, Output& out) {
  auto& pending = m_session.pending_c2s();
  for (auto& [key, req] : pending)
    answer_unanswered(req, codec::k_server_exited,
                      fmt::format("mcp-warden: the server {} before answering this {} request", how, req.method),
                      "lifecycle.server_exited", Severity::medium, std::nullopt, out);
  pending.clear();
}

void Processor::answer_unanswered(const PendingRequest& req, int code, const std::string& msg, const char* detector,
                                  Severity severity, std::optional<int64_t> latency_us, Output& out) {
  audit::Record r;
  r.server = m_session.server();
  r.session = m_session.id();
  r.kind = audit::Kind::response;
  r.direction = Direction::s2c;
  r.method = req.method;
  r.tool = req.tool;
  r.id = req.id.to_json();
  r.decision = core::Decision::block;
  r.latency_us = latency_us;
  r.findings = {{detector, severity, msg, {}}};
  uint64_t seq = record(r);
  out.to_client += codec::make_error_response(req.id, code, msg, refusal_data(core::Decision::block, {}, seq));
  out.to_client += '\n';
}

size_t Processor::expire_requests(int64_t now_us, int64_t timeout_us, Output& out) {
  auto& pending = m_session.pending_c2s();
  size_t n = 0;
  for (auto it = pending.begin(); it != pending.end();) {
    const PendingRequest& req = it->second;
    if (now_us - req.start_us < timeout_us || req.method == "initialize") {
      ++it;
      continue;
    }
    std::string msg = fmt::format("mcp-warden: server '{}' did not answer this {} request within {} s "
                                  "(servers.{}.timeout); it was cancelled",
                                  m_session.server(), req.method, timeout_us / 1000000, m_session.server());
    answer_unanswered(req, codec::k_upstream_timeout, msg, "lifecycle.upstream_timeout", Severity::low,
                      now_us - req.start_us, out);
    out.to_server += fmt::format(
        R"({{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{},"reason":"timed out in mcp-warden"}}}})",
        req.id.to_json());
    out.to_server += '\n';
    it = pending.erase(it);
    ++n;
  }
  return n;
}

}  // namespace warden::gateway
