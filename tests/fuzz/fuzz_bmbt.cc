// tests/fuzz/fuzz_bmbt.cc — libFuzzer target: bmbt blocks of a 600-extent file: the verifier, and iget
// (bmbt_walk flattening the fork) and read_data
// (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kBmbt, data, size);
}
