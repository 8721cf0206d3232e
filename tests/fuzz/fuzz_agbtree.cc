// tests/fuzz/fuzz_agbtree.cc — libFuzzer target: bnobt, cntbt, inobt and finobt root blocks: the
// verifier and fsck's AG phase (sbtree_walk), statfs, iget of the root
// (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kAgBtree, data, size);
}
