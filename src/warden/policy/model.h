// The compiled policy (DESIGN section 4, version 1): an immutable value shared by every session as
// std::shared_ptr<const Policy>, so that a reload only swaps the pointer.
//
// It is built in three stages, Falco-style (see loader.cpp):
//   1. read:    YAML text -> yaml-cpp node tree (syntax errors keep their line and column);
//   2. check:   walk the tree against the schema, collecting every error with file:line:column,
//               and build the plain values below (regexes compiled, patterns validated);
//   3. compile: index the rules for lookup, assign rate-limit slots, list what is not enforced.
// Errors of stages 1 and 2 are thrown as one LoadError; nothing after loading throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/policy/matchers.h"

namespace re2 {
class RE2;
}

namespace warden::policy {

enum class Mode { enforce, monitor };
enum class Action { allow, deny, approve };
enum class FsyncMode { always, batch, never };
enum class NetworkMode { transparent, proxy_env, none, host };
enum class PinMode { tofu, strict, off };
enum class ViolationAction { block, strip };
enum class Namespacing { automatic, always, never };
enum class SinkKind { stderr_sink, webhook, syslog, file };
enum class RuleKind { tool, prompt, resource };

const char* mode_name(Mode m); // "enforce" | "monitor"
const char* action_name(Action a);
const char* fsync_name(FsyncMode f);
const char* network_name(NetworkMode n); // "proxy-env" for proxy_env
const char* pin_name(PinMode p);
const char* violation_name(ViolationAction v);
const char* namespacing_name(Namespacing n); // "auto" for automatic
const char* sink_name(SinkKind k);           // "stderr" | "webhook" | "syslog" | "file"
const char* rule_kind_name(RuleKind k);      // "tool" | "prompt" | "resource"

// A 1-based place in the policy file; 0 when the value is a built-in default.
struct SourceLocation {
  int line = 0;
  int column = 0;
};

// ---- Loading ---------------------------------------------------------------------------------

struct LoadIssue {
  std::string file;
  int line = 0; // 1-based; 0 when the error has no place (an unreadable file)
  int column = 0;
  std::string message;           // "WHAT. FIX"
  std::string to_string() const; // "FILE:LINE:COLUMN: error: WHAT. FIX"
};

// Every error found while loading, in file order (the first 20). what() is one line per issue.
class LoadError : public std::runtime_error {
public:
  explicit LoadError(std::vector<LoadIssue> issues);
  const std::vector<LoadIssue>& issues() const { return m_issues; }

private:
  std::vector<LoadIssue> m_issues;
};

class Policy;
// Reads, checks and compiles a policy file. Throws LoadError.
std::shared_ptr<const Policy> load_policy_file(const std::string& path);
// The same from text; `name` stands for the file name in error messages.
std::shared_ptr<const Policy> load_policy_string(std::string_view yaml, const std::string& name);
// The YAML text of Policy::default_policy().
std::string_view default_policy_yaml();

// ---- Values ----------------------------------------------------------------------------------

struct AuditConfig {
  std::string path = "warden-audit.jsonl";
  FsyncMode fsync = FsyncMode::batch;
};

struct AlertSink {
  SinkKind kind = SinkKind::stderr_sink;
  std::string target; // webhook URL, syslog facility or file path; empty for stderr
};

struct AlertConfig {
  core::Severity alert_severity = core::Severity::high;
  std::vector<AlertSink> sinks{AlertSink{}}; // default: [stderr]
};

// A typed YAML scalar, compared with JSON values by `equals` and `one_of`. A quoted scalar is a
// string; a plain one is null, a boolean, an integer or a number when it reads as one.
struct Scalar {
  enum class Type { null, boolean, integer, number, string };
  Type type = Type::null;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;
  std::string text; // as written, for messages
};

struct RateLimit {
  uint32_t count = 0;    // calls allowed per period (also the burst)
  int64_t period_us = 0; // 1 s, 1 min or 1 h
  std::string text;      // as written: "60/min"
};

// The checks on one argument. Every matcher that is set must hold.
struct ArgMatcher {
  std::string name; // argument name
  std::string path; // servers.postmark.tools.sendEmail.args.to
  SourceLocation where;
  bool optional = false; // absent from the call is fine
  std::optional<Scalar> equals;
  std::optional<std::vector<Scalar>> one_of;
  std::shared_ptr<const re2::RE2> regex; // full match
  std::string regex_text;
  std::optional<uint64_t> max_length;
  std::optional<std::vector<std::string>> email_domain; // lowercase domains
  std::optional<std::vector<std::string>> path_under;   // normalised; relative ones as written
  std::optional<std::vector<HostPattern>> url_host;
};

struct Rule {
  std::string pattern; // tool or prompt name, resource URI; may hold '*'
  std::string path;    // servers.postmark.tools.sendEmail
  SourceLocation where;
  Action action = Action::allow;
  std::vector<ArgMatcher> args;
  std::optional<RateLimit> rate;
  size_t rate_slot = 0; // this rule's token bucket in an Evaluator, when `rate` is set
};

// The rules of one section (tools, prompts or resources) of one server, indexed for lookup:
// exact name first, then glob patterns (most literal characters first, then file order), then "*".
class RuleSet {
public:
  bool configured() const { return m_configured; } // the section is present in the policy
  const std::vector<Rule>& rules() const { return m_rules; }
  const std::string& path() const { return m_path; } // servers.postmark.tools
  const Rule* find(std::string_view name) const;     // nullptr: no rule, deny

