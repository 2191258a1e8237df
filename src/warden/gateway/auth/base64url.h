// base64url (RFC 4648 section 5) without padding, as JOSE uses it (RFC 7515 section 2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden::gateway::auth {

// Strict decoding: only A-Z a-z 0-9 - _, no padding, no whitespace, no length of 4k+1, and the
// unused low bits of the last character must be zero (so each byte string has one spelling).
// nullopt if `in` is not such a string.
std::optional<std::string> base64url_decode(std::string_view in);
std::string base64url_encode(std::string_view bytes);

}  // namespace warden::gateway::auth
