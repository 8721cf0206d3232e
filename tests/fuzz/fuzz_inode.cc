// tests/fuzz/fuzz_inode.cc — libFuzzer target: the inode core and both forks of a directory of every
// form, files, symlinks, xattr-holding files and a bmbt file: decode_inode,
// decode_extent_fork, iget and the walk of the inode's type
// (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kInode, data, size);
}
