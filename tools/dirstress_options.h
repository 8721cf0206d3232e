// tools/dirstress_options.h — xfsfuse-dirstress's command line (getopt_long).
// Called once, from main.
#pragma once

#include <cstdint>
#include <string>

namespace xfsfuse::tools::dirstress {

/// One run.  The letters are dirstress's (xfstests src/dirstress.c).
struct Options {
  std::string dir;              ///< -d: where stressdir/ is made (required)
  uint32_t nprocs = 4;          ///< -p: workers
  uint32_t nfiles = 100;        ///< -f: entries each worker creates
  uint32_t procs_per_dir = 1;   ///< -n: workers sharing one stressdir/stress.N
  uint64_t seed = 0;            ///< -s (strtol base 0); default: time(NULL)
  bool keep = false;            ///< -k: no remove phase, stressdir kept
  int verbose = 0;              ///< -v: every call on stderr
  bool check = false;           ///< -c: any failed call fails its worker
  bool create_only = false;     ///< -C: create phase only
  bool threads = false;         ///< --threads: workers are threads, not processes
  bool verify = false;          ///< --verify: compare with the replay (needs -n 1)
  std::string json;             ///< --json FILE: the report; empty: none
  bool version = false;         ///< --version: main prints the version and exits
};

/// Parses argv into *o.  Returns 0 to run, 1 after --help (printed to stdout)
/// or for --version (o->version set), 2 on a usage error (message and usage
/// on stderr).
int parse_options(int argc, char** argv, Options* o);

}  // namespace xfsfuse::tools::dirstress
