#include "tools/churn_options.h"

#include <getopt.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "version.h"

namespace xfsfuse::tools::churn {

namespace {

enum LongOnly {
  kFiles = 256,
  kTraversals,
  kPolicies,
  kBatch,
  kThreads,
  kImage,
  kKernel,
  kJson,
  kPlot,
  kXfsfuse,
  kNoVmapAll,
  kCacheMb,
  kHelp,
  kVersion,
};

const option kLong[] = {
    {"files", required_argument, nullptr, kFiles},
    {"traversals", required_argument, nullptr, kTraversals},
    {"policies", required_argument, nullptr, kPolicies},
    {"batch", required_argument, nullptr, kBatch},
    {"threads", required_argument, nullptr, kThreads},
    {"image", required_argument, nullptr, kImage},
    {"kernel", no_argument, nullptr, kKernel},
    {"json", required_argument, nullptr, kJson},
    {"plot", required_argument, nullptr, kPlot},
    {"xfsfuse", required_argument, nullptr, kXfsfuse},
    {"no-vmap-all", no_argument, nullptr, kNoVmapAll},
    {"cache-mb", required_argument, nullptr, kCacheMb},
    {"help", no_argument, nullptr, kHelp},
    {"version", no_argument, nullptr, kVersion},
    {nullptr, 0, nullptr, 0},
};

// Parses a decimal number in [lo, hi]; false otherwise.
bool parse_u32(const char* s, uint32_t lo, uint32_t hi, uint32_t* out) {
  if (*s < '0' || *s > '9') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// Splits "eager,lazy" into known policy names, each once; false with *err otherwise.
bool parse_policies(const std::string& s, std::vector<std::string>* out, std::string* err) {
  static const std::set<std::string> kKnown{"eager", "lazy", "lazy-noref"};
  out->clear();
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const std::string p = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!kKnown.count(p)) {
      *err = "--policies: unknown policy '" + p + "' (want eager, lazy, lazy-noref, comma-separated)";
      return false;
    }
    for (const auto& q : *out)
      if (q == p) {
        *err = "--policies: '" + p + "' given twice";
        return false;
      }
    out->push_back(p);
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

}  // namespace

void print_usage(FILE* f) {
  std::fputs(
      "usage: xfsfuse-churn [OPTIONS]\n"
      "Mapping churn under directory traversals: mounts an XFS image with 64 KiB directory blocks\n"
      "and ~100,000 files in /d with xfsfuse once per vmap unmap policy and walks it repeatedly\n"
      "(readdir + lstat of every entry), dropping caches before each traversal; records wall time,\n"
      "every counter of the driver, TLB shootdowns and context switches.\n"
      "\n"
      "  --files N          files in /d of the image it builds (default 100000; 1..2000000)\n"
      "  --traversals K     traversals per policy (default 5; 1..1000)\n"
      "  --policies LIST    comma-separated, run in this order: eager, lazy, lazy-noref\n"
      "                     (default all three)\n"
      "  --batch B          xfsfuse -o vmap_batch: lazy policies purge once B areas are parked\n"
      "                     (default 64; 1..65536)\n"
      "  --threads T        walker threads: each directory is read once, its entries' lstat calls\n"
      "                     are split among T threads (default 1; 1..64)\n"
      "  --image IMG        use IMG if it exists (it must be XFS with 64 KiB directory blocks and N\n"
      "                     files in /d), else build it there and keep it; default: build a\n"
      "                     temporary image, removed at exit\n"
      "  --kernel           also walk a read-only loop mount of the image through the kernel's XFS\n"
      "                     (root only; the driver's counters are n/a there)\n"
      "  --json OUT         write every number as JSON to OUT (keys: README, \"xfsfuse-churn\")\n"
      "  --plot OUT.png     plot wall time and mapping syscalls per traversal (needs gnuplot)\n"
      "  --xfsfuse PATH     the driver (default: ../fs/fuse/xfsfuse next to this program if it\n"
      "                     exists, else xfsfuse from PATH)\n"
      "  --no-vmap-all      mount without -o vmap_all: buffers contiguous in the page pool use its\n"
      "                     linear mapping (no syscall), as xfsfuse does by default\n"
      "  --cache-mb N       xfsfuse -o cache_mb: buffer-cache budget, MiB (default: the driver's)\n"
      "  --help             this text\n"
      "  --version          the version, with git describe of the source\n"
      "\n"
      "As root, the kernel's caches are dropped too (sync; echo 3 > /proc/sys/vm/drop_caches);\n"
      "otherwise traversals after the first may be served from the kernel's dcache.\n"
      "Exit status: 0 every run completed, 1 a run failed, 2 usage error.\n",
      f);
}

int parse_options(int argc, char** argv, Options* o, std::string* err) {
  opterr = 0;
  optind = 1;
  while (true) {
    const int c = getopt_long(argc, argv, ":", kLong, nullptr);
    if (c == -1) break;
    const std::string val = optarg ? optarg : "";
    switch (c) {
      case kFiles:
        if (!parse_u32(optarg, 1, 2000000, &o->files)) return *err = "--files: want a number, 1..2000000", 2;
        break;
      case kTraversals:
        if (!parse_u32(optarg, 1, 1000, &o->traversals)) return *err = "--traversals: want a number, 1..1000", 2;
        break;
      case kPolicies:
        if (!parse_policies(val, &o->policies, err)) return 2;
        break;
      case kBatch:
        if (!parse_u32(optarg, 1, 65536, &o->batch)) return *err = "--batch: want a number, 1..65536", 2;
        break;
      case kThreads:
        if (!parse_u32(optarg, 1, 64, &o->threads)) return *err = "--threads: want a number, 1..64", 2;
        break;
      case kCacheMb:
        if (!parse_u32(optarg, 1, 1u << 20, &o->cache_mb)) return *err = "--cache-mb: want a number, 1..1048576", 2;
        break;
      case kImage:
        if (val.empty()) return *err = "--image: empty path", 2;
        o->image = val;
        break;
      case kJson:
        if (val.empty()) return *err = "--json: empty path", 2;
        o->json_out = val;
        break;
      case kPlot:
        if (val.empty()) return *err = "--plot: empty path", 2;
        o->plot_out = val;
        break;
      case kXfsfuse:
        if (val.empty()) return *err = "--xfsfuse: empty path", 2;
        o->xfsfuse = val;
        break;
      case kKernel:
        o->kernel = true;
        break;
      case kNoVmapAll:
        o->vmap_all = false;
        break;
      case kHelp:
        print_usage(stdout);
        return 1;
      case kVersion:
        std::printf("xfsfuse-churn %s\n", XFSFUSE_VERSION_STRING);
        return 1;
      case ':':
        return *err = std::string(argv[optind - 1]) + ": needs a value", 2;
      default:
        return *err = std::string("unknown option ") + argv[optind - 1] + " (try --help)", 2;
    }
  }
  if (optind < argc) return *err = std::string("unexpected argument '") + argv[optind] + "' (try --help)", 2;
  return 0;
}

}  // namespace xfsfuse::tools::churn
