// Fuzz target: the policy loader. Any input either loads or throws policy::LoadError with a
// file:line:column message; nothing else may escape and nothing may crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "warden/policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto p = warden::policy::load_policy_string(text, "fuzz.yaml");
    (void)p->not_enforced();
  } catch (const warden::policy::LoadError& e) {
    if (std::string(e.what()).rfind("fuzz.yaml:", 0) != 0) std::abort();
  }
  return 0;
}
