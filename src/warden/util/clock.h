// Injected time: logic that is tested never reads the wall clock directly.
#pragma once

#include <cstdint>
#include <string>

namespace warden::util {

class Clock {
public:
  virtual ~Clock() = default;
  virtual int64_t now_unix_us() const = 0;  // wall clock, for audit timestamps
  virtual int64_t now_mono_us() const = 0;  // monotonic, for latency and rate limits
};

class SystemClock final : public Clock {
public:
  int64_t now_unix_us() const override;
  int64_t now_mono_us() const override;
  static const SystemClock& instance();
};

class ManualClock final : public Clock {
public:
  int64_t now_unix_us() const override { return m_unix_us; }
  int64_t now_mono_us() const override { return m_mono_us; }
  void advance_us(int64_t us) { m_unix_us += us; m_mono_us += us; }
  void set_unix_us(int64_t us) { m_unix_us = us; }

private:
  int64_t m_unix_us = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
  int64_t m_mono_us = 1'000'000;
};

// RFC 3339 UTC with microseconds: 2026-01-01T00:00:00.000000Z
std::string format_rfc3339_us(int64_t unix_us);
// Parses RFC 3339 (Z or offset, optional fraction) or a plain date YYYY-MM-DD; false if invalid.
bool parse_rfc3339_us(const std::string& s, int64_t& unix_us);

}  // namespace warden::util
