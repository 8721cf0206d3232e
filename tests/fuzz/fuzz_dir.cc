// tests/fuzz/fuzz_dir.cc — libFuzzer target: directory data, block, leaf and
// free blocks (4 KiB and 64 KiB) and short-form directories, read through
// dir_iterate, dir_lookup and dir_deep_check (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kDir, data, size);
}
