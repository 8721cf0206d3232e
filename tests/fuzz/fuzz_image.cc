// tests/fuzz/fuzz_image.cc — libFuzzer target over a whole seed image: the
// input edits any of its metadata regions (every region of every family of
// tests/fuzz/harness.h), then the image is mounted read-only and walked from
// the root (every entry point per inode, at most 64 children a directory),
// and every fsck phase runs over it.  When fsck finds nothing wrong, the
// read-write check (rw_check, harness.h) runs on a copy.
//
// Input: byte 0 = flags (bit 0: the image with 64 KiB directory blocks), then
// edits, each: region index (2 bytes, big-endian, modulo the region count),
// byte offset in it (2 bytes, modulo its size), n = byte & 0x7f bytes to lay
// there (bit 7: keep the region's header as edited, else its uuid, blkno,
// owner and CRC are rewritten), then the n bytes.
#include <map>

#include "tests/fuzz/harness.h"

using namespace xfsfuse::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  SeedImage& img = SeedImage::get(data[0] & 1);
  const std::vector<const Region*> all = img.all_regions();
  std::map<const Region*, std::pair<std::vector<std::byte>, bool>> edits;  // bytes, fix
  for (size_t i = 1; i + 5 <= size;) {
    const Region* r = all[(data[i] << 8 | data[i + 1]) % all.size()];
    const size_t off = (data[i + 2] << 8 | data[i + 3]) % r->size;
    const size_t n = std::min<size_t>(data[i + 4] & 0x7f, size - i - 5);
    auto [it, fresh] = edits.try_emplace(r, r->orig, true);
    if (data[i + 4] & 0x80) it->second.second = false;
    for (size_t k = 0; k < n && off + k < r->size; k++) it->second.first[off + k] = std::byte(data[i + 5 + k]);
    i += 5 + n;
  }
  for (auto& [r, e] : edits) img.write(*r, e.first, e.second);
  bool clean = false;
  if (auto m = img.mount()) {
    walk_tree(*m, 64);
    clean = run_fsck(*m, true) == 0;
  }
  if (clean) rw_check(img);
  img.restore();
  return 0;
}
