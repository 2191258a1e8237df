// Loader errors: what a user sees, byte for byte (FILE:LINE:COLUMN: error: WHAT. FIX).
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace warden::policy {
namespace {

using testing::load_error;

TEST(PolicyLoader, UnknownKeySuggestsTheNearestOne) {
  EXPECT_EQ(load_error("version: 1\n"
                       "servers:\n"
                       "  postmark:\n"
                       "    command: [npx, -y, postmark-mcp]\n"
                       "    tools:\n"
                       "      sendEmail:\n"
                       "        acton: allow\n"),
            "p.yaml:7:9: error: unknown key 'acton' in servers.postmark.tools.sendEmail. Did you "
            "mean 'action'? Allowed keys: action, args, rate");
}

TEST(PolicyLoader, UnknownTopLevelKey) {
  EXPECT_EQ(load_error("version: 1\nverison: 1\nservers: {x: {}}\n"),
            "p.yaml:2:1: error: unknown key 'verison' at the top level. Did you mean 'version'? "
            "Allowed keys: version, mode, audit, alerts, servers, gateway, agents");
  EXPECT_EQ(load_error("version: 1\nservers: {x: {}}\nfoo: 1\n"),
            "p.yaml:3:1: error: unknown key 'foo' at the top level. Allowed keys: version, mode, "
            "audit, alerts, servers, gateway, agents");
}

TEST(PolicyLoader, UnknownKeysEverywhere) {
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    comand: [a]\n"),
            "p.yaml:4:5: error: unknown key 'comand' in servers.x. Did you mean 'command'? "
            "Allowed keys: command, url, headers, timeout, env, secrets, sandbox, egress, pins, "
            "on_finding, require_approval, tools, prompts, resources, detectors");
  EXPECT_EQ(
      load_error("version: 1\nservers:\n  x:\n    tools:\n      t: {args: {a: {regexp: x}}}\n"),
      "p.yaml:5:22: error: unknown key 'regexp' in servers.x.tools.t.args.a. Did you mean "
      "'regex'? Allowed keys: equals, one_of, regex, max_length, email_domain, path_under, "
      "url_host, optional");
  EXPECT_EQ(load_error("version: 1\naudit: {path: a, sync: always}\nservers: {x: {}}\n"),
            "p.yaml:2:18: error: unknown key 'sync' in audit. Did you mean 'fsync'? Allowed "
            "keys: path, fsync");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    sandbox: {fs: {exec: [/bin]}}\n"),
            "p.yaml:4:20: error: unknown key 'exec' in servers.x.sandbox.fs. Allowed keys: read, "
            "write");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    egress: [{host: a.com, prot: 443}]\n"),
            "p.yaml:4:28: error: unknown key 'prot' in servers.x.egress[0]. Did you mean 'port'? "
            "Allowed keys: host, port, inspect, inject, correlate, on_violation, resolve, "
            "upstream_ca");
  EXPECT_EQ(load_error("version: 1\nservers: {x: {}}\ngateway: {listen: '127.0.0.1:1', tsl: on}\n"),
            "p.yaml:3:34: error: unknown key 'tsl' in gateway. Allowed keys: "
            "listen, path, admin, namespace, upstreams, tls, auth");
}

TEST(PolicyLoader, Version) {
  EXPECT_EQ(
      load_error("servers: {x: {}}\n"),
      "p.yaml:1:1: error: missing 'version'. Add 'version: 1' as the first line of the policy");
  EXPECT_EQ(load_error("version: 2\nservers: {x: {}}\n"),
            "p.yaml:1:10: error: unsupported policy version '2'. This mcp-warden reads policy "
            "version 1; write 'version: 1'");
  EXPECT_EQ(load_error("version: [1]\nservers: {x: {}}\n"),
            "p.yaml:1:10: error: unsupported policy version a list. This mcp-warden reads policy "
            "version 1; write 'version: 1'");
  EXPECT_EQ(load_error("version: 1\nservers: {x: {}}\n"), "");
}

