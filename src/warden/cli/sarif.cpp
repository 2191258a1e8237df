#include "warden/cli/sarif.h"

#include <set>

#include "warden/util/json_writer.h"

namespace warden::cli {

std::string render_sarif(const std::vector<SarifResult>& results) {
  std::string out;
  util::JsonWriter w(out);
  w.begin_object();
  w.key("version").string("2.1.0");
  w.key("$schema").string("https://json.schemastore.org/sarif-2.1.0.json");
  w.key("runs").begin_array().begin_object();
  w.key("tool").begin_object().key("driver").begin_object();
  w.key("name").string("mcp-warden").key("version").string(WARDEN_VERSION);
  w.key("rules").begin_array();
  std::set<std::string> seen;
  for (const auto& r : results)
    if (seen.insert(r.rule).second) w.begin_object().key("id").string(r.rule).end_object();
  w.end_array().end_object().end_object();
  w.key("results").begin_array();
  for (const auto& r : results) {
    w.begin_object().key("ruleId").string(r.rule);
    w.key("level").string(r.severity >= core::Severity::high     ? "error"
                          : r.severity == core::Severity::medium ? "warning"
                                                                 : "note");
    w.key("message").begin_object().key("text").string(r.message).end_object();
    w.key("properties").begin_object().key("severity").string(core::severity_name(r.severity)).end_object();
    w.key("locations").begin_array().begin_object().key("physicalLocation").begin_object();
    w.key("artifactLocation").begin_object().key("uri").string(r.file).end_object();
    if (r.line > 0) w.key("region").begin_object().key("startLine").integer(r.line).end_object();
    w.end_object().end_object().end_array();
    w.end_object();
  }
  w.end_array().end_object().end_array().end_object();
  return out;
}

}  // namespace warden::cli
