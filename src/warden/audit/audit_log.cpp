#include "warden/audit/audit_log.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <simdjson.h>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "warden/policy/model.h"

namespace warden::audit {
namespace {

constexpr size_t k_max_line_bytes = 64u << 20;
constexpr size_t k_scan_chunk = 64u << 10;

std::string errno_text(int e) {
  return std::strerror(e);
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Offset of the last `byte` in [0, end) of the file, or -1. Reads backwards in chunks.
Result<int64_t> find_last_byte(int fd, char byte, int64_t end) {
  std::string buf(k_scan_chunk, '\0');
  while (end > 0) {
    int64_t start =
        end > static_cast<int64_t>(k_scan_chunk) ? end - static_cast<int64_t>(k_scan_chunk) : 0;
    auto want = static_cast<size_t>(end - start);
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd, buf.data() + got, want - got, start + static_cast<int64_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Error{0, "read failed: " + errno_text(n < 0 ? errno : EIO)};
      got += static_cast<size_t>(n);
    }
    for (size_t i = want; i-- > 0;)
      if (buf[i] == byte) return start + static_cast<int64_t>(i);
    end = start;
  }
  return int64_t{-1};
}

Result<std::string> read_range(int fd, int64_t start, int64_t end) {
  std::string s(static_cast<size_t>(end - start), '\0');
  size_t got = 0;
  while (got < s.size()) {
    ssize_t n = ::pread(fd, s.data() + got, s.size() - got, start + static_cast<int64_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{0, "read failed: " + errno_text(n < 0 ? errno : EIO)};
    got += static_cast<size_t>(n);
  }
  return s;
}

// The seq and hash of a stored line, checking that it is a sealed record whose hash is right.
Result<Head> parse_last_record(const std::string& line) {
  std::string canonical;
  std::string_view hash;
  if (!split_sealed_line(line, canonical, hash))
    return Error{0, "it does not end with a \"hash\" member"};
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line).get(doc) != simdjson::SUCCESS) return Error{0, "it is not valid JSON"};
  uint64_t seq = 0;
  if (doc["seq"].get_uint64().get(seq) != simdjson::SUCCESS || seq == 0)
    return Error{0, "it has no valid \"seq\""};
  return Head{seq, std::string(hash)};
}

void fsync_parent_dir(const std::string& path) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return;
  (void)::fsync(d);
  ::close(d);
}

} // namespace

const char* fsync_mode_name(FsyncMode m) {
  switch (m) {
  case FsyncMode::always: return "always";
  case FsyncMode::batch: return "batch";
  case FsyncMode::never: return "never";
  }
  return "always";
}

std::optional<FsyncMode> parse_fsync_mode(std::string_view s) {
  for (auto m : {FsyncMode::always, FsyncMode::batch, FsyncMode::never})
    if (s == fsync_mode_name(m)) return m;
  return std::nullopt;
}

std::string head_path_for(const std::string& log_path) {
  return log_path + ".head";
}

Result<std::optional<Head>> read_head_file(const std::string& head_path) {
  int fd = ::open(head_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<Head>{};
    return Error{0, fmt::format("cannot read {}: {}", head_path, errno_text(errno))};
  }
  char buf[128];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  std::string_view s(buf, got);
  auto bad = [&] {
    return Error{0, fmt::format("{} is not a head file (expected one line `SEQ HASH`)", head_path)};
  };
  if (s.empty() || s.back() != '\n') return bad();
  s.remove_suffix(1);
  size_t sp = s.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp > 20) return bad();
  Head h;
  for (char c : s.substr(0, sp)) {
    if (c < '0' || c > '9') return bad();
    h.seq = h.seq * 10 + static_cast<uint64_t>(c - '0');
  }
  h.hash = std::string(s.substr(sp + 1));
  if (!is_hex64(h.hash)) return bad();
  return std::optional<Head>{std::move(h)};
}

AuditLog::AuditLog(std::string path, FsyncMode mode, const util::Clock& clock,
                   AuditLogOptions options)
    : m_path(std::move(path)), m_mode(mode), m_clock(clock), m_options(options) {
  m_last_sync_us = m_clock.now_mono_us() - m_options.batch_sync_interval_us;
  m_head_len = static_cast<size_t>(-1);
}

