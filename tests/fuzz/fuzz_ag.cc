// tests/fuzz/fuzz_ag.cc — libFuzzer target: AGF, AGI and AGFL sectors of both AGs: the verifiers,
// decode_agf / decode_agi, Mount::open, statfs, fsck's AG phase
// (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kAg, data, size);
}
