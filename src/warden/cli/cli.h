// Command-line entry: one file per command under cli/, registered here.
#pragma once

namespace warden::cli {

int main(int argc, char** argv);

// Exit codes (DESIGN section 3).
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_findings = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_quarantined = 3;

}  // namespace warden::cli
