// `mcp-warden pins list|diff|approve`: the definition pins `run` keeps per server (tofu/strict),
// and the person's side of a rug-pull block: see what changed, approve it.
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>
#include <simdjson.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/codec/json_edit.h"
#include "warden/detect/pin_store.h"
#include "warden/supply/registry.h"
#include "warden/util/clock.h"
#include "warden/util/json_writer.h"
#include "warden/util/text_diff.h"

namespace warden::cli {

namespace {

struct PinsOptions {
  std::string state_dir;
  std::string server, name, kind = "tool";
  std::string format = "table";
  bool all = false;
};

std::string store_path(const PinsOptions& o) {
  return detect::PinStore::path_in(o.state_dir.empty() ? supply::default_state_dir() : o.state_dir);
}

std::string when(int64_t us) { return us ? util::format_rfc3339_us(us) : "-"; }

const char* state_of(const detect::PinRecord& r) {
  if (!r.pending_hash.empty()) return r.approved_hash.empty() ? "unapproved" : "CHANGED";
  return "approved";
}

std::string shown_name(const detect::PinRecord& r) { return r.kind == "instructions" ? "-" : r.name; }

std::string pretty(const std::string& canonical) {
  if (canonical.empty()) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  if (parser.parse(canonical).get(el) != simdjson::SUCCESS) return canonical;
  return codec::pretty_json(el);
}

int list(const PinsOptions& o, detect::PinStore& store) {
  auto pins = store.list(o.server);
  if (o.format == "json") {
    std::string out;
    util::JsonWriter w(out);
    w.begin_array();
    for (const auto& r : pins) {
      w.begin_object().key("server").string(r.server).key("kind").string(r.kind);
      w.key("name").string(r.name).key("state").string(state_of(r));
      w.key("approved_hash").string(r.approved_hash).key("approved_by").string(r.approved_by);
      w.key("approved_at").string(when(r.approved_at));
      w.key("pending_hash").string(r.pending_hash).key("pending_since").string(when(r.pending_at));
      w.key("first_seen").string(when(r.first_seen)).end_object();
    }
    w.end_array();
    std::cout << out << "\n";
    return k_exit_ok;
  }
  size_t waiting = 0;
  for (const auto& r : pins) {
    std::cout << fmt::format("{:<10} {:<12} {:<18} {:<40} {}\n", state_of(r), r.server, r.kind,
                             shown_name(r),
                             r.pending_hash.empty() ? r.approved_hash : r.pending_hash);
    waiting += r.pending_hash.empty() ? 0 : 1;
  }
  std::cout << fmt::format("{} pin(s), {} waiting for approval ({})\n", pins.size(), waiting,
                           store_path(o));
  return k_exit_ok;
}

std::optional<detect::PinRecord> find(const PinsOptions& o, detect::PinStore& store) {
  std::string name = o.kind == "instructions" ? std::string() : o.name;
  auto pin = store.get(o.server, o.kind, name);
  if (!pin)
    std::cerr << fmt::format("mcp-warden: no pin for {} '{}' of server '{}' in {} (see mcp-warden "
                             "pins list)\n",
                             o.kind, name, o.server, store_path(o));
  return pin;
}

int diff(const PinsOptions& o, detect::PinStore& store) {
  auto pin = find(o, store);
  if (!pin) return k_exit_usage;
  std::cout << fmt::format("{} {} '{}' of server '{}'\n", state_of(*pin), pin->kind,
                           shown_name(*pin), pin->server);
  std::cout << fmt::format("--- approved {} ({} by {})\n", pin->approved_hash.empty() ? "(none)" : pin->approved_hash,
                           when(pin->approved_at), pin->approved_by.empty() ? "-" : pin->approved_by);
  std::cout << fmt::format("+++ seen     {} ({})\n", pin->pending_hash.empty() ? "(no change)" : pin->pending_hash,
                           when(pin->pending_at));
  if (pin->pending_hash.empty()) {
    std::cout << "no change waiting for approval\n";
    return k_exit_ok;
  }
  std::cout << util::line_diff(pretty(pin->approved_def), pretty(pin->pending_def));
  std::cout << fmt::format("approve with: mcp-warden pins approve {} {}{}\n", pin->server,
                           pin->kind == "instructions" ? "" : pin->name + " ",
                           pin->kind == "tool" ? "" : "--kind " + pin->kind);
  return k_exit_findings;
}

int approve(const PinsOptions& o, detect::PinStore& store) {
  const char* user = std::getenv("USER");
  std::string by = user && *user ? user : "unknown";
  int64_t now = util::SystemClock::instance().now_unix_us();
  std::vector<detect::PinRecord> todo;
  if (o.all) {
    for (auto& r : store.list(o.server))
      if (!r.pending_hash.empty()) todo.push_back(std::move(r));
    if (todo.empty()) std::cout << fmt::format("nothing waiting for approval for server '{}'\n", o.server);
  } else if (auto pin = find(o, store)) {
    todo.push_back(std::move(*pin));
  } else {
    return k_exit_usage;
  }
  for (const auto& r : todo) {
    auto st = store.approve(r.server, r.kind, r.name, by, now);
    if (!st) {
      std::cerr << "mcp-warden: " << st.error().message << "\n";
      return k_exit_usage;
    }
    std::cout << fmt::format("approved {} '{}' of server '{}': {}\n", r.kind, shown_name(r), r.server,
                             r.pending_hash);
  }
  return k_exit_ok;
}

}  // namespace

Command add_pins_command(CLI::App& root) {
  auto o = std::make_shared<PinsOptions>();
  auto* app = root.add_subcommand(
      "pins", "Definition pins kept by run (tofu/strict): list them, see a change, approve it");
  app->add_option("--state-dir", o->state_dir,
                  "State directory holding pins.sqlite (default: $MCP_WARDEN_STATE_DIR, else "
                  "$XDG_STATE_HOME/mcp-warden)");
  app->require_subcommand(1);
  const std::vector<std::string> kinds = {"tool", "prompt", "resource", "resource_template", "instructions"};
  auto* ls = app->add_subcommand("list", "List the pins (state, server, kind, name, hash)");
  ls->add_option("--server", o->server, "Only this server entry");
  ls->add_option("--format", o->format, "table | json")->check(CLI::IsMember({"table", "json"}));
  auto* df = app->add_subcommand("diff", "Show the approved and the changed definition of an item as a diff (exit 1 when a change waits)");
  auto* ap = app->add_subcommand("approve", "Approve the changed (or, under strict, new) definition of an item");
  for (auto* sub : {df, ap}) {
    sub->add_option("server", o->server, "Server entry name")->required();
    sub->add_option("name", o->name, "Tool or prompt name, resource URI (none for instructions)");
    sub->add_option("--kind", o->kind, "tool | prompt | resource | resource_template | instructions (default tool)")
        ->check(CLI::IsMember(kinds));
  }
  ap->add_flag("--all", o->all, "Approve every change waiting for this server");
  return {app, [o, ls, df](const std::vector<std::string>&) {
            auto store = detect::PinStore::open(store_path(*o));
            if (!store) {
              std::cerr << "mcp-warden: " << store.error().message << "\n";
              return k_exit_usage;
            }
            bool needs_name = o->kind != "instructions" && !o->all;
            if (!ls->parsed() && needs_name && o->name.empty()) {
              std::cerr << "mcp-warden: pins diff/approve need the item's name (or --kind "
                           "instructions, or --all for approve)\n";
              return k_exit_usage;
            }
            if (ls->parsed()) return list(*o, **store);
            if (df->parsed()) return diff(*o, **store);
            return approve(*o, **store);
          }};
}

}  // namespace warden::cli
