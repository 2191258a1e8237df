// Cross-server shadowing: where several servers' tools meet (the HTTP gateway, a scan that
// connects), a tool can capture calls meant for another server's tool by having the same or a
// look-alike name, or steer the model with a description that talks about another server's tool.
// (Duplicates and look-alikes within one server are MetadataScanner's name.* rules.)
#pragma once

#include <string>
#include <vector>

#include <simdjson.h>

#include "warden/detect/metadata_scanner.h"

namespace warden::detect {

struct ToolRef {
  std::string name;
  std::string description;
};

struct ServerTools {
  std::string server;  // the name in the policy
  std::vector<ToolRef> tools;
};

struct CrossServerFinding {
  std::string server;  // the server whose tool the finding is about
  std::string tool;
  Finding finding;     // rule shadow.*, path "tools[i].name" or "tools[i].description"
};

// The tools of a tools/list result (or a JSON-RPC response carrying one, or a bare array).
std::vector<ToolRef> tool_refs(simdjson::dom::element tools_list);

// Rules:
//   shadow.duplicate_name  (medium) another server has a tool with the same name: without
//                          namespacing, which server answers depends on order
//   shadow.confusable_name (high)   another server has a look-alike name (homoglyphs, case,
//                          separators, 0/o, 1/l, rn/m: the skeleton of name.confusable)
//   shadow.cross_reference (high)   the description names another server's tool (a distinctive
//                          name: with '_', '-', '.', or an inner capital, at least 5 characters,
//                          as a whole word) that its own server does not also have, the way
//                          shadowing attacks redirect behaviour
// Each pair is reported on both sides for names, on the referring tool for descriptions.
std::vector<CrossServerFinding> cross_server_findings(const std::vector<ServerTools>& servers);

}  // namespace warden::detect