TEST(PolicyLoader, EmptyAndNonMappingDocuments) {
  EXPECT_EQ(load_error(""),
            "p.yaml:1:1: error: the policy is empty. Start it with 'version: 1' and a servers: "
            "section");
  EXPECT_EQ(load_error("- a\n- b\n"),
            "p.yaml:1:1: error: the policy must be a mapping (version, mode, servers...), got a "
            "list. Start it with 'version: 1'");
  EXPECT_EQ(load_error("version: 1\n"),
            "p.yaml:1:1: error: missing 'servers'. Add a servers: section with one entry per MCP "
            "server, e.g. servers: {default: {tools: {\"*\": {action: allow}}}}");
  EXPECT_EQ(load_error("version: 1\nservers: {}\n"),
            "p.yaml:2:10: error: servers is empty. Add one entry per MCP server, e.g. servers: "
            "{default: {tools: {\"*\": {action: allow}}}}");
  EXPECT_EQ(load_error("version: 1\nservers: {x: {}}\n---\nversion: 1\n"),
            "p.yaml:3:1: error: the policy has more than one YAML document. Keep one document (no "
            "'---' lines)");
}

TEST(PolicyLoader, YamlSyntaxErrorsHaveFileLineColumn) {
  EXPECT_EQ(load_error("version: 1\nservers:\n  x: {tools: [1\n"),
            "p.yaml:4:1: error: YAML syntax error: end of sequence flow not found. Check the "
            "indentation, colons and quoting at this place");
  EXPECT_EQ(
      load_error("version: 1\nmode: a: b\n"),
      "p.yaml:2:8: error: YAML syntax error: illegal map value. Check the indentation, colons "
      "and quoting at this place");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    - a\n   - b\n"),
            "p.yaml:5:4: error: YAML syntax error: end of map not found. Check the indentation, "
            "colons and quoting at this place");
}

TEST(PolicyLoader, InputsThatHangYamlCppLoadAllAreSyntaxErrors) {
  // yaml-cpp 0.7's LoadAll never returns on these (found by mutating the case policies).
  EXPECT_EQ(load_error(",serrs:\xc1{}}\n"),
            "p.yaml:1:1: error: YAML syntax error: unexpected character. Check the indentation, "
            "colons and quoting at this place");
  EXPECT_EQ(load_error("version: 1\n---\n,x: {}}\n"),
            "p.yaml:3:1: error: YAML syntax error: unexpected character. Check the indentation, "
            "colons and quoting at this place");
}

TEST(PolicyLoader, BadEnumValues) {
  EXPECT_EQ(load_error("version: 1\nmode: enforcing\nservers: {x: {}}\n"),
            "p.yaml:2:7: error: bad value 'enforcing' for mode. Use one of: enforce, monitor");
  EXPECT_EQ(load_error("version: 1\nmode: monitr\nservers: {x: {}}\n"),
            "p.yaml:2:7: error: bad value 'monitr' for mode. Did you mean 'monitor'? Use one of: "
            "enforce, monitor");
  EXPECT_EQ(load_error("version: 1\naudit: {fsync: sometimes}\nservers: {x: {}}\n"),
            "p.yaml:2:16: error: bad value 'sometimes' for audit.fsync. Use one of: always, batch, "
            "never");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    tools: {t: {action: alow}}\n"),
            "p.yaml:4:25: error: bad value 'alow' for servers.x.tools.t.action. Did you mean "
            "'allow'? Use one of: allow, deny, approve");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    sandbox: {network: bridged}\n"),
            "p.yaml:4:24: error: bad value 'bridged' for servers.x.sandbox.network. Use one of: "
            "transparent, proxy-env, none, host");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    pins: maybe\n"),
            "p.yaml:4:11: error: bad value 'maybe' for servers.x.pins. Use one of: tofu, strict, "
            "off");
  EXPECT_EQ(
      load_error("version: 1\nservers:\n  x:\n    egress: [{host: a.com, on_violation: drop}]\n"),
      "p.yaml:4:42: error: bad value 'drop' for servers.x.egress[0].on_violation. Use one of: "
      "block, strip");
}

TEST(PolicyLoader, BadSeverities) {
  EXPECT_EQ(load_error("version: 1\nalerts: {alert_severity: hi}\nservers: {x: {}}\n"),
            "p.yaml:2:26: error: bad severity 'hi' for alerts.alert_severity. Use one of: info, "
            "low, medium, high, critical");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    on_finding: {quarantine_at: hgh}\n"),
            "p.yaml:4:33: error: bad severity 'hgh' for servers.x.on_finding.quarantine_at. Did "
            "you mean 'high'? Use one of: info, low, medium, high, critical");
}

