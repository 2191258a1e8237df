#include "warden/supply/clients.h"

#include <algorithm>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "warden/supply/jsonc.h"
#include "warden/supply/toml.h"
#include "warden/util/json_writer.h"

namespace warden::supply {

namespace {

int line_at(std::string_view text, size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(std::min(offset, text.size())), '\n'));
}

std::string json_str(std::string_view s) {
  std::string out;
  util::append_json_string(out, s);
  return out;
}

// ---- JSON / JSONC ----

void collect_server_maps(const JsoncValue& root, std::vector<const JsoncValue*>& out) {
  for (const char* key : {"mcpServers", "servers", "context_servers"})
    if (const auto* m = root.get(key); m && m->type == JsoncValue::Type::object) out.push_back(m);
  if (const auto* mcp = root.get("mcp"); mcp && mcp->type == JsoncValue::Type::object)
    if (const auto* m = mcp->get("servers"); m && m->type == JsoncValue::Type::object) out.push_back(m);
  if (const auto* projects = root.get("projects"); projects && projects->type == JsoncValue::Type::object)
    for (const auto& [name, p] : projects->members)
      if (p->type == JsoncValue::Type::object)
        if (const auto* m = p->get("mcpServers"); m && m->type == JsoncValue::Type::object) out.push_back(m);
}

Result<std::vector<ConfigServer>> read_json(std::string_view text) {
  auto doc = parse_jsonc(text);
  if (!doc) return Error{2, "not valid JSON/JSONC: " + doc.error().message};
  if ((*doc)->type != JsoncValue::Type::object) return Error{2, "the config is not a JSON object"};
  std::vector<const JsoncValue*> maps;
  collect_server_maps(**doc, maps);
  std::vector<ConfigServer> out;
  for (const auto* map : maps) {
    for (const auto& [name, server] : map->members) {
      if (server->type != JsoncValue::Type::object) continue;
      ConfigServer s;
      s.name = name;
      s.line = line_at(text, server->begin);
      const JsoncValue* holder = server.get();  // where command, args and env live
      const auto* cmd = server->get("command");
      if (cmd && cmd->type == JsoncValue::Type::object) {  // Zed: "command": {"path", "args", "env"}
        holder = cmd;
        cmd = cmd->get("path");
      }
      if (cmd && cmd->type == JsoncValue::Type::string) {
        s.command = cmd->string;
        s.command_begin = cmd->begin;
        s.command_end = cmd->end;
        s.args_insert = ", \"args\": ";
      }
      if (const auto* args = holder->get("args")) {
        s.args_begin = args->begin;
        s.args_end = args->end;
        if (args->type != JsoncValue::Type::array) s.problem = "args is not an array";
        else
          for (const auto& a : args->items) {
            if (a->type == JsoncValue::Type::string) s.args.push_back(a->string);
            s.arg_texts.emplace_back(text.substr(a->begin, a->end - a->begin));
          }
      }
      const auto* env = holder->get("env");
      if (!env || env->type != JsoncValue::Type::object) env = server->get("env");
      if (env && env->type == JsoncValue::Type::object)
        for (const auto& [k, v] : env->members)
          if (v->type == JsoncValue::Type::string) s.env.push_back({k, v->string, line_at(text, v->begin)});
      out.push_back(std::move(s));
    }
  }
  return out;
}

// ---- YAML (Continue) ----

// The end of a scalar starting at `pos`: a quoted one ends after its closing quote, a plain one at
// the end of the line or before a comment.
size_t yaml_scalar_end(std::string_view text, size_t pos) {
  if (pos >= text.size()) return text.size();
  char q = text[pos];
  if (q == '"' || q == '\'') {
    for (size_t i = pos + 1; i < text.size(); ++i) {
      if (q == '"' && text[i] == '\\') ++i;
      else if (text[i] == q) {
        if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') ++i;
        else return i + 1;
      }
    }
    return text.size();
  }
  size_t e = pos;
  while (e < text.size() && text[e] != '\n' && text[e] != '\r' && !(text[e] == '#' && e > pos && text[e - 1] == ' ')) {
    if (text[e] == ',' || text[e] == ']' || text[e] == '}') break;  // in a flow collection
    ++e;
  }
  while (e > pos && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
  return e;
}

// The end of a flow sequence "[...]" starting at `pos` (quotes respected).
size_t yaml_flow_end(std::string_view text, size_t pos) {
  int depth = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"' || c == '\'') i = yaml_scalar_end(text, i) - 1;
    else if (c == '[' || c == '{') ++depth;
    else if ((c == ']' || c == '}') && --depth == 0) return i + 1;
  }
  return text.size();
}