  // Used while loading.
  void configure(std::string path) {
    m_configured = true;
    m_path = std::move(path);
  }
  Rule& add(Rule r) { return m_rules.emplace_back(std::move(r)); }
  // Indexes the rules and gives each rule with a rate the next slot from `first_slot`; returns
  // the slot after the last one used.
  size_t build_index(size_t first_slot);

private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  bool m_configured = false;
  std::string m_path;
  std::vector<Rule> m_rules;
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> m_exact;
  std::vector<size_t> m_globs;
  std::optional<size_t> m_star;
};

struct SecretRef {
  std::string from_env;
};

struct SandboxConfig {
  NetworkMode network = NetworkMode::transparent;
  std::optional<std::vector<std::string>> fs_read;  // absent: everywhere except secrets
  std::optional<std::vector<std::string>> fs_write; // absent: a private temp dir only
  std::optional<uint64_t> memory_mb, processes, open_files;
};

struct EgressInject {
  std::string header;
  std::string secret; // a key of the server's `secrets`
};

struct EgressRule {
  HostPattern host;
  std::string host_text;
  uint16_t port = 443;
  bool inspect = false;
  std::optional<EgressInject> inject;
  std::vector<std::string> correlate; // email | host | url
  ViolationAction on_violation = ViolationAction::block;
  std::string resolve;     // host:port, empty when unset
  std::string upstream_ca; // CA bundle path, empty when unset
  SourceLocation where;
};

// What happens to detector findings at runtime (`detectors:` under a server entry; see
// docs/policy.md and docs/detectors.md).
enum class ResultAction { record, redact, block };
const char* result_action_name(ResultAction a); // "record" | "redact" | "block"

struct DetectorConfig {
  // Metadata (tools/prompts/resources lists, initialize instructions): an item whose worst finding
  // is at or above `strip_at` is removed from the list and its calls are refused; at or above
  // `block_calls_at` it stays listed but its calls are refused. nullopt: never.
  std::optional<core::Severity> strip_at = core::Severity::high;
  std::optional<core::Severity> block_calls_at = core::Severity::high;
  // Results (tools/call, resources/read, prompts/get).
  ResultAction secrets = ResultAction::redact;
  ResultAction pii = ResultAction::record;
  ResultAction injection = ResultAction::block;
  core::Severity injection_at = core::Severity::high; // rule findings at or above count
  bool strip_hidden = true; // remove ANSI/control sequences and hidden Unicode from result text
};

struct ServerPolicy {
  std::string name;
  SourceLocation where;
  std::vector<std::string> command; // empty: the command comes from the command line
  std::string url;                  // remote upstream (Streamable HTTP), empty when unset
  // Headers the gateway sends to a remote upstream; values may name secrets as ${NAME}, filled in
  // from `secrets` by the gateway (agents' own credentials never go upstream).
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timeout_s = 0;            // how long a request may wait for its answer; 0: the gateway's default
  std::vector<std::pair<std::string, std::string>> env;
  std::map<std::string, SecretRef> secrets;
  std::optional<SandboxConfig> sandbox;          // absent: the safe default sandbox
  std::optional<std::vector<EgressRule>> egress; // absent or empty: deny all egress
  PinMode pins = PinMode::tofu;
  DetectorConfig detectors;
  core::Severity quarantine_at = core::Severity::critical;
  bool require_registry_approval = false;     // require_approval: true (the package, at start)
  std::vector<std::string> require_approval; // require_approval: [tool patterns] (a person, per call)
  RuleSet tools, prompts, resources;
  size_t rate_slots = 0; // number of rules with `rate` across the three sets