TEST(PolicyLoader, WrongTypes) {
  EXPECT_EQ(load_error("version: 1\nservers: [a]\n"),
            "p.yaml:2:10: error: servers must be a mapping of server names to entries, got a list. "
            "Write it as servers: {postmark: {command: [npx, -y, postmark-mcp]}}");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    command: npx -y pkg\n"),
            "p.yaml:4:14: error: servers.x.command must be a list of strings, got a scalar. Write "
            "it as [npx, -y, postmark-mcp]");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    command: []\n"),
            "p.yaml:4:14: error: servers.x.command is an empty list. List at least one value, e.g. "
            "[npx, -y, postmark-mcp]");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    tools: {t: deny}\n"),
            "p.yaml:4:16: error: servers.x.tools.t must be a mapping, got the scalar 'deny'. Write "
            "it as {action: deny}");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    tools: [a, b]\n"),
            "p.yaml:4:12: error: servers.x.tools must be a mapping of names to rules, got a list. "
            "Write it as {sendEmail: {action: allow}, \"*\": {action: deny}}");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    egress: [{host: a.com, inspect: yes}]\n"),
            "p.yaml:4:37: error: servers.x.egress[0].inspect must be true or false, got 'yes'. "
            "Write true or false");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    sandbox: {limits: {memory_mb: -5}}\n"),
            "p.yaml:4:35: error: servers.x.sandbox.limits.memory_mb must be a whole number from 1 "
            "to 1048576, got '-5'. Write a number like 512");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    env: {A: [1]}\n"),
            "p.yaml:4:14: error: servers.x.env.A must be a string, got a list. Write it as VALUE");
  // A null value points at its key.
  EXPECT_EQ(load_error("version: 1\naudit:\n  path:\nservers: {x: {}}\n"),
            "p.yaml:3:3: error: audit.path must be a string, got nothing (null). Write it as path: "
            "warden-audit.jsonl");
}

TEST(PolicyLoader, DuplicateKeys) {
  EXPECT_EQ(load_error("version: 1\nservers:\n  x: {}\n  x: {}\n"),
            "p.yaml:4:3: error: duplicate key 'x' in servers (first at line 3). Keep only one of "
            "them");
  EXPECT_EQ(load_error("version: 1\nversion: 1\nservers: {x: {}}\n"),
            "p.yaml:2:1: error: duplicate key 'version' at the top level (first at line 1). Keep "
            "only one of them");
}

TEST(PolicyLoader, RateLimits) {
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    tools: {t: {rate: 5/day}}\n"),
            "p.yaml:4:23: error: bad rate '5/day' for servers.x.tools.t.rate. Write N/sec, N/min "
            "or N/hour with N from 1 to 1000000, e.g. 60/min");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    tools: {t: {rate: 0/min}}\n"),
            "p.yaml:4:23: error: bad rate '0/min' for servers.x.tools.t.rate. Write N/sec, N/min "
            "or N/hour with N from 1 to 1000000, e.g. 60/min");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    tools: {t: {rate: 60}}\n"),
            "p.yaml:4:23: error: bad rate '60' for servers.x.tools.t.rate. Write N/sec, N/min or "
            "N/hour with N from 1 to 1000000, e.g. 60/min");
  auto p = load_policy_string(
      "version: 1\nservers:\n  x:\n    tools: {a: {rate: 2/sec}, b: {rate: 3/min}, c: {}}\n"
      "    prompts: {p: {rate: 1/hour}}\n",
      "p.yaml");
  const ServerPolicy& s = p->servers().front();
  EXPECT_EQ(s.rate_slots, 3u);
  EXPECT_EQ(s.tools.find("a")->rate->count, 2u);
  EXPECT_EQ(s.tools.find("a")->rate->period_us, 1'000'000);
  EXPECT_EQ(s.tools.find("b")->rate->period_us, 60'000'000);
  EXPECT_EQ(s.prompts.find("p")->rate->period_us, 3'600'000'000);
  EXPECT_EQ(s.prompts.find("p")->rate_slot, 2u);
  EXPECT_FALSE(s.tools.find("c")->rate.has_value());
}

TEST(PolicyLoader, RegexCompileErrorsAtTheirLineAndColumn) {
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    tools:\n      t:\n        args:\n"
                       "          id: {regex: '(abc'}\n"),
            "p.yaml:7:23: error: bad regex for servers.x.tools.t.args.id.regex: missing ): (abc. "
            "Fix the pattern (RE2 syntax: no backreferences or lookaround); it must match the "
            "whole value");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    tools:\n      t:\n        args:\n"
                       "          id: {regex: '(a)\\1'}\n"),
            "p.yaml:7:23: error: bad regex for servers.x.tools.t.args.id.regex: invalid escape "
            "sequence: \\1. Fix the pattern (RE2 syntax: no backreferences or lookaround); it must "
            "match the whole value");
}

