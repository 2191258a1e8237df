#include "warden/audit/forensics.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "warden/audit/redact.h"
#include "warden/util/clock.h"
#include "warden/util/json_writer.h"
#include "warden/util/sha256.h"

namespace warden::audit {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p, size_t cap) {
  std::ifstream in(p, std::ios::binary);
  std::string s(cap, '\0');
  in.read(s.data(), static_cast<std::streamsize>(cap));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

// The files the server ran: every argument that is a file, and the package directory behind it.
std::vector<fs::path> files_of(const std::vector<std::string>& command, const std::string& package_json) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& a : command)
    if (fs::is_regular_file(a, ec)) out.push_back(fs::canonical(a, ec));
  if (!package_json.empty()) {
    fs::path dir = fs::path(package_json).parent_path();
    size_t n = 0;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end && n < 500; it.increment(ec)) {
      if (it->is_directory(ec) && it->path().filename() == "node_modules") {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec)) {
        out.push_back(it->path());
        ++n;
      }
    }
  }
  return out;
}

}  // namespace

Result<std::string> write_forensic_bundle(const std::string& root, const Incident& in) {
  std::string stamp = util::format_rfc3339_us(in.quarantined_us);
  for (char& c : stamp)
    if (c == ':') c = '-';
  fs::path dir = fs::path(root) / fmt::format("{}-{}-{}", stamp, in.server.empty() ? "server" : in.server, in.session);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{2, fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  ::chmod(dir.c_str(), 0700);

  // Package and file hashes, where the command says which package it runs.
  const std::string &pkg_name = in.package_name, &pkg_version = in.package_version,
                    &pkg_how = in.package_from;
  std::string package_json = pkg_how.find("package.json") != std::string::npos ? pkg_how : "";
  std::string json;
  util::JsonWriter w(json);
  w.begin_object();
  w.key("server").string(in.server).key("session").string(in.session);
  w.key("started").string(util::format_rfc3339_us(in.started_us));
  w.key("quarantined").string(util::format_rfc3339_us(in.quarantined_us));
  w.key("audit_log").string(in.audit_path).key("audit_seq").integer(static_cast<int64_t>(in.audit_seq));
  w.key("detector").string(in.detector).key("reason").string(in.reason);
  int redactions = 0;
  w.key("evidence").string(redact_secrets(in.evidence, &redactions));
  w.key("host").string(in.host);
  w.key("command").begin_array();
  for (const auto& a : in.command) w.string(redact_secrets(a, &redactions));
  w.end_array();
  w.key("package").begin_object().key("name").string(pkg_name).key("version").string(pkg_version)
      .key("resolved_from").string(pkg_how).end_object();
  w.key("files").begin_array();
  for (const auto& f : files_of(in.command, package_json)) {
    w.begin_object().key("path").string(f.string());
    w.key("sha256").string(util::sha256_hex(read_file(f, 64u << 20)));
    w.end_object();
  }
  w.end_array();
  if (!in.sandbox_json.empty()) w.key("sandbox").raw(in.sandbox_json);
  w.end_object();
  std::ofstream(dir / "incident.json") << json << "\n";
  std::ofstream(dir / "request.txt") << redact_secrets(in.request, &redactions);

  // This session's records, verbatim (they are already redacted and hash-chained).
  std::ifstream log(in.audit_path);
  std::ofstream slice(dir / "audit-slice.jsonl");
  std::string needle = fmt::format("\"session\":\"{}\"", in.session), line;
  while (std::getline(log, line))
    if (line.find(needle) != std::string::npos) slice << line << "\n";
  return dir.string();
}

}  // namespace warden::audit
