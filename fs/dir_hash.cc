// da_hashname: the name hash of directory and attr da btrees.
//
// From the XFS Algorithms & Data Structures document ("Directory and
// Attribute Block Headers", the da btree hash): the hash starts at 0 and
// takes the name 4 bytes at a time, each group folded in as
// b0 << 21 ^ b1 << 14 ^ b2 << 7 ^ b3 ^ rotl(hash, 28); a last group of n < 4
// bytes folds in its bytes the same way (the first shifted by 7 * (n - 1))
// with the hash rotated left by 7 * n.  Bytes are unsigned.
#include <bit>

#include "fs/dir.h"

namespace xfsfuse::fs {

uint32_t da_hashname(std::string_view name) {
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  size_t n = name.size();
  uint32_t hash = 0;
  for (; n >= 4; n -= 4, p += 4)
    hash = (uint32_t{p[0]} << 21) ^ (uint32_t{p[1]} << 14) ^ (uint32_t{p[2]} << 7) ^ p[3] ^ std::rotl(hash, 28);
  uint32_t tail = 0;
  for (size_t i = 0; i < n; i++) tail ^= uint32_t{p[i]} << (7 * (n - 1 - i));
  return n ? tail ^ std::rotl(hash, static_cast<int>(7 * n)) : hash;
}

}  // namespace xfsfuse::fs