TEST(PolicyLoader, MatcherValuesAreValidated) {
  const char* head = "version: 1\nservers:\n  x:\n    tools:\n      t:\n        args:\n";
  EXPECT_EQ(load_error(std::string(head) + "          a: {email_domain: ['@example.com']}\n"),
            "p.yaml:7:29: error: bad domain '@example.com' for "
            "servers.x.tools.t.args.a.email_domain. Write the domain without '@': example.com");
  EXPECT_EQ(load_error(std::string(head) + "          a: {email_domain: ['*.example.com']}\n"),
            "p.yaml:7:29: error: bad domain '*.example.com' for "
            "servers.x.tools.t.args.a.email_domain. Subdomains are always included; write "
            "'example.com'");
  EXPECT_EQ(load_error(std::string(head) + "          a: {email_domain: []}\n"),
            "p.yaml:7:29: error: servers.x.tools.t.args.a.email_domain is an empty list. List at "
            "least one value, e.g. [example.com]");
  EXPECT_EQ(load_error(std::string(head) + "          a: {url_host: ['https://example.com/']}\n"),
            "p.yaml:7:25: error: bad host 'https://example.com/' for "
            "servers.x.tools.t.args.a.url_host: a host is letters, digits, '-', '_' and dots, "
            "without scheme, port, path or user. Write the host only: example.com");
  EXPECT_EQ(load_error(std::string(head) + "          a: {path_under: ['~/docs']}\n"),
            "p.yaml:7:27: error: bad directory '~/docs' for servers.x.tools.t.args.a.path_under: "
            "'~' is not expanded by the warden. Write an absolute path like /srv/data, or one "
            "relative to the server's working directory");
  EXPECT_EQ(load_error(std::string(head) + "          a: {max_length: lots}\n"),
            "p.yaml:7:27: error: servers.x.tools.t.args.a.max_length must be a whole number from 0 "
            "to 1099511627776, got 'lots'. Write a number like 1000");
  EXPECT_EQ(load_error(std::string(head) + "          a: {one_of: []}\n"),
            "p.yaml:7:23: error: servers.x.tools.t.args.a.one_of is an empty list. Write it as "
            "[outbound, broadcast]");
  EXPECT_EQ(load_error(std::string(head) + "          a: {equals: {x: 1}}\n"),
            "p.yaml:7:23: error: servers.x.tools.t.args.a.equals must be a single value, got a "
            "mapping. Write a string, number, true/false or null; use one_of for a list");
  EXPECT_EQ(load_error(std::string(head) + "          a: {optional: maybe}\n"),
            "p.yaml:7:25: error: servers.x.tools.t.args.a.optional must be true or false, got "
            "'maybe'. Write true or false");
}

TEST(PolicyLoader, ResourceRulesTakeNoArgs) {
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    resources:\n"
                       "      \"file:///docs/*\": {args: {a: {}}}\n"),
            "p.yaml:5:26: error: servers.x.resources[\"file:///docs/*\"].args is not allowed: "
            "resources have no arguments. resources/read and resources/subscribe carry only the "
            "URI, which the rule's pattern matches; remove args");
}

TEST(PolicyLoader, CrossReferences) {
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    egress:\n"
                       "      - {host: a.com, inject: {header: X-T, secret: NOPE}}\n"),
            "p.yaml:5:53: error: servers.x.egress injects secret 'NOPE', which is not declared. "
            "Declare it under servers.x.secrets, e.g. NOPE: {from_env: REAL_NOPE}");
  EXPECT_EQ(load_error("agents:\n  bot: {api_key_sha256: " + std::string(64, 'a') +
                       ", servers: [nope]}\nversion: 1\nservers: {x: {}}\n"),
            "p.yaml:2:101: error: agents.bot.servers[0] names server 'nope', which is not defined. "
            "Add it under servers: or fix the name");
  EXPECT_EQ(
      load_error("version: 1\nservers:\n  x:\n    command: [a]\n    url: https://h.com/mcp\n"),
      "p.yaml:5:5: error: servers.x has both command and url. A server is either a local "
      "command or a remote URL; remove one of them");
}

TEST(PolicyLoader, BadNames) {
  EXPECT_EQ(load_error("version: 1\nservers:\n  a__b: {}\n"),
            "p.yaml:3:3: error: bad server name 'a__b'. Use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit, without '__' (it separates server and tool names), "
            "at most 64 characters");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    env: {1BAD: v}\n"),
            "p.yaml:4:11: error: bad environment variable name '1BAD'. Use letters, digits and "
            "'_', not starting with a digit");
}

