// The policy on the message path: one Evaluator per session decides each client->server request
// against the session's server entry. No exceptions escape, no regex is compiled, and the allow
// path allocates nothing beyond what a Verdict needs (nothing, for a plain allow).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/codec/message.h"
#include "warden/core/verdict.h"
#include "warden/policy/model.h"
#include "warden/util/clock.h"

namespace warden::policy {

// Finding detector ids.
inline constexpr const char* k_detector_denied = "policy.denied";               // medium
inline constexpr const char* k_detector_arg_violation = "policy.arg_violation"; // medium
inline constexpr const char* k_detector_rate_limited = "policy.rate_limited";   // low
inline constexpr const char* k_detector_approval = "policy.approval_required";  // info
inline constexpr const char* k_detector_internal = "policy.internal_error";     // high
inline constexpr int k_rpc_policy_blocked = -32001;
inline constexpr size_t k_evidence_max_bytes = 200;
inline constexpr const char* k_monitor_prefix = "monitor: would block: ";

struct Verdict {
  core::Decision decision = core::Decision::allow; // allow | block | approve
  std::vector<core::Finding> findings;
  std::string reason;       // one line for the JSON-RPC error message; empty on a plain allow
  std::string rule;         // the rule that decided, e.g. servers.postmark.tools.sendEmail.args.to
  int rpc_code = 0;         // -32001 whenever the request is not forwarded (block or approve)
  bool would_block = false; // monitor mode: the decision is allow, but enforce would not be
  const Rule* matched = nullptr; // the rule that matched the request, if any (owned by the policy)
};

class Evaluator {
public:
  // `server` must belong to `policy` (as returned by select_server); a null server blocks every
  // request the policy decides (fail closed). `mode_override` is `run --mode`. `cwd` is the
  // server's working directory for relative path_under values; empty means this process's.
  Evaluator(std::shared_ptr<const Policy> policy, const ServerPolicy* server,
            const util::Clock& clock, std::optional<Mode> mode_override = std::nullopt,
            std::string cwd = {});

  // For client->server requests. tools/call, prompts/get, resources/read and
  // resources/subscribe are decided by the rules; every other method is allowed.
  Verdict evaluate(const codec::Message& m);

  Mode mode() const { return m_mode; }
  const ServerPolicy* server() const { return m_server; }
  const Policy& policy() const { return *m_policy; }
  const std::string& cwd() const { return m_cwd; }

private:
  struct Bucket {
    int64_t tokens = -1; // in units of 1/period_us of a call; -1: full, not yet used
    int64_t last_us = 0;
  };
  struct Violation;

  Verdict decide(const codec::Message& m, RuleKind kind);
  bool check_args(const Rule& rule, std::string_view target, simdjson::dom::element args,
                  bool has_args, RuleKind kind, Verdict& v);
  bool check_value(const ArgMatcher& am, simdjson::dom::element value, Violation& out);
  bool check_string_list(const ArgMatcher& am, simdjson::dom::element value, Violation& out);
  bool check_path(const ArgMatcher& am, std::string_view s, Violation& out);
  bool take_token(const Rule& rule);
  Verdict finish(Verdict v) const;

  std::shared_ptr<const Policy> m_policy;
  const ServerPolicy* m_server;
  const util::Clock& m_clock;
  Mode m_mode;
  std::string m_cwd;
  std::vector<Bucket> m_buckets;
  // Scratch space reused across calls so the message path does not allocate.
  std::string m_scratch, m_scratch_dir;
  std::vector<std::string_view> m_parts;
};

} // namespace warden::policy
