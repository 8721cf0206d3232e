// fs/ag.h — AG headers: the AGF (free space, sector 1 of each AG) and the AGI
// (inodes, sector 2), read through the buffer cache with their verifiers.
//
// Verified: magic ("XAGF"/"XAGI"), CRC over the sector, uuid (by the cache),
// version 1, seqno == agno, length == the AG's size (the last AG may be
// shorter), counters within the AG.  Format: XFS Algorithms & Data
// Structures, "AG Free Space Management" and "AG Inode Management".
// Thread safety: every function may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "buffer_cache/buffer_cache.h"
#include "fs/superblock.h"

namespace xfsfuse::fs {

inline constexpr uint32_t kAgfMagic = 0x58414746;  // "XAGF"
inline constexpr uint32_t kAgiMagic = 0x58414749;  // "XAGI"

/// What statfs and the checkers need from an AGF, host-endian (fsblocks).
struct AgfInfo {
  uint32_t length = 0;
  uint32_t freeblks = 0, longest = 0, flcount = 0, btreeblks = 0;
  uint32_t rmap_blocks = 0, refcount_blocks = 0;
};

/// What statfs needs from an AGI.
struct AgiInfo {
  uint32_t length = 0;
  uint32_t count = 0, freecount = 0;  ///< allocated inodes, free among them
  uint32_t iblocks = 0, fblocks = 0;  ///< inobt and finobt blocks (inobtcount feature)
};

/// Fsblocks in AG agno (the last AG holds what is left of sb_dblocks).
uint32_t ag_length(const Superblock& sb, uint32_t agno);

/// Reads AG headers of one filesystem; owns their verifiers (buffers keep a
/// pointer to the ops that created them, so the ops live as long as this).
class AgHeaders {
 public:
  explicit AgHeaders(const Superblock& sb);
  ~AgHeaders();
  /// Reads and checks AG agno's AGF / AGI.  Returns 0, EINVAL (agno out of
  /// range), EUCLEAN (logged once by the cache), EIO.
  int read_agf(bc::BufferCache& cache, uint32_t agno, AgfInfo* out) const;
  int read_agi(bc::BufferCache& cache, uint32_t agno, AgiInfo* out) const;

 private:
  const Superblock sb_;
  std::unique_ptr<const bc::BufOps> agf_ops_, agi_ops_;
};

}  // namespace xfsfuse::fs