TEST(PolicyLoader, AlertSinks) {
  EXPECT_EQ(load_error("version: 1\nalerts: {sinks: [email]}\nservers: {x: {}}\n"),
            "p.yaml:2:18: error: unknown alert sink 'email' in alerts.sinks[0]. A sink is stderr, "
            "{webhook: URL}, {syslog: FACILITY} or {file: PATH}");
  EXPECT_EQ(
      load_error("version: 1\nalerts: {sinks: [{webhook: 'ftp://x.com'}]}\nservers: {x: {}}\n"),
      "p.yaml:2:28: error: alerts.sinks[0].webhook is not an http(s) URL: the scheme must be "
      "http or https. Write it as https://host/path");
  EXPECT_EQ(load_error("version: 1\nalerts: {sinks: [{syslog: local9}]}\nservers: {x: {}}\n"),
            "p.yaml:2:27: error: bad value 'local9' for alerts.sinks[0].syslog. Did you mean "
            "'local0'? Use one of: user, daemon, auth, authpriv, local0, local1, local2, local3, "
            "local4, local5, local6, local7");
  EXPECT_EQ(
      load_error("version: 1\nalerts: {sinks: [{file: a, syslog: user}]}\nservers: {x: {}}\n"),
      "p.yaml:2:18: error: alerts.sinks[0] must be stderr or a mapping with one key, got "
      "several keys. Write it as [stderr, {webhook: https://hooks.example.com/x}, {syslog: "
      "local0}, {file: alerts.jsonl}]");
}

TEST(PolicyLoader, AllErrorsOfAFileAreReportedInOrder) {
  std::string e = load_error("version: 1\nmode: x\naudit: {fsync: y}\nservers:\n  s:\n"
                             "    tools: {t: {action: z}}\n");
  EXPECT_EQ(e,
            "p.yaml:2:7: error: bad value 'x' for mode. Use one of: enforce, monitor\n"
            "p.yaml:3:16: error: bad value 'y' for audit.fsync. Use one of: always, batch, never\n"
            "p.yaml:6:25: error: bad value 'z' for servers.s.tools.t.action. Use one of: allow, "
            "deny, approve");
  try {
    load_policy_string("version: 1\nmode: x\n", "q.yaml");
    FAIL() << "loaded";
  } catch (const LoadError& err) {
    ASSERT_EQ(err.issues().size(), 2u);
    EXPECT_EQ(err.issues()[0].line, 1);
    EXPECT_EQ(err.issues()[1].line, 2);
    EXPECT_EQ(err.issues()[1].column, 7);
    EXPECT_EQ(err.issues()[1].file, "q.yaml");
  }
}

TEST(PolicyLoader, AliasBombsAndUnknownTagsAreRefused) {
  std::string bomb = "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'h'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i)
      bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = c;
  }
  std::string e = load_error(bomb);
  EXPECT_NE(e.find("error: the policy has more than 200000 YAML nodes"), std::string::npos) << e;
  EXPECT_EQ(load_error("version: 1\nservers: {x: !custom {}}\n"),
            "p.yaml:2:14: error: unsupported YAML tag '!custom'. Remove the tag");
}

TEST(PolicyLoader, FileErrors) {
  try {
    load_policy_file("/nonexistent/p.yaml");
    FAIL() << "loaded";
  } catch (const LoadError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/p.yaml: error: cannot read the policy file (No such file "
                           "or directory). Check the path");
  }
  std::string path = ::testing::TempDir() + "policy_loader_test.yaml";
  {
    std::ofstream out(path);
    out << "version: 1\nservers:\n  x:\n    tools: {t: {action: nope}}\n";
  }
  try {
    load_policy_file(path);
    FAIL() << "loaded";
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":4:25: error: bad value 'nope' for servers.x.tools.t.action. Use one of: "
                     "allow, deny, approve");
  }
  std::remove(path.c_str());
}

