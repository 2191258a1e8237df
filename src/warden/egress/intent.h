// What the agent asked for: the identifiers (email addresses, URL hosts) in the arguments of the
// tools/call requests in flight for this server, the server's configured environment, and the
// policy's allowlist. The gateway thread records calls as they pass (gateway/intent_filter.h); the
// egress guard's thread asks whether an identifier found in an outbound request was asked for.
// Thread-safe (one mutex; both sides hold it for microseconds).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "warden/egress/identifiers.h"

namespace warden::egress {

class IntentBoard {
public:
  // Values every request may carry: the server's env (DEFAULT_SENDER_EMAIL...) and allowlists.
  void allow_always(std::string_view text);
  void begin_call(const std::string& key, const std::string& tool, std::string_view arguments_json);
  void end_call(const std::string& key);
  void clear();

  struct Judgement {
    bool call_in_flight = false;
    std::vector<std::string> tools;  // the calls in flight
  };
  Judgement snapshot() const;
  // True if `id` came from a call in flight or from the always-allowed values.
  bool asked_for(const Identifier& id) const;

private:
  struct Call {
    std::string tool;
    std::set<std::string> ids;  // "email:x@y", "host:h"
  };
  static std::set<std::string> ids_of(std::string_view text, bool json);
  mutable std::mutex m_mu;
  std::set<std::string> m_always;
  std::map<std::string, Call> m_calls;
};

}  // namespace warden::egress
