// tools/dirstress_phases.h — one worker's sequence of calls, dirstress's three
// phases, run against any DirOps (the real directory or the --verify model).
//
//   create    i = 0..nfiles-1: name "XXXXXXXXXXXX.i"; i % 4 picks creat, mkdir,
//             symlink (to its own name) or mknod (character device 0:0)
//   scramble  i = 0..2*nfiles-1: i % 5 picks rename(random, random),
//             unlink(random), rmdir(random), creat(random), mkdir(random),
//             each "random" a name index drawn from the seeded Rng
//   remove    i = 0..nfiles-1: lstat the name; a directory is rmdir'ed,
//             anything else unlinked; a failed lstat is skipped
// With check (-c) the first failed call (lstat excepted) ends the worker with
// status 1; without it failures are only counted.  -C stops after create; -k
// skips remove.  The sequence of calls depends only on the options and on the
// seed (and, in remove, on lstat's answers).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "tools/dirstress_ops.h"

namespace xfsfuse::tools::dirstress {

/// The kinds of call, the rows of the statistics.
enum class OpKind : uint8_t { creat, mkdir, symlink, mknod, rename, unlink, rmdir, lstat };
inline constexpr int kOpKinds = 8;
const char* op_name(OpKind k);

/// The name of entry index i: "XXXXXXXXXXXX.i", as dirstress names them.
std::string entry_name(uint64_t i);

/// A deterministic generator (SplitMix64), the same sequence on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// A value in [0, n); n > 0.
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

/// One call made: its kind, the entry indexes it named (b: rename's target,
/// else 0), its result (0 or a positive errno).
struct OpRecord {
  OpKind kind;
  uint32_t a, b;
  int err;
  bool operator==(const OpRecord&) const = default;
};

/// Where a worker reports its calls.  Called from the worker's thread only.
class OpSink {
 public:
  virtual ~OpSink() = default;
  /// After each call; ns: its wall time in nanoseconds.
  virtual void op_done(const OpRecord& rec, uint64_t ns) = 0;
  /// At the end of the last phase that leaves entries ("before-remove"), and
  /// at the end ("end"); -k and -C give only "end".
  virtual void checkpoint(const char* label) = 0;
};

struct PhaseOptions {
  uint32_t nfiles = 100;
  uint64_t seed = 0;
  bool keep = false;         ///< -k
  bool check = false;        ///< -c
  bool create_only = false;  ///< -C
  int verbose = 0;           ///< -v: every call on log
  FILE* log = nullptr;       ///< where calls (-v) and the failure ending a -c run go; null: nowhere
  std::string tag;           ///< prefix of log lines, e.g. "[w3 stress.3]"
};

/// Runs the phases against ops.  Returns 0, or 1 when -c ended the run on a
/// failed call.  Failures without -c are only reported to sink.
int run_phases(DirOps& ops, const PhaseOptions& o, OpSink& sink);

}  // namespace xfsfuse::tools::dirstress
