// Per-connection state shared by the filters of one chain: who the peers are, which protocol
// era they negotiated, and which requests are in flight in each direction.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "warden/codec/codec.h"

namespace warden::gateway {

struct PendingRequest {
  std::string method;
  std::string tool;      // target for tools/call, prompts/get, resources/read
  int64_t start_us = 0;  // monotonic
  codec::Id id;
};

class Session {
public:
  Session(std::string server_name, std::string session_id)
      : m_server(std::move(server_name)), m_id(std::move(session_id)) {}

  const std::string& server() const { return m_server; }
  const std::string& id() const { return m_id; }
  const std::string& agent() const { return m_agent; }
  void set_agent(std::string a) { m_agent = std::move(a); }

  // The protocol revision: proposed by the client's initialize (or a 2026-07-28 _meta field),
  // settled by the server's initialize result.
  const std::string& protocol_version() const { return m_protocol_version; }
  void set_protocol_version(std::string v) { m_protocol_version = std::move(v); }
  codec::Era era() const { return codec::era_of(m_protocol_version); }

  // Requests sent by the client and not yet answered by the server, and the reverse.
  std::unordered_map<std::string, PendingRequest>& pending_c2s() { return m_pending_c2s; }
  std::unordered_map<std::string, PendingRequest>& pending_s2c() { return m_pending_s2c; }
  std::unordered_map<std::string, PendingRequest>& pending(bool from_client) {
    return from_client ? m_pending_c2s : m_pending_s2c;
  }

private:
  std::string m_server;
  std::string m_id;
  std::string m_agent;
  std::string m_protocol_version;
  std::unordered_map<std::string, PendingRequest> m_pending_c2s;
  std::unordered_map<std::string, PendingRequest> m_pending_s2c;
};

}  // namespace warden::gateway
