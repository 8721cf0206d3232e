// tests/tools/dirstress_test.cc — xfsfuse-dirstress's pieces: the model's
// POSIX answers, the seeded call sequence, the latency histogram and JSON,
// and --verify against a real directory, including a planted difference.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tools/dirstress_model.h"
#include "tools/dirstress_phases.h"
#include "tools/dirstress_run.h"
#include "tools/dirstress_stats.h"
#include "tools/dirstress_verify.h"

using namespace xfsfuse::tools::dirstress;

namespace {

/// A fresh directory under $TMPDIR, removed at the end.
struct TempDir {
  std::string path;
  TempDir() {
    std::string t = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/dirstress-test.XXXXXX";
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

PhaseOptions phases(uint32_t nfiles, uint64_t seed, bool keep) {
  PhaseOptions o;
  o.nfiles = nfiles;
  o.seed = seed;
  o.keep = keep;
  return o;
}

}  // namespace

TEST_CASE("model: create, exists and type errors as Linux answers them") {
  ModelDir m({}, 0);
  CHECK(m.creat("f") == 0);
  CHECK(m.creat("f") == 0);  // truncates
  CHECK(m.mkdir("d") == 0);
  CHECK(m.mkdir("f") == EEXIST);
  CHECK(m.creat("d") == EISDIR);
  CHECK(m.mknod("c") == 0);
  CHECK(m.creat("c") == kAnyError);
  CHECK(m.symlink("x", "f") == EEXIST);
  CHECK(m.unlink("d") == EISDIR);
  CHECK(m.rmdir("f") == ENOTDIR);
  CHECK(m.rmdir("nope") == ENOENT);
  CHECK(m.unlink("nope") == ENOENT);
  EntryType t{};
  CHECK(m.lstat("c", &t) == 0);
  CHECK(t == EntryType::chrdev);
  ModelDir user({}, EPERM);
  CHECK(user.mknod("c") == EPERM);
  CHECK(user.tree().empty());
}

TEST_CASE("model: creat follows symlinks, creates a dangling one's target, ELOOP after 40 links") {
  ModelDir m({}, 0);
  REQUIRE(m.symlink("self", "self") == 0);
  CHECK(m.creat("self") == ELOOP);
  REQUIRE(m.symlink("target", "link") == 0);
  CHECK(m.creat("link") == 0);
  REQUIRE(m.tree().count("target") == 1);
  CHECK(m.tree().at("target").type == EntryType::file);
  CHECK(m.mkdir("link") == EEXIST);
  // A chain of exactly 40 links resolves, 41 do not.
  for (int i = 0; i < 41; i++) REQUIRE(m.symlink("n" + std::to_string(i + 1), "n" + std::to_string(i)) == 0);
  CHECK(m.creat("n1") == 0);  // n1 .. n40: 40 links, then n41 is made
  CHECK(m.tree().at("n41").type == EntryType::file);
  CHECK(m.creat("n0") == ELOOP);  // n0 .. n40: 41 links (checked against Linux 6.x)
}

TEST_CASE("model: rename's rules") {
  ModelDir m({}, 0);
  REQUIRE(m.creat("f") == 0);
  REQUIRE(m.creat("g") == 0);
  REQUIRE(m.mkdir("d") == 0);
  REQUIRE(m.mkdir("e") == 0);
  CHECK(m.rename("missing", "f") == ENOENT);
  CHECK(m.rename("f", "f") == 0);
  CHECK(m.rename("d", "f") == ENOTDIR);
  CHECK(m.rename("f", "d") == EISDIR);
  CHECK(m.rename("d", "e") == 0);  // an empty directory is replaced
  CHECK(m.rename("f", "g") == 0);
  CHECK(m.tree().size() == 2);
  CHECK(m.tree().at("e").type == EntryType::dir);
  CHECK(m.tree().at("g").type == EntryType::file);
}

TEST_CASE("rng and the call sequence are functions of the seed") {
  CHECK(Rng(0).next() == 0xe220a8397b1dcdafULL);  // SplitMix64's published first output
  RunLog a = replay({}, phases(64, 5, false), 0);
  RunLog b = replay({}, phases(64, 5, false), 0);
  RunLog c = replay({}, phases(64, 6, false), 0);
  CHECK(a.ops == b.ops);
  CHECK(a.ops != c.ops);
  // create: 64 calls; scramble: 128 calls; remove: 64 lstats plus a removal per existing entry.
  size_t left = a.checkpoints.at(0).second.size();
  CHECK(a.checkpoints.at(0).first == "before-remove");
  CHECK(a.ops.size() == 64 + 128 + 64 + left);
  CHECK(a.checkpoints.at(1).second.empty());
  // dirstress's kinds in order: the create phase cycles creat, mkdir, symlink, mknod.
  CHECK(a.ops[0].kind == OpKind::creat);
  CHECK(a.ops[1].kind == OpKind::mkdir);
  CHECK(a.ops[2].kind == OpKind::symlink);
  CHECK(a.ops[3].kind == OpKind::mknod);
  CHECK(a.ops[64].kind == OpKind::rename);
  CHECK(a.ops[68].kind == OpKind::mkdir);
}

TEST_CASE("check stops at the first failure, create-only after create, keep before remove") {
  PhaseOptions o = phases(40, 1, false);
  o.check = true;
  RunLog c = replay({}, o, 0);
  REQUIRE(!c.ops.empty());
  CHECK(c.ops.back().err != 0);
  for (size_t i = 0; i + 1 < c.ops.size(); i++) CHECK(c.ops[i].err == 0);
  o = phases(40, 1, false);
  o.create_only = true;
  CHECK(replay({}, o, 0).ops.size() == 40);
  RunLog k = replay({}, phases(40, 1, true), 0);
  CHECK(k.ops.size() == 40 + 80);
  CHECK(k.checkpoints.size() == 1);
  CHECK(k.checkpoints[0].first == "end");
}

TEST_CASE("latency buckets are ordered and quantiles land in the right one") {
  int last = -1;
  for (uint64_t ns : {0ULL, 7ULL, 8ULL, 15ULL, 16ULL, 1000ULL, 1000000ULL, ~0ULL}) {
    int b = latency_bucket(ns);
    CHECK(b > last);
    CHECK(b < kLatencyBuckets);
    last = b;
  }
  KindStats s;
  for (int i = 0; i < 98; i++) s.add(0, 1000);
  s.add(ENOENT, 1000000);
  s.add(ENOENT, 1000000);
  uint64_t p50 = s.quantile_ns(0.5), p99 = s.quantile_ns(0.99);
  CHECK(p50 >= 875);
  CHECK(p50 <= 1125);
  CHECK(p99 >= 875000);
  CHECK(p99 <= 1125000);
  CHECK(s.failed() == 2);
  KindStats totals[kOpKinds];
  totals[static_cast<int>(OpKind::unlink)] = s;
  nlohmann::json j = stats_json(totals, 2.0);
  CHECK(j["ops"] == 100);
  CHECK(j["errors"] == 2);
  CHECK(j["ops_per_second"] == 50.0);
  CHECK(j["errors_by_errno"]["ENOENT"] == 2);
  CHECK(j["kinds"]["unlink"]["errors_by_errno"]["ENOENT"] == 2);
  CHECK(j["kinds"]["unlink"]["latency_us"]["p99"].get<double>() > 800.0);
  CHECK(j["kinds"]["rename"]["ops"] == 0);
}

TEST_CASE("a real directory matches the replay, with -k and without") {
  for (bool keep : {true, false}) {
    for (uint64_t seed : {1, 2, 3}) {
      TempDir dir;
      Options o;
      o.dir = dir.path;
      o.nprocs = 1;
      o.nfiles = 200;
      o.seed = seed;
      o.keep = keep;
      o.verify = true;
      WorkerStats st;
      int fd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      REQUIRE(fd >= 0);
      CHECK(run_worker(o, 0, fd, &st) == 0);
      ::close(fd);
      CHECK(st.verify_failed == 0);
      CHECK(st.progress.load() > 400);
      CHECK(std::filesystem::exists(dir.path + "/stressdir") == keep);
    }
  }
}

TEST_CASE("verify reports a planted difference") {
  TempDir dir;
  int fd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  PhaseOptions o = phases(100, 9, true);
  RealDirOps ops(fd);
  RunLog real = replay({}, o, 0);  // the calls, results and tree the model expects
  RunLog seen;
  struct Sink final : OpSink {
    RunLog* log;
    int fd;
    void op_done(const OpRecord& r, uint64_t) override { log->ops.push_back(r); }
    void checkpoint(const char* label) override {
      ::close(::openat(fd, "planted", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
      Tree t;
      REQUIRE(scan_tree(fd, &t) == 0);
      log->checkpoints.emplace_back(label, t);
    }
  } sink;
  sink.log = &seen;
  sink.fd = fd;
  int mknod_errno = ::geteuid() == 0 ? 0 : EPERM;
  REQUIRE(run_phases(ops, o, sink) == 0);
  std::vector<std::string> diffs = verify_run({}, o, mknod_errno, seen);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0] == "at end: extra f planted");
  // A call's result changed in the log is reported with both results.
  seen.checkpoints.clear();
  seen.ops[0].err = ENOSPC;
  diffs = verify_run({}, o, mknod_errno, seen);
  REQUIRE(diffs.size() >= 2);
  CHECK(diffs[0] == "call #0 creat XXXXXXXXXXXX.0: ENOSPC, the model expects success");
  CHECK(diffs.back() == "checkpoint end: not reached by the run");
  CHECK(real.ops.size() == seen.ops.size());
  ::close(fd);
}
