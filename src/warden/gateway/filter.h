// The filter chain, Envoy-style: a message travels one way through the filters of its session.
// Each filter returns Continue or Stop. Stop means the filter has decided for the message: it is
// not forwarded, and the error (if set) is answered to the sender of a request, failing closed. A
// stopped response with an error set is replaced by that error, so the requester is not left
// waiting.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warden/codec/message.h"
#include "warden/core/verdict.h"

namespace warden::gateway {

class Session;

enum class FilterStatus { Continue, Stop };

struct MessageContext {
  core::Direction direction = core::Direction::c2s;
  const codec::Message& message;
  Session& session;
  core::Decision decision = core::Decision::allow;
  std::vector<core::Finding> findings;
  // When a filter stops a request, the JSON-RPC error the sender gets. The processor writes it
  // after the audit record, adding {"decision", "rule", "audit_seq"} as the error's data.
  int error_code = 0;
  std::string error_message;  // one line, without the "mcp-warden: " prefix
  std::string rule;           // the policy rule or detector that decided, if any
  std::string method;         // for responses: the method of the request they answer
  std::string tool;           // tool name for the audit record (requests and their responses)
  // Set by a filter that rewrites a message it lets pass (a list with an item stripped, a result
  // with a secret redacted): the whole JSON-RPC message to forward instead of `message.raw`,
  // re-serialized from the checked tree (codec/json_edit.h). A later filter that rewrites again
  // must start from this text, not from `message`.
  std::optional<std::string> replacement;

  void stop_with_error(core::Decision d, int code, std::string message) {
    decision = d;
    error_code = code;
    error_message = std::move(message);
  }
};

class MessageFilter {
public:
  virtual ~MessageFilter() = default;
  virtual const char* name() const = 0;
  virtual FilterStatus on_message(MessageContext& ctx) = 0;
};

class FilterChain {
public:
  void add(std::unique_ptr<MessageFilter> f) { m_filters.push_back(std::move(f)); }
  // Runs the filters in order until one stops. Returns the status of the last filter run.
  FilterStatus run(MessageContext& ctx) {
    for (auto& f : m_filters)
      if (f->on_message(ctx) == FilterStatus::Stop) return FilterStatus::Stop;
    return FilterStatus::Continue;
  }

private:
  std::vector<std::unique_ptr<MessageFilter>> m_filters;
};

}  // namespace warden::gateway
