// The codec's duplicate-key check, shared with other strict JSON readers (JWT headers and claims).
#pragma once

#include <string>

#include <simdjson.h>

namespace warden::codec {

// True if any object in the tree under `el` repeats a key (compared after unescaping, so
// {"a":1,"\u0061":2} is a duplicate too); `dup` is then set to the repeated key.
bool find_duplicate_key(simdjson::dom::element el, std::string& dup);

}  // namespace warden::codec