TEST(PolicyLoader, TheDesignExampleLoadsWithEveryKey) {
  const char* yaml = R"(version: 1
mode: monitor
audit:
  path: audit.jsonl
  fsync: always
alerts:
  alert_severity: medium
  sinks: [stderr, {webhook: "https://hooks.example.com/x"}, {syslog: local0}, {file: alerts.jsonl}]
servers:
  postmark:
    command: [npx, -y, postmark-mcp]
    env: {DEFAULT_SENDER_EMAIL: ops@example.com, DEFAULT_MESSAGE_STREAM: outbound}
    secrets:
      POSTMARK_SERVER_TOKEN: {from_env: REAL_POSTMARK_TOKEN}
    sandbox:
      network: transparent
      fs: {read: [.], write: [/tmp]}
      limits: {memory_mb: 512, processes: 64, open_files: 256}
    egress:
      - host: api.postmarkapp.com
        port: 443
        inspect: true
        inject: {header: X-Postmark-Server-Token, secret: POSTMARK_SERVER_TOKEN}
        correlate: [email]
        on_violation: block
        resolve: 127.0.0.1:8443
        upstream_ca: ca.pem
    pins: strict
    on_finding: {quarantine_at: high}
    require_approval: [sendEmail]
    tools:
      sendEmail:
        action: allow
        args:
          to: {email_domain: [example.com]}
          textBody: {max_length: 100000}
        rate: 60/min
      "*": {action: allow}
    prompts: {"*": {action: allow}}
    resources: {"file:///docs/*": {action: allow}}
  remote:
    url: https://mcp.example.com/mcp
gateway:
  listen: 127.0.0.1:8080
  path: /mcp
  admin: 127.0.0.1:8081
  namespace: auto
agents:
  ci-bot: {api_key_sha256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881", servers: [postmark], tools: [sendEmail]}
)";
  auto p = load_policy_string(yaml, "design.yaml");
  EXPECT_EQ(p->mode(), Mode::monitor);
  EXPECT_EQ(p->audit().path, "audit.jsonl");
  EXPECT_EQ(p->audit().fsync, FsyncMode::always);
  EXPECT_EQ(p->alerts().alert_severity, core::Severity::medium);
  ASSERT_EQ(p->alerts().sinks.size(), 4u);
  EXPECT_EQ(p->alerts().sinks[1].kind, SinkKind::webhook);
  EXPECT_EQ(p->alerts().sinks[2].target, "local0");
  EXPECT_EQ(p->alerts().sinks[3].target, "alerts.jsonl");
  ASSERT_EQ(p->servers().size(), 2u);
  const ServerPolicy& s = p->servers()[0];
  EXPECT_EQ(s.name, "postmark");
  EXPECT_EQ(s.command, (std::vector<std::string>{"npx", "-y", "postmark-mcp"}));
  ASSERT_EQ(s.env.size(), 2u);
  EXPECT_EQ(s.env[0].first, "DEFAULT_SENDER_EMAIL");
  EXPECT_EQ(s.secrets.at("POSTMARK_SERVER_TOKEN").from_env, "REAL_POSTMARK_TOKEN");
  ASSERT_TRUE(s.sandbox.has_value());
  EXPECT_EQ(s.sandbox->network, NetworkMode::transparent);
  EXPECT_EQ(*s.sandbox->fs_write, std::vector<std::string>{"/tmp"});
  EXPECT_EQ(*s.sandbox->memory_mb, 512u);
  ASSERT_TRUE(s.egress.has_value());
  ASSERT_EQ(s.egress->size(), 1u);
  const EgressRule& e = s.egress->front();
  EXPECT_EQ(e.host.host, "api.postmarkapp.com");
  EXPECT_TRUE(e.inspect);
  EXPECT_EQ(e.inject->secret, "POSTMARK_SERVER_TOKEN");
  EXPECT_EQ(e.correlate, std::vector<std::string>{"email"});
  EXPECT_EQ(e.resolve, "127.0.0.1:8443");
  EXPECT_EQ(s.pins, PinMode::strict);
  EXPECT_EQ(s.quarantine_at, core::Severity::high);
  EXPECT_EQ(s.require_approval, std::vector<std::string>{"sendEmail"});
  const Rule* r = s.tools.find("sendEmail");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->path, "servers.postmark.tools.sendEmail");
  EXPECT_EQ(r->where.line, 32);
  ASSERT_EQ(r->args.size(), 2u);
  EXPECT_EQ(r->args[0].path, "servers.postmark.tools.sendEmail.args.to");
  EXPECT_EQ(*r->args[0].email_domain, std::vector<std::string>{"example.com"});
  EXPECT_EQ(*r->args[1].max_length, 100000u);
  EXPECT_EQ(p->servers()[1].url, "https://mcp.example.com/mcp");
  ASSERT_TRUE(p->gateway().has_value());
  EXPECT_EQ(p->gateway()->namespacing, Namespacing::automatic);
  ASSERT_EQ(p->agents().size(), 1u);
  EXPECT_EQ(p->agents()[0].servers, std::vector<std::string>{"postmark"});

  // Adjacent literals below are one expected line each, split for the column limit.
  // NOLINTBEGIN(bugprone-suspicious-missing-comma)
  EXPECT_EQ(p->not_enforced(),
            (std::vector<std::string>{
                "gateway: used by `mcp-warden gateway` only; `run` ignores it",
                "agents: used by `mcp-warden gateway` only; `run` ignores it"}));
  // NOLINTEND(bugprone-suspicious-missing-comma)
}

