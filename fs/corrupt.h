// fs/corrupt.h — how fs/ decoders report a structure that fails a check:
// EUCLEAN ("Structure needs cleaning", as the kernel's XFS returns) with a
// short reason for the caller's one log line.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

namespace xfsfuse::fs {

/// Stores msg in *why and returns EUCLEAN.
inline int corrupt(std::string* why, std::string msg) {
  *why = std::move(msg);
  return EUCLEAN;
}

/// "0x..." for reasons and log lines.
inline std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace xfsfuse::fs
