// tools/dirstress_verify.h — --verify: a worker alone in its directory leaves
// a tree that is a function of the options, the seed and the starting
// contents; replay the same phases on ModelDir and compare every call's result
// and the tree at each checkpoint with what the real run saw.
//
// Used by one worker for its own run; no shared state.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tools/dirstress_model.h"
#include "tools/dirstress_phases.h"

namespace xfsfuse::tools::dirstress {

/// A tree at a checkpoint of run_phases ("before-remove", "end").
using Checkpoints = std::vector<std::pair<std::string, Tree>>;

/// What a run did: every call, and the tree at every checkpoint.
struct RunLog {
  std::vector<OpRecord> ops;
  Checkpoints checkpoints;
};

/// The differences between two trees, one line each ("extra d XXXXXXXXXXXX.5",
/// "missing ...", "XXXXXXXXXXXX.2: type l, expected f", target differences).
std::vector<std::string> diff_trees(const Tree& expected, const Tree& actual);

/// Replays o (its log fields ignored) on a ModelDir starting from initial, with
/// mknod_errno as the model's mknod answer, and returns the differences from
/// real: calls whose result differs (the first 20), a differing call count, and
/// tree differences per checkpoint (the first 20 lines each).  Empty: the run
/// matches.
std::vector<std::string> verify_run(const Tree& initial, const PhaseOptions& o, int mknod_errno, const RunLog& real);

/// The replay alone: the model's RunLog (for tests and for verify_run).
RunLog replay(const Tree& initial, const PhaseOptions& o, int mknod_errno);

}  // namespace xfsfuse::tools::dirstress
