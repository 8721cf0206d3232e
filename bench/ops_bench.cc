// bench/ops_bench.cc — what the driver's core spends on one namespace
// operation, without FUSE: create, unlink and the freeing of the unlinked
// inode (inactivate) of many empty files in one directory, called
// in-process on a read-write Mount of a fresh image, with the log (the
// default) or without it (nolog).
//
// Each iteration makes a fresh image (mkfs.xfs, 320 MiB, -n size=D for
// directory blocks of D bytes; not timed), mounts it and runs one phase over
// N files: BM_Create times make_node() of N names in one directory;
// BM_Remove creates them (not timed), then times, per name, the LOOKUP's
// work (dir_lookup + iget), unlink() and inactivate() — what `rm` of the
// name costs the daemon, the FUSE round trips aside.  Manual time; the
// counter us_per_op is the phase's time over N.  Single thread: the
// numbers are CPU on the path of one operation (the log writer's thread
// runs beside it), the thing to profile with `perf record` when an
// operation is slow (docs/performance.md).
//
//   xfsfuse-ops-bench [--benchmark_filter=...]   (needs mkfs.xfs; no root)
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fs/dir.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/cred.h"
#include "fs/ops/inactivate.h"
#include "fs/ops/remove.h"

namespace {

using xfsfuse::fs::Cred;
using xfsfuse::fs::InodeRef;
using xfsfuse::fs::Mount;

const Cred kRoot{0, 0, {}};

// A fresh 320 MiB image with directory blocks of dirblock bytes; removed
// when it goes.  path is empty when mkfs.xfs failed.
struct Image {
  std::string path;
  explicit Image(unsigned dirblock) {
    char name[] = "/tmp/xfsfuse-ops-bench-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) return;
    close(fd);
    if (truncate(name, 320ll << 20) != 0) return;
    const std::string cmd = "mkfs.xfs -q -f -n size=" + std::to_string(dirblock) + " " + name;
    if (system(cmd.c_str()) == 0) path = name;
  }
  ~Image() {
    if (!path.empty()) unlink(path.c_str());
  }
};

std::unique_ptr<Mount> open_rw(const std::string& path, bool log, std::string* err) {
  xfsfuse::fs::MountOptions o;
  o.writable = true;
  o.write_log = log;
  std::unique_ptr<Mount> m;
  if (Mount::open(path, o, &m, err) != 0) return nullptr;
  return m;
}

std::string name_of(int64_t i) { return "file" + std::to_string(1000000 + i); }

// Makes n files in directory d; false if one fails.
bool create_files(Mount& m, const InodeRef& d, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    InodeRef ip;
    if (xfsfuse::fs::make_node(m, d, name_of(i), kRoot, S_IFREG | 0644, 0, &ip) != 0) return false;
  }
  return true;
}

// Removes the n files create_files() made, as `rm` through FUSE costs the
// daemon: the LOOKUP's dir_lookup + iget, unlink(), and inactivate() once
// the inode is dropped.
bool remove_files(Mount& m, const InodeRef& d, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const std::string name = name_of(i);
    uint64_t ino = 0;
    InodeRef ip;
    if (xfsfuse::fs::dir_lookup(m, *d, name, &ino) != 0 || m.iget(ino, &ip) != 0 ||
        xfsfuse::fs::unlink(m, d, name, kRoot) != 0 || xfsfuse::fs::inactivate(m, ip) != 0)
      return false;
  }
  return true;
}

// One benchmark: per iteration a fresh image and mount (args: files,
// directory block bytes, log 1 / nolog 0), a directory "d" under the root,
// then remove ? create_files() untimed and remove_files() timed : the
// creation timed.
void run_phase(benchmark::State& state, bool remove) {
  const int64_t n = state.range(0);
  double total = 0;
  for (auto _ : state) {
    Image img(static_cast<unsigned>(state.range(1)));
    std::string err;
    auto m = img.path.empty() ? nullptr : open_rw(img.path, state.range(2) != 0, &err);
    if (!m) return state.SkipWithError(("mount failed: " + err).c_str());
    InodeRef root, d;
    if (m->iget(m->sb().rootino, &root) != 0 ||
        xfsfuse::fs::make_node(*m, root, "d", kRoot, S_IFDIR | 0755, 0, &d) != 0)
      return state.SkipWithError("mkdir failed");
    if (remove && !create_files(*m, d, n)) return state.SkipWithError("create failed");
    const auto t0 = std::chrono::steady_clock::now();
    if (!(remove ? remove_files(*m, d, n) : create_files(*m, d, n)))
      return state.SkipWithError(remove ? "remove failed" : "create failed");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += s;
    state.SetIterationTime(s);
    if (m->unmount_clean() != 0) return state.SkipWithError("unmount failed");
  }
  state.counters["us_per_op"] = total * 1e6 / double(n * state.iterations());
}

void BM_Create(benchmark::State& state) { run_phase(state, false); }
void BM_Remove(benchmark::State& state) { run_phase(state, true); }

void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"files", "dirblock", "log"});
  for (int64_t log : {1, 0})
    for (int64_t dirblock : {4096, 65536}) b->Args({10000, dirblock, log});
  b->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
}

}  // namespace

BENCHMARK(BM_Create)->Apply(args);
BENCHMARK(BM_Remove)->Apply(args);
BENCHMARK_MAIN();
