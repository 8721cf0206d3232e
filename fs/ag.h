// fs/ag.h — AG headers: the AGF (free space, sector 1 of each AG), the AGI
// (inodes, sector 2) and the AGFL (free list, sector 3), read through the
// buffer cache with their verifiers.
//
// Verifiers: BufOpsSet::agf(), agi(), agfl() (fs/buf_ops.h).  Header
// addresses and AG lengths: fs/format/geometry.h (ag_header_daddr,
// ag_length).  Format: XFS Algorithms & Data Structures, "AG Free Space
// Management" and "AG Inode Management".
// Thread safety: every function may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "buffer_cache/buffer_cache.h"
#include "fs/buf_ops.h"
#include "fs/superblock.h"

namespace xfsfuse::fs {

inline constexpr uint32_t kNullAgblock = 0xffffffff;  ///< NULLAGBLOCK (and NULLAGINO)
inline constexpr size_t kAgflHeaderSize = 36;  ///< the AGFL's be32 agbno array starts here

/// What statfs and the checkers need from an AGF, host-endian (fsblocks).
struct AgfInfo {
  uint32_t length = 0;
  uint32_t freeblks = 0, longest = 0, flcount = 0, btreeblks = 0;
  uint32_t rmap_blocks = 0, refcount_blocks = 0;
  uint32_t versionnum = 0, seqno = 0;
  std::array<uint32_t, 3> roots{}, levels{};  ///< bnobt, cntbt, rmapbt root agbno and height
  uint32_t flfirst = 0, fllast = 0;           ///< active AGFL slots (may wrap)
  uint32_t refcount_root = 0, refcount_level = 0;
};

/// What statfs and the checkers need from an AGI, host-endian.
struct AgiInfo {
  uint32_t length = 0;
  uint32_t count = 0, freecount = 0;  ///< allocated inodes, free among them
  uint32_t iblocks = 0, fblocks = 0;  ///< inobt and finobt blocks (inobtcount feature)
  uint32_t versionnum = 0, seqno = 0;
  uint32_t root = 0, level = 0, free_root = 0, free_level = 0;  ///< inobt, finobt (agbno, height)
  uint32_t newino = 0, dirino = 0;     ///< agino hints
  std::array<uint32_t, 64> unlinked{};  ///< unlinked-list buckets (agino; kNullAgblock when empty)
};

/// Decodes an AGF / AGI sector (at least sizeof(xd_agf / xd_agi) bytes; not
/// verified: see AgHeaders for the verifiers).
void decode_agf(std::span<const std::byte> sector, AgfInfo* out);
void decode_agi(std::span<const std::byte> sector, AgiInfo* out);

/// Reads AG headers of one filesystem with the verifiers of its BufOpsSet
/// (fs/buf_ops.h), which must outlive this.
class AgHeaders {
 public:
  explicit AgHeaders(const BufOpsSet& ops) : ops_(ops) {}
  /// Reads and checks AG agno's AGF / AGI.  Returns 0, EINVAL (agno out of
  /// range), EUCLEAN (logged once by the cache), EIO.
  int read_agf(bc::BufferCache& cache, uint32_t agno, AgfInfo* out) const;
  int read_agi(bc::BufferCache& cache, uint32_t agno, AgiInfo* out) const;

 private:
  const BufOpsSet& ops_;
};

}  // namespace xfsfuse::fs
