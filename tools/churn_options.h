// tools/churn_options.h — the command line of xfsfuse-churn (getopt_long).
//
// Called once, from main, before anything else runs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/dirstress_options.h"

namespace xfsfuse::tools::churn {

/// What one invocation measures.  Defaults are the experiment of the original
/// XFS lazy-unmap discussion: 100,000 files, 5 traversals, every policy.
/// --workload dirstress instead runs xfsfuse-dirstress's workload once per
/// (pool, policy) on a fresh rw mount of a fresh empty image.
struct Options {
  std::string workload = "traverse";  ///< --workload: traverse or dirstress
  uint32_t files = 100000;       ///< regular files in /d of a built image (1..2,000,000)
  uint32_t traversals = 5;       ///< traversals per policy, caches dropped before each (1..1000)
  std::vector<std::string> policies{"eager", "lazy", "lazy-noref"};  ///< in the order run
  uint32_t batch = 64;           ///< xfsfuse -o vmap_batch (1..65536)
  uint32_t threads = 1;          ///< walker threads (1..64)
  uint32_t cache_mb = 0;         ///< xfsfuse -o cache_mb, MiB; 0: the driver's default
  bool vmap_all = true;          ///< xfsfuse -o vmap_all (off with --no-vmap-all)
  bool kernel = false;           ///< also traverse a loop mount through the kernel's XFS
  std::string image;             ///< --image: reuse or build here; empty: a temporary image
  std::string json_out;          ///< --json: where to write the JSON report; empty: none
  std::string plot_out;          ///< --plot: where to write the PNG; empty: none
  std::string xfsfuse;           ///< --xfsfuse: the driver binary; empty: found by main
  // The dirstress workload only.
  std::vector<std::string> pools;   ///< --pools: "default" and/or "vmap_all", in the order run
  std::string fsck;                 ///< --fsck: xfsfuse-fsck; empty: found by main
  std::vector<std::string> dirstress_args;  ///< the arguments after "--", as given
  dirstress::Options dirstress;     ///< those parsed by xfsfuse-dirstress's parser; dir unset
};

/// Parses argv into *o.  With --workload dirstress the arguments after "--"
/// go to dirstress::parse_options (which prints its own usage errors; -d and
/// --json are refused: the workload runs in the mount, its numbers go to
/// churn's report).  Returns 0 when the run should go ahead, 1 when --help or
/// --version was printed (exit 0), 2 on a bad option or value with *err set to
/// one line (no program-name prefix; empty when dirstress's parser printed it).
int parse_options(int argc, char** argv, Options* o, std::string* err);

/// Writes the --help text (every option) to f.
void print_usage(FILE* f);

}  // namespace xfsfuse::tools::churn