TEST(PolicyLoader, RemoteHeadersTimeoutAndApprovals) {
  auto p = load_policy_string("version: 1\nservers:\n  gh:\n    url: https://mcp.example.com/mcp\n"
                              "    headers: {Authorization: \"Bearer ${GH_TOKEN}\", X-Team: ops}\n"
                              "    secrets: {GH_TOKEN: {from_env: REAL_GH}}\n    timeout: 2m\n"
                              "    require_approval: [\"delete_*\"]\n  local:\n    command: [x]\n"
                              "    require_approval: true\n",
                              "p.yaml");
  const ServerPolicy& gh = p->servers()[0];
  ASSERT_EQ(gh.headers.size(), 2u);
  EXPECT_EQ(gh.headers[0], (std::pair<std::string, std::string>{"Authorization", "Bearer ${GH_TOKEN}"}));
  EXPECT_EQ(gh.timeout_s, 120);
  EXPECT_EQ(gh.require_approval, std::vector<std::string>{"delete_*"});
  EXPECT_FALSE(gh.require_registry_approval);
  EXPECT_TRUE(p->servers()[1].require_registry_approval);
  EXPECT_TRUE(p->servers()[1].require_approval.empty());

  EXPECT_EQ(load_error("version: 1\nservers:\n  gh:\n    url: https://x.example/mcp\n"
                       "    headers: {Authorization: \"Bearer ${NOPE}\"}\n"),
            "p.yaml:5:30: error: servers.gh.headers names secret 'NOPE', which is not declared. "
            "Declare it under servers.gh.secrets, e.g. NOPE: {from_env: NOPE}");
  EXPECT_EQ(load_error("version: 1\nservers:\n  gh:\n    url: https://x.example/mcp\n"
                       "    headers: {Mcp-Session-Id: x}\n"),
            "p.yaml:5:15: error: servers.gh.headers: 'Mcp-Session-Id' cannot be set here. Use a "
            "header name of letters, digits and '-'; the gateway sets Host, Content-Length and "
            "the MCP headers itself");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    command: [a]\n    headers: {A: b}\n"),
            "p.yaml:3:3: error: servers.x.headers needs url. headers are sent to a remote upstream "
            "(url:); a local command gets env and secrets");
  auto shared = load_policy_string("version: 1\nservers: {x: {command: [a]}}\ngateway: {upstreams: shared}\n", "p.yaml");
  EXPECT_EQ(shared->gateway()->upstreams, GatewayConfig::Upstreams::shared);
  EXPECT_EQ(load_error("version: 1\nservers: {x: {command: [a]}}\ngateway: {upstreams: pooled}\n"),
            "p.yaml:3:22: error: bad value 'pooled' for gateway.upstreams. Use one of: per_session, shared");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    command: [a]\n    timeout: soon\n"),
            "p.yaml:5:14: error: servers.x.timeout must be a duration from 0 to 86400s, got "
            "'soon'. Write it as 60s, 5m or 1h");
}

TEST(PolicyLoader, Detectors) {
  auto p = load_policy_string("version: 1\nservers:\n  x:\n    detectors:\n"
                              "      metadata: {strip_at: critical, block_calls_at: never}\n"
                              "      results: {secrets: block, pii: redact, injection: record,\n"
                              "                injection_at: medium, strip_hidden: false}\n",
                              "p.yaml");
  const DetectorConfig& d = p->servers()[0].detectors;
  EXPECT_EQ(d.strip_at, core::Severity::critical);
  EXPECT_FALSE(d.block_calls_at.has_value());
  EXPECT_EQ(d.secrets, ResultAction::block);
  EXPECT_EQ(d.pii, ResultAction::redact);
  EXPECT_EQ(d.injection, ResultAction::record);
  EXPECT_EQ(d.injection_at, core::Severity::medium);
  EXPECT_FALSE(d.strip_hidden);
  // Defaults are the safe ones.
  const DetectorConfig& def = Policy::default_policy()->servers()[0].detectors;
  EXPECT_EQ(def.strip_at, core::Severity::high);
  EXPECT_EQ(def.secrets, ResultAction::redact);
  EXPECT_EQ(def.injection, ResultAction::block);
  EXPECT_TRUE(def.strip_hidden);

  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    detectors: {metadata: {strip_at: hgh}}\n"),
            "p.yaml:4:38: error: bad threshold 'hgh' for servers.x.detectors.metadata.strip_at. "
            "Did you mean 'high'? Use one of: info, low, medium, high, critical, never");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    detectors: {results: {secret: redact}}\n"),
            "p.yaml:4:27: error: unknown key 'secret' in servers.x.detectors.results. Did you mean "
            "'secrets'? Allowed keys: secrets, pii, injection, injection_at, strip_hidden");
  EXPECT_EQ(load_error("version: 1\nservers:\n  x:\n    detectors: {results: {pii: hide}}\n"),
            "p.yaml:4:32: error: bad value 'hide' for servers.x.detectors.results.pii. Use one of: "
            "record, redact, block");
}

