// fs/log/log_dinode.h — the logged inode core (host-endian, the field
// offsets of the on-disk v3 dinode) to and from the on-disk core: what an
// inode item carries (docs/log.md "Items recovery replays").
// Thread safety: pure functions.
#pragma once

#include <cstddef>

namespace xfsfuse::fs::xlog {

/// Converts the logged v3 inode core at in (176 bytes, host-endian) to the
/// on-disk one at out, field by field; di_onlink becomes 0.  di_next_unlinked,
/// di_crc and di_lsn of out are left as they were: the caller's.
void log_dinode_to_disk(const std::byte* in, std::byte* out);

/// The inverse: the on-disk v3 core at in (176 bytes) as the kernel logs
/// it at out: every integer host-endian, di_onlink and di_crc 0,
/// di_next_unlinked all ones (unlinked pointers travel in inode buffer
/// items, never in the logged core).
void disk_to_log_dinode(const std::byte* in, std::byte* out);

}  // namespace xfsfuse::fs::xlog
