// Personal data in result text: email addresses, payment card numbers (13-19 digits, spaces or
// dashes allowed, Luhn check) and US social security numbers (dashed form, with the SSA's
// never-issued areas, groups and serials excluded). Used by the result filter to record or redact.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace warden::detect {

struct PiiHit {
  const char* kind;  // "email" | "card_number" | "us_ssn"
  size_t begin = 0, end = 0;
};

// Hits in text order, not overlapping.
std::vector<PiiHit> find_pii(std::string_view text);
// `text` with every hit replaced by [REDACTED:<kind>].
std::string redact_pii(std::string_view text, const std::vector<PiiHit>& hits);
// The Luhn checksum over the digits of `s` (other characters ignored).
bool luhn_valid(std::string_view s);

}  // namespace warden::detect
