#include "warden/gateway/metadata_filter.h"

#include <fmt/format.h>

#include "warden/codec/codec.h"
#include "warden/codec/json_edit.h"
#include "warden/gateway/session.h"
#include "warden/util/json_writer.h"

namespace warden::gateway {

using core::Finding;
using core::Severity;
using simdjson::dom::element;

namespace {

struct ListMethod {
  const char* method;
  const char* key;   // the array in the result; "instructions" for initialize
  const char* kind;  // as MetadataScanner and the pin store name it
  const char* id;    // the member that names an item
};
constexpr ListMethod k_lists[] = {
    {"tools/list", "tools", "tool", "name"},
    {"prompts/list", "prompts", "prompt", "name"},
    {"resources/list", "resources", "resource", "uri"},
    {"resources/templates/list", "resourceTemplates", "resource_template", "uriTemplate"},
    {"initialize", "instructions", "instructions", ""},
};

const char* call_kind(std::string_view method) {
  if (method == "tools/call") return "tool";
  if (method == "prompts/get") return "prompt";
  if (method == "resources/read") return "resource";
  return nullptr;
}

std::string key_of(std::string_view kind, std::string_view name) {
  return std::string(kind) + '\n' + std::string(name);
}

std::string item_label(std::string_view kind, std::string_view name) {
  if (kind == "instructions") return "the initialize instructions";
  return fmt::format("{} '{}'", kind, name);
}

}  // namespace

FilterStatus MetadataFilter::on_message(MessageContext& ctx) {
  const codec::Message& m = ctx.message;
  if (ctx.direction == core::Direction::c2s && m.kind == codec::Kind::request) {
    if (const char* kind = call_kind(m.method)) return on_call(ctx, kind);
    return FilterStatus::Continue;
  }
  if (ctx.direction != core::Direction::s2c || m.kind != codec::Kind::response || !m.has_result)
    return FilterStatus::Continue;
  for (const auto& l : k_lists)
    if (ctx.method == l.method) return on_list(ctx, l.key, l.kind, l.id);
  return FilterStatus::Continue;
}

FilterStatus MetadataFilter::on_call(MessageContext& ctx, const char* kind) {
  const std::string& name = ctx.message.target;
  const std::string& server = ctx.session.server();
  auto it = m_blocked.find(key_of(kind, name));
  std::optional<Block> block;
  if (it != m_blocked.end()) {
    block = it->second;
    if (!block->pin_hash.empty() && m_o.store) {
      auto ok = m_o.store->is_approved(server, kind, name, block->pin_hash);
      if (ok && *ok) {  // approved since the list was seen
        m_blocked.erase(it);
        block.reset();
      }
    }
  } else if (m_o.pins == policy::PinMode::strict && m_o.store && std::string_view(kind) != "resource") {
    // Strict: a tool or prompt never listed (so never approved here) is unknown, hence blocked.
    auto pin = m_o.store->get(server, kind, name);
    if (!pin || pin->approved_hash.empty())
      block = Block{"pins.unknown",
                    fmt::format("{} has no approved pin (pins: strict); list it, then approve it "
                                "with mcp-warden pins approve {} {}{}",
                                item_label(kind, name), server, name,
                                std::string_view(kind) == "tool" ? "" : fmt::format(" --kind {}", kind)),
                    {}};
  }
  if (!block) return FilterStatus::Continue;
  ctx.findings.push_back({block->rule, Severity::high,
                          fmt::format("call of blocked {}: {}", item_label(kind, name), block->reason),
                          name});
  if (m_o.monitor) return FilterStatus::Continue;
  ctx.rule = block->rule;
  ctx.stop_with_error(core::Decision::block, codec::k_policy_blocked,
                      fmt::format("refused: {} is blocked: {}", item_label(kind, name), block->reason));
  return FilterStatus::Stop;
}

FilterStatus MetadataFilter::on_list(MessageContext& ctx, const char* list_key, const char* kind,
                                     const char* id_key) {
  const codec::Message& m = ctx.message;
  const std::string& server = ctx.session.server();
  bool instructions = std::string_view(kind) == "instructions";
  simdjson::dom::object result;
  if (m.result.get(result) != simdjson::SUCCESS) return FilterStatus::Continue;
  element list;
  if (result[list_key].get(list) != simdjson::SUCCESS) return FilterStatus::Continue;

  auto report = m_o.scanner->scan(m.result);
  if (!report) {
    // A list the detectors cannot read is not forwarded (fail closed).
    ctx.findings.push_back({"metadata.malformed", Severity::high,
                            fmt::format("the server's {} result is malformed: {}", ctx.method,
                                        report.error().message),
                            {}});
    ctx.rule = "metadata.malformed";
    ctx.stop_with_error(core::Decision::block, codec::k_internal_error,
                        fmt::format("the server's {} result was refused: {}", ctx.method,
                                    report.error().message));
    return FilterStatus::Stop;
  }
  std::map<std::string, const detect::ItemReport*> by_path;
  for (const auto& item : report->items) by_path[item.path] = &item;

  // One entry per item of the list (or the instructions string).
  std::vector<element> items;
  if (instructions) {
    items.push_back(list);
  } else {
    simdjson::dom::array arr;
    if (list.get(arr) != simdjson::SUCCESS) return FilterStatus::Continue;
    for (element e : arr) items.push_back(e);
  }
  const auto& cfg = m_o.config;
  std::vector<bool> keep(items.size(), true);
  bool stripped = false;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string path = instructions ? "instructions" : fmt::format("{}[{}]", list_key, i);
    std::string name;
    if (!instructions) {
      std::string_view n;
      if (items[i].is_object() && items[i][id_key].get(n) == simdjson::SUCCESS) name = std::string(n);
    }
    std::string label = item_label(kind, name);
    Severity worst = Severity::info;
    std::string worst_rule, worst_reason;
    if (auto it = by_path.find(path); it != by_path.end()) {
      for (const auto& f : it->second->findings) {
        ctx.findings.push_back({f.rule, f.severity, fmt::format("{}: {} ({})", label, f.reason, f.path),
                                detect::printable(f.text)});
        if (worst_rule.empty() || f.severity > worst) {
          worst = f.severity;
          worst_rule = f.rule;
          worst_reason = f.reason;
        }
      }
    }
    Block block;
    bool pin_blocked = false;
    if (m_o.pins != policy::PinMode::off && (instructions || !name.empty())) {
      std::string def = codec::canonical_json(items[i]);
      auto pc = m_o.store ? m_o.store->check(server, kind, name, def,
                                             m_o.pins == policy::PinMode::strict,
                                             m_o.clock->now_unix_us())
                          : Result<detect::PinCheck>(Error{2, "no pin store"});
      std::string approve = fmt::format("mcp-warden pins approve {} {}{}", server,
                                        instructions ? "" : name + " ",
                                        std::string_view(kind) == "tool" ? "" : fmt::format("--kind {}", kind));
      while (!approve.empty() && approve.back() == ' ') approve.pop_back();
      if (!pc) {
        pin_blocked = true;
        block = {"pins.store_error", pc.error().message, {}};
        ctx.findings.push_back({"pins.store_error", Severity::high,
                                fmt::format("{}: cannot check its pin, blocked: {}", label, pc.error().message),
                                {}});
      } else if (pc->status == detect::PinStatus::changed) {
        pin_blocked = true;
        block = {"pins.changed",
                 fmt::format("its definition changed since it was approved (review: mcp-warden pins "
                             "diff {} {}; approve: {})",
                             server, instructions ? "--kind instructions" : name, approve),
                 pc->hash};
        ctx.findings.push_back({"pins.changed", Severity::high,
                                fmt::format("{}: definition changed since it was approved (was {}, now "
                                            "{}); hidden and its calls refused until approved: {}",
                                            label, pc->approved_hash, pc->hash, approve),
                                pc->hash});
      } else if (pc->status == detect::PinStatus::unknown) {
        pin_blocked = true;
        block = {"pins.unknown",
                 fmt::format("it has no approved pin (pins: strict; approve: {})", approve), pc->hash};
        ctx.findings.push_back({"pins.unknown", Severity::high,
                                fmt::format("{}: not approved (pins: strict); hidden and its calls "
                                            "refused until approved: {}", label, approve),
                                pc->hash});
      } else if (pc->status == detect::PinStatus::recorded) {
        ctx.findings.push_back({"pins.recorded", Severity::info,
                                fmt::format("{}: first sight, definition pinned (tofu)", label), pc->hash});
      }
    }
    bool strip = pin_blocked || (cfg.strip_at && !worst_rule.empty() && worst >= *cfg.strip_at);
    bool block_calls = strip || (cfg.block_calls_at && !worst_rule.empty() && worst >= *cfg.block_calls_at);
    if (!pin_blocked && block_calls)
      block = {worst_rule, fmt::format("the detectors found: {} ({})", worst_reason, core::severity_name(worst)), {}};
    if (!instructions) m_blocked.erase(key_of(kind, name));
    if (m_o.monitor) continue;
    if (block_calls && !instructions && !name.empty()) m_blocked[key_of(kind, name)] = block;
    if (strip) {
      keep[i] = false;
      stripped = true;
    }
  }
  if (!stripped) return FilterStatus::Continue;

  // Re-serialize the result from the checked tree without the stripped items.
  std::string out = "{";
  bool first = true;
  for (auto [k, v] : result) {
    if (k == list_key && instructions) continue;
    if (!first) out += ',';
    first = false;
    util::append_json_string(out, k);
    out += ':';
    if (k != list_key) {
      out += codec::serialize(v);
      continue;
    }
    out += '[';
    bool first_item = true;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!keep[i]) continue;
      if (!first_item) out += ',';
      first_item = false;
      out += codec::serialize(items[i]);
    }
    out += ']';
  }
  out += '}';
  ctx.replacement = codec::with_result(m, out);
  ctx.decision = core::Decision::strip;
  return FilterStatus::Continue;
}

}  // namespace warden::gateway
