// Helpers for the policy tests: JSON-RPC lines decoded by the real strict codec, so the Evaluator
// sees exactly the Message it sees in production.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "warden/codec/codec.h"
#include "warden/policy/policy.h"

namespace warden::policy::testing {

// Decodes one line; the Message stays valid until the next call.
class Wire {
public:
  const codec::Message& operator()(std::string_view line) {
    auto r = m_decoder.decode(line);
    if (!r.ok()) {
      ADD_FAILURE() << "codec refused the test message: " << r.error().message << "\n" << line;
      m_last = {};
      m_last.messages.emplace_back();
      return m_last.messages.front();
    }
    m_last = std::move(*r);
    return m_last.messages.front();
  }

private:
  codec::Decoder m_decoder;
  codec::Decoded m_last;
};

inline std::string call_line(std::string_view tool, std::string_view args_json = "{}") {
  std::string s = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":")";
  s += tool;
  s += R"(","arguments":)";
  s += args_json;
  s += "}}";
  return s;
}

// The LoadError text for `yaml` loaded as "p.yaml", or "" if it loads.
inline std::string load_error(std::string_view yaml) {
  try {
    load_policy_string(yaml, "p.yaml");
  } catch (const LoadError& e) {
    return e.what();
  }
  return {};
}

} // namespace warden::policy::testing
