#include "warden/supply/image.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <set>

#include <fmt/format.h>
#include <simdjson.h>

namespace warden::supply {

namespace {

constexpr size_t k_max_metadata = 1 << 20;   // manifests, indexes and configs are small JSON
constexpr size_t k_max_wanted = 16u << 20;    // a wanted file larger than this is skipped, with a warning
constexpr int k_max_index_depth = 4;

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveFree>;

std::string clean_path(std::string_view p) {
  while (p.rfind("./", 0) == 0) p.remove_prefix(2);
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return std::string(p);
}

std::string archive_why(struct archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "read error";
}

ArchivePtr new_tar_reader() {
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  return a;
}

Result<ArchivePtr> open_outer(const std::string& path) {
  auto a = new_tar_reader();
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return Error{2, fmt::format("cannot open image {}: {}", path, archive_why(a.get()))};
  return a;
}

bool read_entry(struct archive* a, size_t size, std::string& out) {
  out.resize(size);
  size_t got = 0;
  while (got < size) {
    la_ssize_t n = archive_read_data(a, out.data() + got, size - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return got == size;
}

// One layer's changes, in the layer's own order.
struct LayerOp {
  enum class Kind { file, whiteout, opaque, link } kind;
  std::string path;  // the file, the removed path, or the opaque directory
  std::string content;  // a file's content; for a hard link to a lower layer's file, its path
};

// Reads a layer tar (any compression) from the outer archive's current entry, without copying it.
la_ssize_t read_from_outer(struct archive*, void* outer, const void** buf) {
  size_t size = 0;
  la_int64_t offset = 0;
  int rc = archive_read_data_block(static_cast<struct archive*>(outer), buf, &size, &offset);
  if (rc == ARCHIVE_EOF) return 0;
  if (rc < ARCHIVE_WARN) return -1;
  return static_cast<la_ssize_t>(size);
}

std::vector<LayerOp> read_layer(struct archive* outer, const std::string& name,
                                const std::function<bool(std::string_view)>& wanted, std::vector<std::string>& warnings) {
  std::vector<LayerOp> ops;
  auto a = new_tar_reader();
  if (archive_read_open(a.get(), outer, nullptr, read_from_outer, nullptr) != ARCHIVE_OK) {
    warnings.push_back(fmt::format("layer {}: not a tar archive ({}), skipped", name, archive_why(a.get())));
    return ops;
  }
  std::map<std::string, size_t> seen;  // wanted files of this layer, for hard links
  struct archive_entry* entry;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    const char* raw = archive_entry_pathname(entry);
    if (!raw) continue;
    std::string path = clean_path(raw);
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base == ".wh..wh..opq") {
      ops.push_back({LayerOp::Kind::opaque, dir, {}});
      continue;
    }
    if (base.rfind(".wh.", 0) == 0) {
      ops.push_back({LayerOp::Kind::whiteout, (dir.empty() ? "" : dir + "/") + base.substr(4), {}});
      continue;
    }
    if (!wanted(path)) continue;
    if (const char* link = archive_entry_hardlink(entry)) {
      auto it = seen.find(clean_path(link));
      if (it != seen.end()) ops.push_back({LayerOp::Kind::file, path, ops[it->second].content});
      else ops.push_back({LayerOp::Kind::link, path, clean_path(link)});
      continue;
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    int64_t size = archive_entry_size(entry);
    if (size < 0 || static_cast<size_t>(size) > k_max_wanted) {
      warnings.push_back(fmt::format("layer {}: {} is larger than {} MiB, skipped", name, path, k_max_wanted >> 20));
      continue;
    }
    LayerOp op{LayerOp::Kind::file, path, {}};
    if (!read_entry(a.get(), static_cast<size_t>(size), op.content)) {
      warnings.push_back(fmt::format("layer {}: {} is truncated ({})", name, path, archive_why(a.get())));
      rc = ARCHIVE_FATAL;
      break;
    }
    seen[path] = ops.size();
    ops.push_back(std::move(op));
  }
  if (rc != ARCHIVE_EOF && rc != ARCHIVE_FATAL)
    warnings.push_back(fmt::format("layer {}: {} (the rest of the layer is skipped)", name, archive_why(a.get())));
  else if (rc == ARCHIVE_FATAL && warnings.empty())
    warnings.push_back(fmt::format("layer {}: {} (the rest of the layer is skipped)", name, archive_why(a.get())));
  return ops;
}

std::string blob_path(std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos) return {};
  return fmt::format("blobs/{}/{}", digest.substr(0, colon), digest.substr(colon + 1));
}

// The layer paths of an OCI manifest or index (the first image manifest of an index).
Status oci_layers(const std::map<std::string, std::string>& meta, const std::string& doc_path,
                  std::vector<std::string>& layers, int depth) {
  auto it = meta.find(doc_path);
  if (it == meta.end()) return Error{2, fmt::format("{} is missing from the image", doc_path)};
  if (depth > k_max_index_depth) return Error{2, "image indexes nested too deeply"};
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(it->second).get(root)) return Error{2, fmt::format("{} is not valid JSON", doc_path)};
  simdjson::dom::array list;
  if (!root["layers"].get_array().get(list)) {
    for (auto l : list) {
      std::string_view digest;
      if (!l["digest"].get(digest)) layers.push_back(blob_path(digest));
    }
    return Ok{};
  }
  if (!root["manifests"].get_array().get(list)) {
    for (auto m : list) {
      std::string_view digest;
      if (!m["digest"].get(digest)) return oci_layers(meta, blob_path(digest), layers, depth + 1);
    }
  }
  return Error{2, fmt::format("{} lists no layers and no manifests", doc_path)};
}

void erase_under(std::map<std::string, std::string>& files, const std::string& path, bool keep_self) {
  if (!keep_self) files.erase(path);
  std::string prefix = path.empty() ? "" : path + "/";
  for (auto it = files.lower_bound(prefix); it != files.end() && it->first.compare(0, prefix.size(), prefix) == 0;)
    it = files.erase(it);
}

}  // namespace

