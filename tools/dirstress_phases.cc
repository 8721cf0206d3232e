// tools/dirstress_phases.cc — the create, scramble and remove phases.
#include "tools/dirstress_phases.h"

#include <chrono>
#include <cstring>

namespace xfsfuse::tools::dirstress {

const char* op_name(OpKind k) {
  static const char* const names[kOpKinds] = {"creat", "mkdir", "symlink", "mknod",
                                              "rename", "unlink", "rmdir", "lstat"};
  return names[static_cast<int>(k)];
}

std::string entry_name(uint64_t i) { return "XXXXXXXXXXXX." + std::to_string(i); }

namespace {

class Runner {
 public:
  Runner(DirOps& ops, const PhaseOptions& o, OpSink& sink) : ops_(ops), o_(o), sink_(sink) {}

  /// Makes one call and returns its result; sets stop_ when the run must end
  /// (-c and a failure other than lstat's).
  template <typename Fn>
  int call(OpKind kind, uint32_t a, uint32_t b, Fn&& fn) {
    if (o_.verbose && o_.log) std::fprintf(o_.log, "** %s %s %s\n", o_.tag.c_str(), op_name(kind), describe(kind, a, b).c_str());
    auto t0 = std::chrono::steady_clock::now();
    int err = fn();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    sink_.op_done(OpRecord{kind, a, b, err}, static_cast<uint64_t>(ns));
    if (err == 0) return 0;
    bool fatal = o_.check && kind != OpKind::lstat;
    if ((fatal || o_.verbose) && o_.log)
      std::fprintf(o_.log, "!! %s %s %s failed: %s\n", o_.tag.c_str(), op_name(kind), describe(kind, a, b).c_str(),
                   err > 0 ? std::strerror(err) : "error");
    stop_ = stop_ || fatal;
    return err;
  }

  bool create() {
    for (uint32_t i = 0; i < o_.nfiles; i++) {
      std::string n = entry_name(i);
      switch (i % 4) {
        case 0: call(OpKind::creat, i, 0, [&] { return ops_.creat(n); }); break;
        case 1: call(OpKind::mkdir, i, 0, [&] { return ops_.mkdir(n); }); break;
        case 2: call(OpKind::symlink, i, 0, [&] { return ops_.symlink(n, n); }); break;
        default: call(OpKind::mknod, i, 0, [&] { return ops_.mknod(n); }); break;
      }
      if (stop_) return false;
    }
    return true;
  }

  bool scramble() {
    Rng rng(o_.seed);
    for (uint64_t i = 0; i < 2ULL * o_.nfiles; i++) {
      auto a = static_cast<uint32_t>(rng.below(o_.nfiles));
      std::string n = entry_name(a);
      switch (i % 5) {
        case 0: {
          auto b = static_cast<uint32_t>(rng.below(o_.nfiles));
          std::string to = entry_name(b);
          call(OpKind::rename, a, b, [&] { return ops_.rename(n, to); });
          break;
        }
        case 1: call(OpKind::unlink, a, 0, [&] { return ops_.unlink(n); }); break;
        case 2: call(OpKind::rmdir, a, 0, [&] { return ops_.rmdir(n); }); break;
        case 3: call(OpKind::creat, a, 0, [&] { return ops_.creat(n); }); break;
        default: call(OpKind::mkdir, a, 0, [&] { return ops_.mkdir(n); }); break;
      }
      if (stop_) return false;
    }
    return true;
  }

  bool remove() {
    for (uint32_t i = 0; i < o_.nfiles; i++) {
      std::string n = entry_name(i);
      EntryType t = EntryType::file;
      if (call(OpKind::lstat, i, 0, [&] { return ops_.lstat(n, &t); }) != 0) continue;
      if (t == EntryType::dir)
        call(OpKind::rmdir, i, 0, [&] { return ops_.rmdir(n); });
      else
        call(OpKind::unlink, i, 0, [&] { return ops_.unlink(n); });
      if (stop_) return false;
    }
    return true;
  }

 private:
  std::string describe(OpKind kind, uint32_t a, uint32_t b) const {
    std::string s = entry_name(a);
    if (kind == OpKind::rename) s += " -> " + entry_name(b);
    return s;
  }

  DirOps& ops_;
  const PhaseOptions& o_;
  OpSink& sink_;
  bool stop_ = false;
};

}  // namespace

int run_phases(DirOps& ops, const PhaseOptions& o, OpSink& sink) {
  Runner r(ops, o, sink);
  bool ok = r.create();
  if (ok && !o.create_only) {
    ok = r.scramble();
    if (ok && !o.keep) {
      sink.checkpoint("before-remove");
      ok = r.remove();
    }
  }
  sink.checkpoint("end");
  return ok ? 0 : 1;
}

}  // namespace xfsfuse::tools::dirstress
