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
  kWorkload,
  kPools,
  kFsck,
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
    {"workload", required_argument, nullptr, kWorkload},
    {"pools", required_argument, nullptr, kPools},
    {"fsck", required_argument, nullptr, kFsck},
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

// Splits "a,b" into names of `known`, each once; false with *err (naming
// `option`) otherwise.
bool parse_list(const std::string& s, const char* option, const std::set<std::string>& known,
                std::vector<std::string>* out, std::string* err) {
  out->clear();
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const std::string p = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!known.count(p)) {
      std::string want;
      for (const auto& k : known) want += (want.empty() ? "" : ", ") + k;
      *err = std::string(option) + ": unknown name '" + p + "' (want " + want + ", comma-separated)";
      return false;
    }
    for (const auto& q : *out)
      if (q == p) {
        *err = std::string(option) + ": '" + p + "' given twice";
        return false;
      }
    out->push_back(p);
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

// Hands args (those after "--") to xfsfuse-dirstress's parser; -d is ours.
// Returns parse_options' codes.
int parse_dirstress(const std::vector<std::string>& args, dirstress::Options* d, std::string* err) {
  static const char kOurs[] = "<the mount>";
  std::vector<std::string> words{"xfsfuse-churn --workload dirstress --", "-d", kOurs};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  err->clear();
  const int r = dirstress::parse_options(static_cast<int>(words.size()), argv.data(), d);
  if (r == 1 && d->version) std::printf("xfsfuse-churn %s\n", XFSFUSE_VERSION_STRING);
  if (r != 0) return r;
  if (d->dir != kOurs) return *err = "dirstress -d: xfsfuse-churn runs the workload in the root of each mount", 2;
  if (!d->json.empty()) return *err = "dirstress --json: xfsfuse-churn's --json holds the workload's numbers", 2;
  d->dir.clear();
  return 0;
}

}  // namespace

void print_usage(FILE* f) {
  std::fputs(
      "usage: xfsfuse-churn [--workload traverse] [OPTIONS]\n"
      "       xfsfuse-churn --workload dirstress [OPTIONS] [-- DIRSTRESS-OPTIONS]\n"
      "\n"
      "--workload traverse (the default):\n"
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
      "  --workload W       traverse (default) or dirstress\n"
      "  --help             this text\n"
      "  --version          the version, with git describe of the source\n"
      "\n"
      "As root, the kernel's caches are dropped too (sync; echo 3 > /proc/sys/vm/drop_caches);\n"
      "otherwise traversals after the first may be served from the kernel's dcache.\n"
      "\n"
      "--workload dirstress: for each pool (--pools) and policy (--policies), copies a fresh empty\n"
      "XFS image (mkfs.xfs -n size=65536, 1 GiB sparse) and mounts it with xfsfuse -o rw, runs\n"
      "xfsfuse-dirstress's workload in the mount's root (in this process: workers are forked, or\n"
      "threads with --threads after --), samples every counter before and after it and after a cache\n"
      "drop, unmounts and checks the image with xfsfuse-fsck -n; with --kernel, the same on the\n"
      "kernel's rw loop mount of another copy.  Options: --policies, --batch, --cache-mb, --kernel,\n"
      "--json, --plot, --xfsfuse as above, and\n"
      "  --pools LIST       comma-separated, run in this order: default (xfsfuse's default: buffers\n"
      "                     contiguous in the page pool use its linear mapping), vmap_all (-o vmap_all:\n"
      "                     every multi-page buffer through a vmap slot) (default: default,vmap_all;\n"
      "                     --no-vmap-all alone means default)\n"
      "  --fsck PATH        xfsfuse-fsck (default: fsck/xfsfuse-fsck or xfsfuse-fsck next to this\n"
      "                     program if it exists, else xfsfuse-fsck from PATH)\n"
      "  -- ARGS            everything after -- is xfsfuse-dirstress's command line without -d and\n"
      "                     --json: -p NPROCS -f NFILES -n PROCS_PER_DIR -s SEED -k -v -c -C --threads\n"
      "                     --verify (see xfsfuse-dirstress --help; default -p 4 -f 100 -n 1, seed\n"
      "                     the time, the same for every run)\n"
      "--files, --traversals, --threads and --image are the traverse workload's only.\n"
      "A run fails (exit 1) when the mount, the workload (a worker's nonzero status), the\n"
      "unmount or xfsfuse-fsck -n (any verdict but clean) fails.\n"
      "\n"
      "Exit status: 0 every run completed, 1 a run failed, 2 usage error.\n",
      f);
}

int parse_options(int argc, char** argv, Options* o, std::string* err) {
  // Everything after the first "--" is dirstress's; getopt sees what is before.
  int ours = 1;
  while (ours < argc && std::string(argv[ours]) != "--") ours++;
  const bool dashdash = ours < argc;
  for (int i = ours + 1; i < argc; i++) o->dirstress_args.push_back(argv[i]);
  std::vector<std::string> traverse_only;  // options given that the dirstress workload refuses
  bool no_vmap_all = false;
  opterr = 0;
  optind = 1;
  while (true) {
    const int c = getopt_long(ours, argv, ":", kLong, nullptr);
    if (c == -1) break;
    const std::string val = optarg ? optarg : "";
    if (c == kFiles || c == kTraversals || c == kThreads || c == kImage)
      for (const option& l : kLong)
        if (l.val == c) traverse_only.push_back(std::string("--") + l.name);
    switch (c) {
      case kFiles:
        if (!parse_u32(optarg, 1, 2000000, &o->files)) return *err = "--files: want a number, 1..2000000", 2;
        break;
      case kTraversals:
        if (!parse_u32(optarg, 1, 1000, &o->traversals)) return *err = "--traversals: want a number, 1..1000", 2;
        break;
      case kPolicies:
        if (!parse_list(val, "--policies", {"eager", "lazy", "lazy-noref"}, &o->policies, err)) return 2;
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
        no_vmap_all = true;
        break;
      case kWorkload:
        if (val != "traverse" && val != "dirstress") return *err = "--workload: want traverse or dirstress", 2;
        o->workload = val;
        break;
      case kPools:
        if (!parse_list(val, "--pools", {"default", "vmap_all"}, &o->pools, err)) return 2;
        break;
      case kFsck:
        if (val.empty()) return *err = "--fsck: empty path", 2;
        o->fsck = val;
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
  if (optind < ours) return *err = std::string("unexpected argument '") + argv[optind] + "' (try --help)", 2;
  if (o->workload == "traverse") {
    if (dashdash) return *err = "arguments after -- are for --workload dirstress", 2;
    if (!o->pools.empty()) return *err = "--pools is for --workload dirstress (traverse: --no-vmap-all)", 2;
    if (!o->fsck.empty()) return *err = "--fsck is for --workload dirstress", 2;
    return 0;
  }
  if (!traverse_only.empty()) return *err = traverse_only.front() + ": not an option of --workload dirstress", 2;
  if (o->pools.empty()) o->pools = no_vmap_all ? std::vector<std::string>{"default"}
                                               : std::vector<std::string>{"default", "vmap_all"};
  else if (no_vmap_all) return *err = "--no-vmap-all and --pools: give one", 2;
  return parse_dirstress(o->dirstress_args, &o->dirstress, err);
}

}  // namespace xfsfuse::tools::churn
