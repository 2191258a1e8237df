// The tamper-evident audit log: one hash-chained JSON record per line (record.h, docs/audit.md).
//
// Typical use (the relay, one log per process):
//
//   auto log = audit::AuditLog::open("warden-audit.jsonl", audit::FsyncMode::batch, clock);
//   if (!log) fail_closed(log.error().message);
//   {
//     audit::AuditLog::BatchScope batch(**log);   // every record of one read() chunk ...
//     uint64_t seq = (*log)->append(record);        // ... goes out in a single write(2)
//   }
//   (*log)->tick();                                 // from the event loop: batch-mode fdatasync
//
// Guarantees:
// - Outside a batch, append() has written the line with write(2) before it returns, so a kill -9
//   right after loses nothing. Inside a batch the lines are written when the outermost batch ends;
//   append_deferred() lines by the next flush(). Either way the caller forwards a message only
//   after its line is written, so a kill -9 loses records of nothing that was forwarded.
// - The file is opened O_APPEND, mode 0600, and locked (flock) so two processes cannot interleave
//   two chains in one file.
// - After every write, PATH.head is rewritten in place with `SEQ HASH\n` of the last record, so a
//   removal of whole trailing records is detectable (verify.h).
// - Opening an existing log continues its chain. A partial last line (an interrupted write) is cut
//   away and a `lifecycle` record with the number of dropped bytes is appended. A log shorter than
//   its head file says gets a `lifecycle` record with an `audit.truncated` finding, which verify
//   reports as a failure for ever after; a missing head file for a non-empty log is recorded as
//   `audit.head_missing` (a verify warning).
// - No exceptions. append() returns 0 and last_error() says why when the write failed; the file
//   is then cut back to its last complete record and the chain is not advanced. Callers on the
//   message path should fail closed.
// - Thread-safe: every member function may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "warden/audit/record.h"
#include "warden/util/clock.h"
#include "warden/util/fd.h"
#include "warden/util/result.h"

namespace warden::policy {
enum class FsyncMode; // the policy's `audit.fsync` (policy/model.h)
}

namespace warden::audit {

// always: fdatasync after every write. batch: fdatasync at most every 100 ms, from append() or
// tick(), and on close. never: leave it to the kernel.
enum class FsyncMode { always, batch, never };
const char* fsync_mode_name(FsyncMode m);
std::optional<FsyncMode> parse_fsync_mode(std::string_view s);

struct AuditLogOptions {
  size_t detail_cap = k_default_detail_cap; // see RenderOptions
  int64_t batch_sync_interval_us = 100'000; // FsyncMode::batch
  size_t max_batch_bytes = 1 << 20;         // a batch larger than this is written early
};

// The head file: `SEQ HASH\n` of the last record written.
struct Head {
  uint64_t seq = 0;
  std::string hash;
};
std::string head_path_for(const std::string& log_path); // PATH + ".head"
// nullopt if the file does not exist; an error if it exists but cannot be read or parsed.
Result<std::optional<Head>> read_head_file(const std::string& head_path);

class AuditLog {
public:
  static Result<std::unique_ptr<AuditLog>> open(const std::string& path, FsyncMode mode,
                                                const util::Clock& clock,
                                                const AuditLogOptions& options = {});
  // The same with the policy's `audit.fsync` value.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& path, policy::FsyncMode mode,
                                                const util::Clock& clock,
                                                const AuditLogOptions& options = {});
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one record and returns its seq (from 1), or 0 if it could not be written.
  uint64_t append(const Record& record);

  // Deferred appends, for an event loop that forwards what it checked only after flush(): the
  // record gets its seq and place in the chain now, and its line is written by the next flush()
  // (or by any append() on any thread, which writes every line before its own, or early once
  // max_batch_bytes wait). The caller must call flush() before it forwards anything such a record
  // describes, and treat a failed flush (or a rise in stats().failures) as records lost.
  // `request_flush` (set_flush_request) is called, under the log's lock, when the first deferred
  // line starts to wait: the HTTP gateway posts a flush to the end of its event-loop turn, so every
  // record of one turn goes out in one write(2). Returns 0 if the log is closed.
  uint64_t append_deferred(const Record& record);
  void set_flush_request(std::function<void()> request_flush);

  // Batching: appends between begin_batch() and the matching end_batch() get their seq at once
  // but are written together, in one write(2), when the outermost batch ends. Batches nest and are
  // shared by all threads. end_batch() returns the write's status; on failure the seqs handed out
  // inside the batch were not written and will be reused.
  void begin_batch();
  Status end_batch();
  class BatchScope {
  public:
    explicit BatchScope(AuditLog& log) : m_log(&log) { log.begin_batch(); }
    ~BatchScope() { (void)finish(); }
    BatchScope(const BatchScope&) = delete;
    BatchScope& operator=(const BatchScope&) = delete;
    Status finish() { // ends the batch now; later calls return Ok
      if (!m_log) return Ok{};
      return std::exchange(m_log, nullptr)->end_batch();
    }

  private:
    AuditLog* m_log;
  };

  // Writes the lines of an open batch and the deferred lines now, without ending the batch (a
  // no-op when nothing waits). The relay calls it before it forwards a chunk's output, the HTTP
  // gateway before every write to a peer, so nothing is forwarded that is not recorded.
  Status flush();

  // Call from the owner's event loop (e.g. every 50 ms): in batch mode, fdatasync if data is
  // waiting and the interval has passed. Cheap when there is nothing to do.
  void tick();

  // Writes any open batch, syncs (unless never) and closes. Later appends fail. Idempotent.
  Status close();

  uint64_t last_seq() const;
  std::string last_hash() const;
  const std::string& path() const { return m_path; }
  bool healthy() const;           // false after a failed write, until a write succeeds
  std::string last_error() const; // why the last failed write failed

  struct Stats {
    uint64_t records = 0; // records written by this process
    uint64_t writes = 0;  // write(2) calls that wrote records
    uint64_t fsyncs = 0;
    uint64_t bytes = 0;
    uint64_t failures = 0;                // writes that failed
    uint64_t recovered_partial_bytes = 0; // dropped at open (an interrupted write)
  };
  Stats stats() const;

private:
  AuditLog(std::string path, FsyncMode mode, const util::Clock& clock, AuditLogOptions options);
  Status recover(const Result<std::optional<Head>>& head_file);
  uint64_t append_locked(std::string_view body, bool deferred = false);
  bool flush_locked();
  void maybe_sync_locked(bool force);
  void write_head_locked();

  const std::string m_path;
  const FsyncMode m_mode;
  const util::Clock& m_clock;
  const AuditLogOptions m_options;

  mutable std::mutex m_mu;
  util::UniqueFd m_fd;
  util::UniqueFd m_head_fd;
  uint64_t m_seq = 0;              // last seq handed out
  std::string m_prev{k_zero_hash}; // hash of that record
  uint64_t m_written_seq = 0;      // last seq on disk
  std::string m_written_prev{k_zero_hash};
  uint64_t m_size = 0;   // bytes of complete records in the file
  std::string m_pending; // lines not yet written (inside a batch)
  int m_batch_depth = 0;
  std::function<void()> m_request_flush;
  bool m_dirty = false;       // written but not yet fdatasync'ed
  int64_t m_last_sync_us = 0; // monotonic
  size_t m_head_len = 0;
  std::string m_error;
  Stats m_stats;
};

} // namespace warden::audit
