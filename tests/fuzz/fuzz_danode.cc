// tests/fuzz/fuzz_danode.cc — libFuzzer target: da node blocks of a node-form directory and a
// node-form attr fork: da_node_check, the verifier, lookups, iteration and
// deep checks
// (input: tests/fuzz/harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return xfsfuse::fuzz::run_block_target(xfsfuse::fuzz::Family::kDaNode, data, size);
}
