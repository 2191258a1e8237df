// Byte-level text hygiene for what the audit log and alerts write: every string that reaches a
// log line must be valid UTF-8 so the line stays valid JSON, whatever an untrusted peer sent.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace warden::audit {

bool is_valid_utf8(std::string_view s);
// `s` with each invalid UTF-8 sequence (including overlongs, surrogates, > U+10FFFF) replaced by
// U+FFFD. Returns `s` unchanged when it is already valid.
std::string to_valid_utf8(std::string_view s);
// The length of the longest prefix of `s` no longer than `max` bytes that does not split a
// multi-byte UTF-8 sequence.
size_t utf8_prefix_len(std::string_view s, size_t max);

} // namespace warden::audit
