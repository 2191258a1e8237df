// Shared by the detector tests: one scanner with the default rules, built once.
#pragma once

#include <gtest/gtest.h>

#include "warden/detect/metadata_scanner.h"

namespace warden::detect {

inline const MetadataScanner& default_scanner() {
  static auto s = MetadataScanner::with_default_rules();
  if (!s.ok()) ADD_FAILURE() << s.error().message;
  return *s;
}

}  // namespace warden::detect
