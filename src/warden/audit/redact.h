// Secrets redaction for everything the warden logs or alerts on.
//
// One RE2::Set pass finds which kinds of secret occur; only those patterns then run a replace.
// Every secret is replaced by `[REDACTED:<kind>]`. The replaced span never contains `"`, `\`
// (except the `\n` / `\r` escapes inside a JSON-escaped PEM block) or a control byte, and is
// ASCII only, so redacting serialized JSON keeps it valid JSON and valid UTF-8. Patterns that need
// context (an AWS secret key, a UUID token next to a header name, a Bearer token) keep the context
// text and replace only the secret value.
//
// Kinds: private_key, aws_access_key_id, aws_secret_key, github_token, slack_token, stripe_key,
// google_api_key, anthropic_key, openai_key, uuid_token, jwt, bearer, npm_token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace warden::audit {

// Returns `text` with every recognized secret replaced. If `count` is given it receives the number
// of replacements made (0 when the text was returned unchanged). Thread-safe.
// If `kinds` is given it receives the kinds replaced, in table order, each once.
std::string redact_secrets(std::string_view text, int* count = nullptr,
                           std::vector<std::string>* kinds = nullptr);

// The kind names above, in the order the patterns are applied (for docs and tests).
const std::vector<std::string>& redaction_kinds();

} // namespace warden::audit
