// xfsfuse-fsck [-n] [--replay] [--json] [--progress] [--scratch DIR] [--mem-limit MB] IMAGE
// — checks an XFS v5 filesystem read-only, phase by phase (context.h), with
// the driver's own format code and buffer cache.
// Exit status as fsck(8) for this checker: 0 clean, 1 problems found,
// 8 operational error (cannot open the image, not XFS v5, mounted
// read-write, the --scratch database failed, or repair asked for: without -n
// it refuses, touching nothing), 16 usage error.
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "buffer_cache/corruption_log.h"
#include "fs/mount.h"
#include "tools/fsck/context.h"
#include "tools/fsck/mounted.h"
#include "tools/fsck/scratch.h"
#include "version.h"

namespace {

using namespace xfsfuse;

constexpr int kClean = 0, kProblems = 1, kOperational = 8, kUsageError = 16;  // fsck(8)'s codes

constexpr char kUsage[] =
    "usage: xfsfuse-fsck -n [--replay] [--json] [--progress] [--scratch DIR] [--mem-limit MB] IMAGE\n"
    "Checks the XFS v5 filesystem in IMAGE (a file or block device) without changing it.\n"
    "\n"
    "  -n               check only (required: repair is not implemented)\n"
    "  --replay         a dirty log is replayed into memory first (the image is not written), and\n"
    "                   the filesystem is checked as the kernel would see it after log recovery;\n"
    "                   without it a dirty log is a problem and the changes still in it are not checked\n"
    "  --json           print the result as one JSON object on stdout instead of one line per problem\n"
    "  --progress       print the phase and how far it is on stderr\n"
    "  --scratch DIR    keep the per-inode and per-block state in a RocksDB database in a new\n"
    "                   directory under DIR (removed at exit) instead of memory\n"
    "  --mem-limit MB   size the buffer cache and, with --scratch, RocksDB's caches to fit MB\n"
    "                   (the in-memory state is bounded only with --scratch)\n"
    "  -h, --help       this text\n"
    "  --version        the version, with git describe of the source\n"
    "\n"
    "Problems are printed one per line: STRUCTURE [agno A] [ino I] [daddr 0xD]: WHAT\n"
    "Exit status: 0 clean, 1 problems found, 8 operational error, 16 usage error.\n";

struct Args {
  bool no_modify = false, replay = false, json = false, progress = false;
  std::string scratch, image;
  unsigned long mem_limit_mb = 0;
};

int parse(int argc, char** argv, Args* a) {
  static const option kLong[] = {{"json", no_argument, nullptr, 'j'}, {"replay", no_argument, nullptr, 'r'},       {"progress", no_argument, nullptr, 'p'},
                                 {"scratch", required_argument, nullptr, 's'}, {"mem-limit", required_argument, nullptr, 'm'},
                                 {"help", no_argument, nullptr, 'h'},       {"version", no_argument, nullptr, 'V'},
                                 {}};
  int c;
  opterr = 0;  // one line of our own for a bad option
  while ((c = getopt_long(argc, argv, ":nh", kLong, nullptr)) != -1) {
    switch (c) {
      case 'n': a->no_modify = true; break;
      case 'j': a->json = true; break;
      case 'r': a->replay = true; break;
      case 'p': a->progress = true; break;
      case 's': a->scratch = optarg; break;
      case 'm': {
        char* end = nullptr;
        a->mem_limit_mb = std::strtoul(optarg, &end, 10);
        if (end == optarg || *end != '\0' || a->mem_limit_mb == 0) {
          std::fprintf(stderr, "xfsfuse-fsck: --mem-limit %s: want a number of MiB\n", optarg);
          return kUsageError;
        }
        break;
      }
      case 'h': std::fputs(kUsage, stdout); std::exit(kClean);
      case 'V': std::printf("xfsfuse-fsck %s\n", XFSFUSE_VERSION_STRING); std::exit(kClean);
      default:
        std::fprintf(stderr, "xfsfuse-fsck: %s %s (see --help)\n", c == ':' ? "missing value for" : "unknown option",
                     argv[optind - 1]);
        return kUsageError;
    }
  }
  if (optind + 1 != argc) {
    std::fprintf(stderr, "xfsfuse-fsck: want one IMAGE, got %d arguments (usage: xfsfuse-fsck -n IMAGE; see --help)\n",
                 argc - optind);
    return kUsageError;
  }
  a->image = argv[optind];
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (int rc = parse(argc, argv, &a)) return rc;
  if (!a.no_modify) {
    std::fprintf(stderr, "xfsfuse-fsck: repair is not implemented; run with -n to check %s (nothing was changed)\n",
                 a.image.c_str());
    return kOperational;
  }
  std::string mounted_at;
  if (fsck::mounted_writable(a.image, &mounted_at)) {
    std::fprintf(stderr,
                 "xfsfuse-fsck: %s contains a mounted and writable filesystem (at %s); unmount it, or mount it "
                 "read-only, before checking\n",
                 a.image.c_str(), mounted_at.c_str());
    return kOperational;
  }
  fs::MountOptions mo;
  mo.norecovery = !a.replay;  // without --replay a dirty log is reported below, not refused
  mo.check_root = false;  // the checks judge the root themselves
  mo.inode_cache = 1024;
  // Under --mem-limit: an eighth for the buffer cache (its page pool is 1.5x
  // that + 8 MiB: 20 MiB of 64), a quarter for the scratch (scratch.h), the rest for the
  // phases' own state (measured: 1,000,000 inodes peak at 44-47 MB of 64).
  const size_t limit = size_t{a.mem_limit_mb} << 20;
  if (limit != 0) mo.cache_bytes = std::clamp<size_t>(limit / 8, 4u << 20, mo.cache_bytes);
  std::unique_ptr<fs::Mount> m;
  std::string err;
  if (fs::Mount::open(a.image, mo, &m, &err) != 0) {
    std::fprintf(stderr, "xfsfuse-fsck: %s\n", err.c_str());
    return kOperational;
  }
  fsck::Reporter rep(!a.json, stdout);
  // The readers' corruption reports become detail lines, not driver log lines.
  bc::set_corruption_sink([&rep](std::string_view structure, uint64_t daddr, std::string_view why) {
    rep.detail(fsck::Problem{std::string(structure), fsck::kNoAg, fsck::kNoIno,
                             daddr == bc::kNoCorruptionDaddr ? fsck::kNoDaddr : daddr, std::string(why)});
  });
  for (const std::string& w : m->warnings()) rep.warn(fsck::Problem{"superblock", fsck::kNoAg, fsck::kNoIno, 0, w});
  if (m->recovered()) rep.warn(fsck::Problem{"log", fsck::kNoAg, fsck::kNoIno, fsck::kNoDaddr, m->recovery_note()});
  if (m->log_dirty()) {
    // log_warning names what is wrong (dirty, unreadable, incompatible features); the ends say where.
    const fs::xlog::LogEnds& e = m->log_ends();
    std::string what = m->log_warning().substr(0, m->log_warning().find(';'));
    if (!e.clean)
      what += " (head: log block " + std::to_string(e.head_block) + " of cycle " + std::to_string(e.head_cycle) +
              ", tail: log block " + std::to_string(e.tail_block()) + ")";
    rep.report("log", fsck::kNoAg, fsck::kNoIno, fsck::kNoDaddr, what + "; changes still in it are not checked");
  }
  std::unique_ptr<fsck::Scratch> scratch;
  std::unique_ptr<fsck::SpaceMap> space;
  std::unique_ptr<fsck::InodeTable> inodes;
  if (!a.scratch.empty()) {
    if (fsck::Scratch::open(a.scratch, limit != 0 ? limit / 4 : 64u << 20, &scratch, &err) != 0) {
      std::fprintf(stderr, "xfsfuse-fsck: %s\n", err.c_str());
      return kOperational;
    }
    space = scratch->space_map(m->sb(), &rep);
    inodes = scratch->inode_table();
  } else {
    space = fsck::make_memory_space_map(m->sb(), &rep);
    inodes = fsck::make_memory_inode_table();
  }
  fsck::Context cx{*m, m->sb(), rep, *space, *inodes, std::vector<fsck::AgTotals>(m->sb().agcount), {}, {}};
  // On a terminal one line that counts up; otherwise one line per phase, when it ends.
  const bool tty = isatty(STDERR_FILENO);
  std::string last_done;
  if (a.progress)
    cx.progress = [tty, &last_done](const char* phase, double done) {
      if (tty) {
        std::fprintf(stderr, "\r%-12s %3.0f%%", phase, done * 100);
      } else if (done >= 1.0 && last_done != phase) {
        last_done = phase;
        std::fprintf(stderr, "%s done\n", phase);
      }
    };

  nlohmann::ordered_json phases = nlohmann::ordered_json::object();
  auto run = [&](const char* name, void (*phase)(fsck::Context&)) {
    if (scratch && !scratch->error().empty()) return;  // no verdict: stop at the first failure
    const auto t0 = std::chrono::steady_clock::now();
    phase(cx);
    phases[name] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (cx.progress) cx.progress(name, 1.0);
  };
  run("superblocks", fsck::check_superblocks);
  run("ags", fsck::check_ags);
  run("inodes", fsck::check_inodes);
  run("directories", fsck::check_directories);
  run("links", fsck::check_links);
  // After a replay the lazy counters on disk predate the log's changes: the
  // kernel recomputes them from the AGs at such a mount (and so does a
  // read-write xfsfuse mount), so they are not judged then.
  if (!m->recovered()) run("counters", fsck::check_counters);
  run("space", [](fsck::Context& c) { c.space.check_coverage(); });
  if (a.progress && tty) std::fputc('\n', stderr);
  if (scratch && !scratch->error().empty()) {
    std::fprintf(stderr, "xfsfuse-fsck: %s: no verdict: the --scratch database failed\n", a.image.c_str());
    return kOperational;
  }

  const size_t n = rep.count();
  if (a.json) {
    nlohmann::ordered_json j;
    j["version"] = 1;
    j["image"] = a.image;
    j["clean"] = n == 0;
    j["inodes"] = inodes->size();
    j["phases_ms"] = phases;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const fsck::Problem& p : rep.problems()) {
      nlohmann::ordered_json o{{"structure", p.structure}, {"what", p.what}};
      if (p.agno != fsck::kNoAg) o["agno"] = p.agno;
      if (p.ino != fsck::kNoIno) o["ino"] = p.ino;
      if (p.daddr != fsck::kNoDaddr) o["daddr"] = p.daddr;
      list.push_back(o);
    }
    j["problems"] = list;
    nlohmann::ordered_json warnings = nlohmann::ordered_json::array();
    for (const fsck::Problem& p : rep.warnings()) warnings.push_back(fsck::format_problem(p));
    j["warnings"] = warnings;
    nlohmann::ordered_json details = nlohmann::ordered_json::array();
    for (const fsck::Problem& p : rep.details()) details.push_back(fsck::format_problem(p));
    j["details"] = details;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::fprintf(stderr, "xfsfuse-fsck: %s: %s\n", a.image.c_str(),
                 n == 0 ? "clean" : (std::to_string(n) + " problem(s) found").c_str());
  }
  return n == 0 ? kClean : kProblems;
}
