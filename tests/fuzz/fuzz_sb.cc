// tests/fuzz/fuzz_sb.cc — libFuzzer target: primary and secondary superblocks: decode_superblock,
// judge_features, Mount::open, statfs and fsck's superblock and AG phases
// (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kSb, data, size);
}