Result<ImageFiles> read_image(const std::string& tar_path, const std::function<bool(std::string_view)>& wanted) {
  // Pass 1: the small JSON documents that say which layers there are, in which order.
  std::map<std::string, std::string> meta;
  {
    auto outer = open_outer(tar_path);
    if (!outer) return outer.error();
    struct archive_entry* entry;
    int rc;
    while ((rc = archive_read_next_header(outer->get(), &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
      if (archive_entry_filetype(entry) != AE_IFREG) continue;
      std::string name = clean_path(archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "");
      int64_t size = archive_entry_size(entry);
      bool candidate = name == "manifest.json" || name == "index.json" || name.rfind("blobs/", 0) == 0;
      if (!candidate || size < 0 || static_cast<size_t>(size) > k_max_metadata) continue;
      std::string content;
      bool read = read_entry(outer->get(), static_cast<size_t>(size), content);
      if ((read && !content.empty() && content[0] == '{') || name == "manifest.json")
        meta[name] = std::move(content);
    }
    if (rc != ARCHIVE_EOF)
      return Error{2, fmt::format("cannot read image {}: {}", tar_path, archive_why(outer->get()))};
  }
  std::vector<std::string> order;
  if (auto m = meta.find("manifest.json"); m != meta.end()) {  // docker save
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array images, layers;
    if (parser.parse(m->second).get(root) || root.get_array().get(images) || images.size() == 0 ||
        images.at(0)["Layers"].get_array().get(layers))
      return Error{2, fmt::format("{}: manifest.json is not a docker save manifest (an array of {{Config, Layers}})", tar_path)};
    for (auto l : layers) {
      std::string_view p;
      if (!l.get(p)) order.push_back(clean_path(p));
    }
  } else if (meta.count("index.json")) {  // OCI layout
    auto st = oci_layers(meta, "index.json", order, 0);
    if (!st.ok()) return Error{2, fmt::format("{}: {}", tar_path, st.error().message)};
  } else {
    return Error{2, fmt::format("{}: not a container image (no manifest.json or index.json at the top)", tar_path)};
  }

  // Pass 2: each layer's changes, streamed out of the outer tar.
  ImageFiles out;
  std::set<std::string> layer_names(order.begin(), order.end());
  std::map<std::string, std::vector<LayerOp>> deltas;
  {
    auto outer = open_outer(tar_path);
    if (!outer) return outer.error();
    struct archive_entry* entry;
    int rc;
    while ((rc = archive_read_next_header(outer->get(), &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
      std::string name = clean_path(archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "");
      if (!layer_names.count(name) || deltas.count(name)) continue;
      deltas[name] = read_layer(outer->get(), name, wanted, out.warnings);
    }
    if (rc != ARCHIVE_EOF)
      out.warnings.push_back(fmt::format("{}: {} (later layers are skipped)", tar_path, archive_why(outer->get())));
  }
  for (const auto& name : order) {
    auto d = deltas.find(name);
    if (d == deltas.end()) {
      out.warnings.push_back(fmt::format("{}: layer {} is listed but not in the tarball, skipped", tar_path, name));
      continue;
    }
    ++out.layers;
    for (const auto& op : d->second) {  // whiteouts hide only what the layers below put there
      if (op.kind == LayerOp::Kind::whiteout) erase_under(out.files, op.path, false);
      else if (op.kind == LayerOp::Kind::opaque) erase_under(out.files, op.path, true);
    }
    for (const auto& op : d->second) {
      if (op.kind == LayerOp::Kind::file) out.files[op.path] = op.content;
      if (auto target = out.files.find(op.content); op.kind == LayerOp::Kind::link && target != out.files.end())
        out.files[op.path] = target->second;
    }
  }
  return out;
}

}  // namespace warden::supply