TEST(PolicyLoader, NullSectionsAreEmpty) {
  auto p =
      load_policy_string("version: 1\naudit:\nalerts:\nservers:\n  x:\n    tools:\n", "p.yaml");
  EXPECT_EQ(p->audit().path, "warden-audit.jsonl");
  EXPECT_EQ(p->audit().fsync, FsyncMode::batch);
  EXPECT_EQ(p->alerts().alert_severity, core::Severity::high);
  ASSERT_EQ(p->alerts().sinks.size(), 1u);
  EXPECT_EQ(p->alerts().sinks[0].kind, SinkKind::stderr_sink);
  const ServerPolicy& s = p->servers()[0];
  EXPECT_TRUE(s.tools.configured());
  EXPECT_TRUE(s.tools.rules().empty());
  EXPECT_FALSE(s.prompts.configured());
  EXPECT_EQ(s.pins, PinMode::tofu);
  EXPECT_EQ(s.quarantine_at, core::Severity::critical);
}

TEST(PolicyDefault, IsTheDocumentedSafeDefault) {
  auto p = Policy::default_policy();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p, Policy::default_policy()); // one shared immutable instance
  EXPECT_EQ(p->source(), "(built-in default)");
  EXPECT_EQ(p->mode(), Mode::enforce);
  EXPECT_EQ(p->audit().path, "warden-audit.jsonl");
  EXPECT_EQ(p->audit().fsync, FsyncMode::batch);
  EXPECT_EQ(p->alerts().alert_severity, core::Severity::high);
  ASSERT_EQ(p->alerts().sinks.size(), 1u);
  EXPECT_EQ(p->alerts().sinks[0].kind, SinkKind::stderr_sink);
  ASSERT_EQ(p->servers().size(), 1u);
  const ServerPolicy& s = p->servers()[0];
  EXPECT_EQ(s.name, "default");
  for (RuleKind k : {RuleKind::tool, RuleKind::prompt, RuleKind::resource}) {
    const Rule* r = s.rules(k).find("anything-at-all");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->action, Action::allow);
    EXPECT_EQ(r->pattern, "*");
  }
  EXPECT_FALSE(s.sandbox.has_value());
  EXPECT_TRUE(p->not_enforced().empty());  // the default sandbox and egress deny-all are in force
  EXPECT_FALSE(s.egress.has_value());
  EXPECT_NE(default_policy_yaml().find("version: 1"), std::string_view::npos);
}

TEST(PolicySelect, ByNameCommandDefaultThenFirst) {
  auto p = load_policy_string("version: 1\nservers:\n"
                              "  first: {command: [node, a.js]}\n"
                              "  default: {}\n"
                              "  pm: {command: [npx, -y, postmark-mcp]}\n",
                              "p.yaml");
  EXPECT_EQ(p->select_server("pm", {"whatever"})->name, "pm");
  EXPECT_EQ(p->select_server("nope", {"npx", "-y", "postmark-mcp"}), nullptr);
  EXPECT_EQ(p->select_server("", {"npx", "-y", "postmark-mcp"})->name, "pm");
  EXPECT_EQ(p->select_server("", {"npx", "-y", "postmark-mcp", "--x"})->name, "default");
  EXPECT_EQ(p->select_server("", {})->name, "default");
  auto q = load_policy_string("version: 1\nservers:\n  a: {}\n  b: {command: [b]}\n", "p.yaml");
  EXPECT_EQ(q->select_server("", {"other"})->name, "a");
  EXPECT_EQ(q->select_server("", {"b"})->name, "b");
  EXPECT_EQ(Policy::default_policy()->select_server("", {"npx", "x"})->name, "default");
}

} // namespace
} // namespace warden::policy
