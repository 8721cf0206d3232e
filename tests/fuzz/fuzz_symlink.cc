// tests/fuzz/fuzz_symlink.cc — libFuzzer target: inline symlink targets and remote symlink blocks:
// the verifier and read_symlink
// (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kSymlink, data, size);
}
