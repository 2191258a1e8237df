// Package versions and their order, for the two ecosystems the intel feed speaks:
// npm (Semantic Versioning 2.0.0 precedence) and PyPI (PEP 440).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warden::supply {

enum class Ecosystem { npm, pypi };
std::optional<Ecosystem> parse_ecosystem(std::string_view s);  // "npm", "PyPI" (any case)
const char* ecosystem_name(Ecosystem e);                         // "npm", "PyPI"

// A parsed version. Compare only versions of the same ecosystem.
class Version {
public:
  // nullopt when `text` is not a valid version of the ecosystem. npm accepts a leading "v" or
  // "=" (as npm does); PyPI accepts the normalised forms of PEP 440 (case, separators, "v").
  static std::optional<Version> parse(Ecosystem eco, std::string_view text);
  // The OSV "introduced": "0" event means "every version"; it parses as the smallest version.
  static Version zero(Ecosystem eco);

  int compare(const Version& other) const;  // <0, 0, >0
  bool operator<(const Version& o) const { return compare(o) < 0; }
  bool operator==(const Version& o) const { return compare(o) == 0; }
  const std::string& text() const { return m_text; }

private:
  Ecosystem m_eco = Ecosystem::npm;
  std::string m_text;
  std::vector<uint64_t> m_release;  // major.minor.patch (npm) or the release segment (PyPI)
  // npm: prerelease identifiers (empty = a release, which sorts after its prereleases).
  std::vector<std::string> m_pre;
  // PyPI: epoch, pre (a=0, b=1, rc=2; -1 none), post (-1 none), dev (-1 none).
  uint64_t m_epoch = 0;
  int m_pre_kind = -1;
  uint64_t m_pre_num = 0;
  int64_t m_post = -1;
  int64_t m_dev = -1;
};

}  // namespace warden::supply