AuditLog::~AuditLog() {
  (void)close();
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path, FsyncMode mode,
                                                 const util::Clock& clock,
                                                 const AuditLogOptions& options) {
  std::unique_ptr<AuditLog> log(new AuditLog(path, mode, clock, options));
  const std::string head_path = head_path_for(path);
  // Read the head before touching the log: it is the evidence of what the log held.
  auto head = read_head_file(head_path);
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return Error{0, fmt::format("cannot open audit log {}: {}; check audit.path and that its "
                                "directory exists and is writable",
                                path, errno_text(errno))};
  log->m_fd = util::UniqueFd(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return Error{0, fmt::format("audit log {} is in use by another process; give each mcp-warden "
                                "process its own audit.path",
                                path)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return Error{0, fmt::format("audit log {} is not a regular file", path)};
  if ((st.st_mode & 077) != 0) (void)::fchmod(fd, 0600);
  int hfd = ::open(head_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (hfd < 0)
    return Error{0,
                 fmt::format("cannot open audit head file {}: {}", head_path, errno_text(errno))};
  log->m_head_fd = util::UniqueFd(hfd);
  if (::fstat(hfd, &st) == 0 && (st.st_mode & 077) != 0) (void)::fchmod(hfd, 0600);
  if (mode != FsyncMode::never) fsync_parent_dir(path);

  std::lock_guard lk(log->m_mu);
  WARDEN_TRY(log->recover(head));
  return log;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path, policy::FsyncMode mode,
                                                 const util::Clock& clock,
                                                 const AuditLogOptions& options) {
  auto m = parse_fsync_mode(policy::fsync_name(mode));
  return open(path, m.value_or(FsyncMode::always), clock, options);
}

Status AuditLog::recover(const Result<std::optional<Head>>& head_file) {
  const std::optional<Head> head = head_file.ok() ? *head_file : std::nullopt;
  const int fd = m_fd.get();
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Error{0, fmt::format("cannot stat audit log {}: {}", m_path, errno_text(errno))};
  const int64_t size = st.st_size;
  auto last_nl = find_last_byte(fd, '\n', size);
  if (!last_nl) return Error{0, fmt::format("audit log {}: {}", m_path, last_nl.error().message)};
  const int64_t complete_end = *last_nl + 1; // 0 when there is no complete line
  if (complete_end > 0) {
    auto prev_nl = find_last_byte(fd, '\n', *last_nl);
    if (!prev_nl) return Error{0, fmt::format("audit log {}: {}", m_path, prev_nl.error().message)};
    const int64_t start = *prev_nl + 1;
    if (*last_nl - start > static_cast<int64_t>(k_max_line_bytes))
      return Error{0, fmt::format("audit log {}: the last line is larger than {} bytes; this is "
                                  "not an mcp-warden audit log",
                                  m_path, k_max_line_bytes)};
    auto line = read_range(fd, start, *last_nl);
    if (!line) return Error{0, fmt::format("audit log {}: {}", m_path, line.error().message)};
    auto last = parse_last_record(*line);
    if (!last)
      return Error{0, fmt::format("audit log {}: cannot continue its chain: the last complete line "
                                  "is not an audit record ({}). Run `mcp-warden audit verify {}`; "
                                  "to start a new chain, move the file aside",
                                  m_path, last.error().message, m_path)};
    m_seq = m_written_seq = last->seq;
    m_prev = m_written_prev = last->hash;
  }
  const auto dropped = static_cast<uint64_t>(size - complete_end);
  if (dropped > 0 && ::ftruncate(fd, complete_end) != 0)
    return Error{0, fmt::format("audit log {}: cannot cut the partial last line: {}", m_path,
                                errno_text(errno))};
  m_size = static_cast<uint64_t>(complete_end);
  m_stats.recovered_partial_bytes = dropped;

  auto lifecycle = [&](std::string method, core::Finding f, std::string detail) {
    Record r;
    r.server = "mcp-warden";
    r.kind = Kind::lifecycle;
    r.direction = core::Direction::out;
    r.method = std::move(method);
    r.findings.push_back(std::move(f));
    r.detail = std::move(detail);
    (void)append_locked(render_record_body(r, RenderOptions{m_options.detail_cap}));
  };
  const std::string head_path = head_path_for(m_path);
  if (head && head->seq > m_written_seq) {
    std::string range = head->seq == m_written_seq + 1
                            ? fmt::format("record {} removed", head->seq)
                            : fmt::format("records {}..{} removed", m_written_seq + 1, head->seq);
    lifecycle("audit/reopen",
              {"audit.truncated", core::Severity::critical,
               fmt::format("log ended at seq {} but {} said {} ({} before this reopen)",
                           m_written_seq, head_path, head->seq, range),
               ""},
              fmt::format(R"({{"log_seq":{},"head_seq":{},"head_hash":"{}"}})", m_written_seq,
                          head->seq, head->hash));
  } else if (head && head->seq == m_written_seq && head->hash != m_written_prev) {
    lifecycle("audit/reopen",
              {"audit.head_mismatch", core::Severity::critical,
               fmt::format("the hash of seq {} differs from {} (the log was rewritten)",
                           m_written_seq, head_path),
               ""},
              fmt::format(R"({{"log_seq":{},"head_hash":"{}","log_hash":"{}"}})", m_written_seq,
                          head->hash, m_written_prev));
  }
  if (head_file.ok() && !head && m_written_seq > 0) {
    lifecycle("audit/reopen",
              {"audit.head_missing", core::Severity::high,
               fmt::format("{} was missing for a log of {} records; removal of trailing records "
                           "before this reopen cannot be ruled out",
                           head_path, m_written_seq),
               ""},
              "");
  }
  if (!head_file.ok()) {
    lifecycle("audit/reopen",
              {"audit.head_unreadable", core::Severity::critical,
               head_file.error().message + "; removal of trailing records before this reopen "
                                           "cannot be ruled out",
               ""},
              "");
  }
  if (dropped > 0) {
    lifecycle("audit/recover",
              {"audit.partial_record_dropped", core::Severity::low,
               fmt::format("dropped {} bytes of a partial last line left by an interrupted write "
                           "(crash or kill -9) after seq {}",
                           dropped, m_written_seq),
               ""},
              fmt::format(R"({{"dropped_bytes":{},"after_seq":{}}})", dropped, m_written_seq));
  }
  if (!m_error.empty()) return Error{0, fmt::format("audit log {}: {}", m_path, m_error)};
  write_head_locked();
  return Ok{};
}

uint64_t AuditLog::append(const Record& record) {
  std::string body = render_record_body(record, RenderOptions{m_options.detail_cap});
  std::lock_guard lk(m_mu);
  return append_locked(body);
}

uint64_t AuditLog::append_deferred(const Record& record) {
  std::string body = render_record_body(record, RenderOptions{m_options.detail_cap});
  std::lock_guard lk(m_mu);
  const bool was_empty = m_pending.empty();
  uint64_t seq = append_locked(body, true);
  if (seq && was_empty && !m_pending.empty() && m_request_flush) m_request_flush();
  return seq;
}

void AuditLog::set_flush_request(std::function<void()> request_flush) {
  std::lock_guard lk(m_mu);
  m_request_flush = std::move(request_flush);
}

uint64_t AuditLog::append_locked(std::string_view body, bool deferred) {
  if (!m_fd.valid()) {
    m_error = fmt::format("audit log {} is closed", m_path);
    ++m_stats.failures;
    return 0;
  }
  const uint64_t seq = m_seq + 1;
  SealedLine sealed =
      seal_record(seq, util::format_rfc3339_us(m_clock.now_unix_us()), m_prev, body);
  m_pending += sealed.line;
  m_pending += '\n';
  m_seq = seq;
  m_prev = std::move(sealed.hash);
  if ((deferred || m_batch_depth > 0) && m_pending.size() < m_options.max_batch_bytes) return seq;
  return flush_locked() ? seq : 0;
}

bool AuditLog::flush_locked() {
  if (m_pending.empty()) return true;
  const int fd = m_fd.get();
  const char* p = m_pending.data();
  size_t left = m_pending.size();
  int err = 0;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (err != 0) {
    // Cut back to the last complete record so the next write does not glue onto a fragment,
    // and roll the chain back: the records in m_pending do not exist.
    if (left != m_pending.size()) (void)::ftruncate(fd, static_cast<off_t>(m_size));
    m_error = fmt::format("write to audit log {} failed: {}", m_path, errno_text(err));
    ++m_stats.failures;
    m_seq = m_written_seq;
    m_prev = m_written_prev;
    m_pending.clear();
    return false;
  }
  uint64_t lines = 0;
  for (char c : m_pending)
    if (c == '\n') ++lines;
  m_size += m_pending.size();
  m_stats.bytes += m_pending.size();
  m_stats.records += lines;
  ++m_stats.writes;
  m_pending.clear();
  m_written_seq = m_seq;
  m_written_prev = m_prev;
  m_error.clear();
  m_dirty = true;
  if (m_mode == FsyncMode::always) maybe_sync_locked(true); // the log is durable before the head
  write_head_locked();
  if (m_mode == FsyncMode::batch) maybe_sync_locked(false);
  return true;
}

void AuditLog::maybe_sync_locked(bool force) {
  if (!m_dirty || m_mode == FsyncMode::never || !m_fd.valid()) return;
  const int64_t now = m_clock.now_mono_us();
  if (!force && now - m_last_sync_us < m_options.batch_sync_interval_us) return;
  (void)::fdatasync(m_fd.get());
  if (m_mode == FsyncMode::batch && m_head_fd.valid()) (void)::fdatasync(m_head_fd.get());
  ++m_stats.fsyncs;
  m_last_sync_us = now;
  m_dirty = false;
}

void AuditLog::write_head_locked() {
  if (!m_head_fd.valid()) return;
  std::string line = fmt::format("{} {}\n", m_written_seq, m_written_prev);
  ssize_t n;
  do {
    n = ::pwrite(m_head_fd.get(), line.data(), line.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(line.size()) && line.size() < m_head_len)
    (void)::ftruncate(m_head_fd.get(), static_cast<off_t>(line.size()));
  m_head_len = line.size();
}

void AuditLog::begin_batch() {
  std::lock_guard lk(m_mu);
  ++m_batch_depth;
}

Status AuditLog::end_batch() {
  std::lock_guard lk(m_mu);
  if (m_batch_depth > 0) --m_batch_depth;
  if (m_batch_depth > 0 || m_pending.empty()) return Ok{};
  if (!flush_locked()) return Error{0, m_error};
  return Ok{};
}

Status AuditLog::flush() {
  std::lock_guard lk(m_mu);
  if (!m_fd.valid() || m_pending.empty()) return Ok{};
  if (!flush_locked()) return Error{0, m_error};
  return Ok{};
}

void AuditLog::tick() {
  std::lock_guard lk(m_mu);
  maybe_sync_locked(false);
}

Status AuditLog::close() {
  std::lock_guard lk(m_mu);
  if (!m_fd.valid()) return Ok{};
  m_batch_depth = 0;
  bool ok = flush_locked();
  std::string err = m_error;
  if (m_mode != FsyncMode::never) {
    if (m_dirty) {
      (void)::fdatasync(m_fd.get());
      ++m_stats.fsyncs;
      m_dirty = false;
    }
    if (m_head_fd.valid()) (void)::fdatasync(m_head_fd.get());
  }
  m_fd.reset();
  m_head_fd.reset();
  if (!ok) return Error{0, err};
  return Ok{};
}

uint64_t AuditLog::last_seq() const {
  std::lock_guard lk(m_mu);
  return m_written_seq;
}

std::string AuditLog::last_hash() const {
  std::lock_guard lk(m_mu);
  return m_written_prev;
}

bool AuditLog::healthy() const {
  std::lock_guard lk(m_mu);
  return m_error.empty();
}

std::string AuditLog::last_error() const {
  std::lock_guard lk(m_mu);
  return m_error;
}

AuditLog::Stats AuditLog::stats() const {
  std::lock_guard lk(m_mu);
  return m_stats;
}

} // namespace warden::audit
