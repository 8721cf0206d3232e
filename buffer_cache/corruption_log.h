// buffer_cache/corruption_log.h — where metadata corruption is reported.
//
// Every layer that finds a structure failing its checks (a buffer's
// verifier here, a btree block in btree/, an inode or directory in fs/)
// reports it through log_corruption(): one report per finding, naming the
// structure, its disk address and why.  By default each becomes one line on
// stderr, "xfsfuse: metadata corruption: STRUCTURE at daddr 0xD: WHY" (the
// driver's log line; stderr goes to syslog once the driver detaches).  A
// program that reports findings its own way (xfsfuse-fsck) installs a sink.
// Thread safety: log_corruption() from any thread; set_corruption_sink()
// while no other thread can report (at startup).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace xfsfuse::bc {

/// daddr of a report that has no disk address (a btree root in an inode).
inline constexpr uint64_t kNoCorruptionDaddr = UINT64_MAX;

/// structure: its standard name ("dir3 data", "bnobt block", "inode"...);
/// daddr: 512-byte sector where it lives, or kNoCorruptionDaddr; why: one
/// sentence without a trailing period.
using CorruptionSink = std::function<void(std::string_view structure, uint64_t daddr, std::string_view why)>;

/// Reports one finding to the sink (stderr by default).
void log_corruption(std::string_view structure, uint64_t daddr, std::string_view why);

/// Replaces the sink; an empty function restores the stderr line.
void set_corruption_sink(CorruptionSink sink);

}  // namespace xfsfuse::bc
