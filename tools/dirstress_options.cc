// tools/dirstress_options.cc — getopt_long for xfsfuse-dirstress.
#include "tools/dirstress_options.h"

#include <getopt.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace xfsfuse::tools::dirstress {

namespace {

const char kUsage[] =
    "usage: xfsfuse-dirstress -d DIR [-p NPROCS] [-f NFILES] [-n PROCS_PER_DIR] [-s SEED]\n"
    "                         [-k] [-v] [-c] [-C] [--threads] [--verify] [--json FILE]\n"
    "  -d DIR      make DIR/stressdir/stress.N and work there (required)\n"
    "  -p NPROCS   workers (default 4)\n"
    "  -f NFILES   entries each worker creates (default 100)\n"
    "  -n PROCS    workers per directory stress.N: worker i works in stress.(i / PROCS) (default 1)\n"
    "  -s SEED     the scramble phase's seed, shared by every worker (default: the time)\n"
    "  -k          keep the entries (no remove phase)\n"
    "  -v          print every call\n"
    "  -c          any failed call fails its worker\n"
    "  -C          create only\n"
    "  --threads   workers are threads of one process (default: forked processes)\n"
    "  --verify    check each directory against a replay of the seeded calls (needs -n 1)\n"
    "  --json FILE write counts, errors by errno, ops/s and latency percentiles to FILE\n"
    "  --version   the version, with git describe of the source\n"
    "exit: the number of failed workers (at most 255); 2 on a usage error\n";

int usage_error(const char* what) {
  std::fprintf(stderr, "xfsfuse-dirstress: %s\n%s", what, kUsage);
  return 2;
}

bool parse_u32(const char* s, uint32_t lo, uint32_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

int parse_options(int argc, char** argv, Options* o) {
  enum { kThreads = 256, kVerify, kJson, kHelp, kVersion };
  static const option longs[] = {{"threads", no_argument, nullptr, kThreads},
                                 {"verify", no_argument, nullptr, kVerify},
                                 {"json", required_argument, nullptr, kJson},
                                 {"help", no_argument, nullptr, kHelp},
                                 {"version", no_argument, nullptr, kVersion},
                                 {nullptr, 0, nullptr, 0}};
  bool seeded = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "d:p:f:n:s:kvcCh", longs, nullptr)) != -1) {
    switch (c) {
      case 'd': o->dir = optarg; break;
      case 'p':
        if (!parse_u32(optarg, 1, &o->nprocs)) return usage_error("-p wants a number of workers >= 1");
        break;
      case 'f':
        if (!parse_u32(optarg, 0, &o->nfiles)) return usage_error("-f wants a number of entries");
        break;
      case 'n':
        if (!parse_u32(optarg, 1, &o->procs_per_dir)) return usage_error("-n wants a number of workers >= 1");
        break;
      case 's': {
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(optarg, &end, 0);
        if (errno != 0 || end == optarg || *end != '\0') return usage_error("-s wants a number");
        o->seed = static_cast<uint64_t>(v);
        seeded = true;
        break;
      }
      case 'k': o->keep = true; break;
      case 'v': o->verbose++; break;
      case 'c': o->check = true; break;
      case 'C': o->create_only = true; break;
      case kThreads: o->threads = true; break;
      case kVerify: o->verify = true; break;
      case kJson: o->json = optarg; break;
      case 'h':
      case kHelp: std::fputs(kUsage, stdout); return 1;
      case kVersion: o->version = true; return 1;
      default: return usage_error("unknown option");
    }
  }
  if (optind != argc) return usage_error("unexpected argument");
  if (o->dir.empty()) return usage_error("-d DIR is required");
  if (o->verify && o->procs_per_dir > 1)
    return usage_error("--verify needs -n 1: workers sharing a directory race, so no replay can predict the tree");
  if (!seeded) o->seed = static_cast<uint64_t>(std::time(nullptr));
  return 0;
}

}  // namespace xfsfuse::tools::dirstress
