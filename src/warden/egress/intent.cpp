#include "warden/egress/intent.h"

namespace warden::egress {

std::set<std::string> IntentBoard::ids_of(std::string_view text, bool json) {
  std::vector<Identifier> ids;
  if (json) scan_json(text, "", true, true, ids);
  else scan_text(text, "", true, true, ids);
  std::set<std::string> out;
  for (const auto& i : ids) out.insert(std::string(id_kind_name(i.kind)) + ":" + i.value);
  // A bare host or address given as a value also counts as asked for (a `domain` argument).
  return out;
}

void IntentBoard::allow_always(std::string_view text) {
  auto ids = ids_of(text, false);
  std::lock_guard lock(m_mu);
  m_always.insert(ids.begin(), ids.end());
}

void IntentBoard::begin_call(const std::string& key, const std::string& tool,
                             std::string_view arguments_json) {
  Call c{tool, ids_of(arguments_json, true)};
  std::lock_guard lock(m_mu);
  m_calls[key] = std::move(c);
}

void IntentBoard::end_call(const std::string& key) {
  std::lock_guard lock(m_mu);
  m_calls.erase(key);
}

void IntentBoard::clear() {
  std::lock_guard lock(m_mu);
  m_calls.clear();
}

IntentBoard::Judgement IntentBoard::snapshot() const {
  std::lock_guard lock(m_mu);
  Judgement j;
  j.call_in_flight = !m_calls.empty();
  for (const auto& [k, c] : m_calls) j.tools.push_back(c.tool);
  return j;
}

bool IntentBoard::asked_for(const Identifier& id) const {
  std::string k = std::string(id_kind_name(id.kind)) + ":" + id.value;
  std::lock_guard lock(m_mu);
  if (m_always.count(k)) return true;
  for (const auto& [key, c] : m_calls)
    if (c.ids.count(k)) return true;
  return false;
}

}  // namespace warden::egress
