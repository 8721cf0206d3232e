// tools/fsck/problems.h — what xfsfuse-fsck found, one Problem per finding.
//
// Every check reports through one Reporter.  A problem's line (stderr-free:
// printed to stdout unless --json) reads
//   STRUCTURE agno A ino I daddr 0xD: WHAT
// with the agno / ino / daddr parts left out when they do not apply.
// Warnings are findings xfs_repair -n does not count as problems (it rebuilds
// those structures whole, or accepts the value): printed as "warning: LINE",
// kept apart, and not counted, so the exit status agrees with xfs_repair -n
// while nothing found is hidden.
// Details are what the driver's code logs when a structure fails its checks
// as it is read (buffer_cache/corruption_log.h): printed as "detail: LINE"
// (the block's own daddr and the check that failed), not counted: the
// check that met the failure reports the problem.
// Thread safety: Reporter may be used from any thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace xfsfuse::fsck {

inline constexpr int64_t kNoAg = -1;
inline constexpr uint64_t kNoIno = 0;
inline constexpr uint64_t kNoDaddr = UINT64_MAX;

/// One finding.  structure: the standard name of what is wrong ("superblock",
/// "secondary superblock", "agf", "agi", "agfl", "bnobt", "cntbt", "inobt",
/// "finobt", "refcountbt", "rmapbt", "inode", "bmbt", "directory", "attr",
/// "space", "counters").  what: one sentence, no trailing period, e.g.
/// "agf_freeblks 100 but the bnobt holds 98 free blocks".
struct Problem {
  std::string structure;
  int64_t agno = kNoAg;
  uint64_t ino = kNoIno;
  uint64_t daddr = kNoDaddr;  ///< 512-byte sector of the structure
  std::string what;
};

/// The one line for p (see the file comment), without a newline.
std::string format_problem(const Problem& p);

class Reporter {
 public:
  /// print: write each problem's line to out as it is reported (false for --json).
  Reporter(bool print, FILE* out) : print_(print), out_(out) {}
  void report(Problem p);
  /// Shorthand for report(Problem{...}).
  void report(std::string structure, int64_t agno, uint64_t ino, uint64_t daddr, std::string what) {
    report(Problem{std::move(structure), agno, ino, daddr, std::move(what)});
  }
  /// A finding that does not make the filesystem unclean (see the file comment).
  void warn(Problem p);
  /// A corruption the driver's readers logged (see the file comment).
  void detail(Problem p);
  /// Problems reported (warnings and details not counted).
  size_t count() const;
  std::vector<Problem> problems() const;
  std::vector<Problem> warnings() const;
  std::vector<Problem> details() const;

 private:
  const bool print_;
  FILE* const out_;
  mutable std::mutex mu_;
  std::vector<Problem> problems_;  // GUARDED_BY(mu_)
  std::vector<Problem> warnings_;  // GUARDED_BY(mu_)
  std::vector<Problem> details_;   // GUARDED_BY(mu_)
};

}  // namespace xfsfuse::fsck
