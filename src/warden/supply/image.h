// Container image tarballs for `scan --image`: `docker save` archives (manifest.json + layer tars)
// and OCI image layouts (index.json + blobs/sha256), read with libarchive. Layers are applied in
// the manifest's order with whiteouts (`.wh.NAME` removes NAME, `.wh..wh..opq` hides everything
// the layers below put in that directory). Only the files a caller wants are kept, in memory.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "warden/util/result.h"

namespace warden::supply {

struct ImageFiles {
  std::map<std::string, std::string> files;  // path in the image (no leading '/') -> content
  size_t layers = 0;
  std::vector<std::string> warnings;  // missing or corrupt layers, oversized files: the rest is read
};

// Error when the tarball cannot be read at all or has neither manifest.json nor index.json.
Result<ImageFiles> read_image(const std::string& tar_path, const std::function<bool(std::string_view)>& wanted);

}  // namespace warden::supply
