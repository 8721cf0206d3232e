// tools/churn_options.h — the command line of xfsfuse-churn (getopt_long).
//
// Called once, from main, before anything else runs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace xfsfuse::tools::churn {

/// What one invocation measures.  Defaults are the experiment of the original
/// XFS lazy-unmap discussion: 100,000 files, 5 traversals, every policy.
struct Options {
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
};

/// Parses argv into *o.  Returns 0 when the run should go ahead, 1 when --help or --version
/// was printed (exit 0), 2 on a bad option or value with *err set to one line
/// (no program-name prefix).
int parse_options(int argc, char** argv, Options* o, std::string* err);

/// Writes the --help text (every option) to f.
void print_usage(FILE* f);

}  // namespace xfsfuse::tools::churn