  const RuleSet& rules(RuleKind k) const {
    return k == RuleKind::tool ? tools : k == RuleKind::prompt ? prompts : resources;
  }
};

// gateway.tls: the listener speaks HTTPS (TLS 1.2+); with client_ca it asks for client
// certificates verified against that CA (mutual TLS).
enum class ClientCertMode { required, optional }; // required: no certificate, no handshake
struct TlsConfig {
  std::string cert, key;   // PEM files: the certificate chain and its private key
  std::string client_ca;   // PEM CA bundle for client certificates; empty: no mTLS
  ClientCertMode client_cert = ClientCertMode::required;
};

// How JWT bearer tokens are verified: gateway.auth.jwt, or an agent's own issuer/audience/jwks.
struct JwtVerifierConfig {
  std::string issuer, audience; // `iss` exactly; `aud` must contain the audience
  std::string jwks;             // a JWKS file, or an https:// URL fetched and refreshed
  int64_t clock_skew_s = 60;
  uint64_t max_token_bytes = 8192;
  std::string jwks_ca;          // with a URL: PEM CA bundle instead of the system trust store
  int64_t jwks_refresh_s = 600; // with a URL: how often the set is refetched (>= 30)
  bool operator==(const JwtVerifierConfig&) const = default;
};

struct GatewayConfig {
  std::string listen = "127.0.0.1:8080";
  std::string path = "/mcp";
  std::string admin = "127.0.0.1:8081";
  Namespacing namespacing = Namespacing::automatic;
  // per_session: every session starts its own servers; shared: the sessions of one agent share
  // one set (the gateway initializes it and multiplexes the sessions onto it).
  enum class Upstreams { per_session, shared } upstreams = Upstreams::per_session;
  std::optional<TlsConfig> tls;              // absent: plain HTTP
  std::optional<JwtVerifierConfig> auth_jwt; // gateway.auth.jwt: defaults for agents' jwt:
};

// An agent's JWT selector: the token must verify under `verifier` and match every field given.
struct AgentJwt {
  JwtVerifierConfig verifier;      // gateway.auth.jwt with the agent's overrides applied
  std::string subject, client_id;  // at least one of them is set
  std::vector<std::string> scopes; // every one must be granted
  bool operator==(const AgentJwt&) const = default;
};

// An agent's client-certificate selector: every field given must match the verified certificate.
struct AgentMtls {
  std::string subject, cn, uri, dns, email; // uri/dns/email: one of the certificate's SANs
  std::string fingerprint_sha256;           // 64 lowercase hex digits
  bool operator==(const AgentMtls&) const = default;
};

struct AgentConfig {
  std::string name;
  // Exactly one way to identify the agent:
  std::string api_key_sha256; // lowercase hex
  std::optional<AgentJwt> jwt;
  std::optional<AgentMtls> mtls;
  std::vector<std::string> servers;
  std::vector<std::string> tools;
};

// ---- The policy ------------------------------------------------------------------------------

class Policy {
public:
  // The built-in safe default, used when `run` has no --policy: mode enforce; audit to
  // warden-audit.jsonl with fsync batch; alerts at high to stderr; one server entry `default`
  // whose tools, prompts and resources "*" are allowed (tool names cannot be known in advance, so
  // the protection comes from the codec, the detectors, pins and the audit log, not from names).
  static std::shared_ptr<const Policy> default_policy();

  Mode mode() const { return m_mode; }
  const AuditConfig& audit() const { return m_audit; }
  const AlertConfig& alerts() const { return m_alerts; }
  const std::vector<ServerPolicy>& servers() const { return m_servers; }
  const std::optional<GatewayConfig>& gateway() const { return m_gateway; }
  const std::vector<AgentConfig>& agents() const { return m_agents; }
  const std::string& source() const { return m_source; } // file name, or "(built-in default)"

  // The entry called `name`, or nullptr.
  const ServerPolicy* find_server(std::string_view name) const;
  // The entry `run` uses: `name` if given (nullptr if there is no such entry); else the entry whose
  // `command` equals `argv`; else `default`; else the first entry. Never null when the policy has
  // servers and no name is given.
  const ServerPolicy* select_server(const std::string& name,
                                    const std::vector<std::string>& argv) const;

  // One human line per section that is parsed but not enforced yet, e.g.
  // "servers.postmark.egress: parsed, not yet enforced (egress guard lands with the sandbox)".
  std::vector<std::string> not_enforced() const { return m_not_enforced; }

private:
  friend class PolicyBuilder;
  Mode m_mode = Mode::enforce;
  AuditConfig m_audit;
  AlertConfig m_alerts;
  std::vector<ServerPolicy> m_servers;
  std::optional<GatewayConfig> m_gateway;
  std::vector<AgentConfig> m_agents;
  std::string m_source;
  std::vector<std::string> m_not_enforced;
};

} // namespace warden::policy
