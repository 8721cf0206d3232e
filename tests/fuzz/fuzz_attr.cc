// tests/fuzz/fuzz_attr.cc — libFuzzer target: short-form attr forks, attr leaf blocks and remote value
// blocks: sf_decode, leaf_block_ok, the fsck checks, attr_list / attr_get,
// attr_deep_check
// (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kAttr, data, size);
}