Result<std::vector<ConfigServer>> read_yaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error{2, fmt::format("not valid YAML: line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg)};
  }
  std::vector<ConfigServer> out;
  try {
    if (!root.IsMap() || !root["mcpServers"] || !root["mcpServers"].IsSequence()) return out;
    const YAML::Node list = root["mcpServers"];
    for (const auto& entry : list) {
      if (!entry.IsMap()) continue;
      ConfigServer s;
      s.line = entry.Mark().line + 1;
      if (entry["name"] && entry["name"].IsScalar()) s.name = entry["name"].Scalar();
      for (auto it = entry.begin(); it != entry.end(); ++it) {
        const YAML::Node key = it->first, value = it->second;
        if (!key.IsScalar()) continue;
        const std::string& k = key.Scalar();
        if (k == "command" && value.IsScalar()) {
          s.command = value.Scalar();
          s.command_begin = static_cast<size_t>(value.Mark().pos);
          s.command_end = yaml_scalar_end(text, s.command_begin);
          s.args_insert = "\n" + std::string(static_cast<size_t>(key.Mark().column), ' ') + "args: ";
        } else if (k == "args") {
          if (!value.IsSequence()) {
            s.problem = "args is not a list";
            continue;
          }
          s.args_begin = static_cast<size_t>(value.Mark().pos);
          bool flow = s.args_begin < text.size() && text[s.args_begin] == '[';
          s.args_end = flow ? yaml_flow_end(text, s.args_begin) : s.args_begin;
          for (const auto& a : value) {
            if (!a.IsScalar()) {
              s.problem = "args has an item that is not a string";
              continue;
            }
            s.args.push_back(a.Scalar());
            s.arg_texts.push_back(json_str(a.Scalar()));
            if (!flow) s.args_end = yaml_scalar_end(text, static_cast<size_t>(a.Mark().pos));
          }
          if (value.size() == 0 && !flow) s.problem = "args is an empty block list";
        } else if (k == "env" && value.IsMap()) {
          for (auto e = value.begin(); e != value.end(); ++e)
            if (e->first.IsScalar() && e->second.IsScalar())
              s.env.push_back({e->first.Scalar(), e->second.Scalar(), e->second.Mark().line + 1});
        }
      }
      if (s.name.empty()) s.name = fmt::format("(unnamed, line {})", s.line);
      out.push_back(std::move(s));
    }
  } catch (const YAML::Exception& e) {
    return Error{2, fmt::format("unexpected YAML shape: line {}: {}", e.mark.line + 1, e.msg)};
  }
  return out;
}

// ---- TOML (Codex) ----

Result<std::vector<ConfigServer>> read_toml(std::string_view text) {
  auto doc = parse_toml(text);
  if (!doc) return Error{2, "not valid TOML: " + doc.error().message};
  std::vector<ConfigServer> out;
  const auto* servers = (*doc)->get("mcp_servers");
  if (!servers || servers->type != TomlValue::Type::table) return out;
  for (const auto& [name, t] : servers->members) {
    if (t->type != TomlValue::Type::table) continue;
    ConfigServer s;
    s.name = name;
    s.line = t->line;
    bool inline_table = t->begin < text.size() && text[t->begin] == '{';
    if (const auto* cmd = t->get("command"); cmd && cmd->type == TomlValue::Type::string) {
      s.command = cmd->string;
      s.command_begin = cmd->begin;
      s.command_end = cmd->end;
      s.args_insert = inline_table ? ", args = " : "\nargs = ";
    }
    if (const auto* args = t->get("args")) {
      s.args_begin = args->begin;
      s.args_end = args->end;
      if (args->type != TomlValue::Type::array) s.problem = "args is not an array";
      else
        for (const auto& a : args->items) {
          if (a->type == TomlValue::Type::string) s.args.push_back(a->string);
          s.arg_texts.emplace_back(text.substr(a->begin, a->end - a->begin));
        }
    }
    if (const auto* env = t->get("env"); env && env->type == TomlValue::Type::table)
      for (const auto& [k, v] : env->members)
        if (v->type == TomlValue::Type::string) s.env.push_back({k, v->string, v->line});
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

ConfigFormat config_format_for(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".yaml") || ends_with(".yml")) return ConfigFormat::yaml;
  if (ends_with(".toml")) return ConfigFormat::toml;
  return ConfigFormat::json;
}

Result<std::vector<ConfigServer>> read_config_servers(ConfigFormat format, std::string_view text) {
  switch (format) {
    case ConfigFormat::yaml: return read_yaml(text);
    case ConfigFormat::toml: return read_toml(text);
    case ConfigFormat::json: break;
  }
  return read_json(text);
}

bool mentions_servers(std::string_view text) {
  for (const char* k : {"mcpServers", "\"servers\"", "context_servers", "mcp_servers"})
    if (text.find(k) != std::string_view::npos) return true;
  return false;
}

}  // namespace warden::supply
