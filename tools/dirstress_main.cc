// xfsfuse-dirstress — xfstests' dirstress on any directory (an xfsfuse mount,
// a kernel XFS mount, tmpfs): workers create, scramble and remove entries of
// every type in DIR/stressdir/stress.N; plus --threads, --verify (a replay of
// the seeded calls checks each directory) and --json (README
// "xfsfuse-dirstress").  Exit: the number of failed workers (at most 255), as
// dirstress; 2 on a usage error or when the run cannot start.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "tools/dirstress_options.h"
#include "tools/dirstress_run.h"
#include "tools/dirstress_stats.h"
#include "version.h"

using namespace xfsfuse::tools::dirstress;

namespace {

std::string error_summary(const nlohmann::json& j) {
  std::string s;
  for (const auto& [name, n] : j["errors_by_errno"].items())
    s += (s.empty() ? ": " : ", ") + name + " " + std::to_string(n.get<uint64_t>());
  return s;
}

nlohmann::json options_json(const Options& o) {
  return {{"dir", o.dir},   {"nprocs", o.nprocs},     {"nfiles", o.nfiles},   {"procs_per_dir", o.procs_per_dir},
          {"seed", o.seed}, {"keep", o.keep},         {"check", o.check},     {"create_only", o.create_only},
          {"threads", o.threads}, {"verify", o.verify}};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (int r = parse_options(argc, argv, &o); r != 0) {
    if (o.version) std::printf("xfsfuse-dirstress %s\n", XFSFUSE_VERSION_STRING);
    return r == 1 ? 0 : 2;
  }
  std::printf("** Using seed %llu\n", static_cast<unsigned long long>(o.seed));
  std::unique_ptr<RunResult> res;
  if (int e = run_dirstress(o, ::isatty(STDERR_FILENO) == 1, &res); e != 0) {
    std::fprintf(stderr, "xfsfuse-dirstress: %s: %s\n", o.dir.c_str(), std::strerror(e));
    return 2;
  }
  nlohmann::json j = stats_json(res->totals, res->seconds);
  std::printf("INFO: Dirstress complete: %u workers, %u failed, %llu calls (%llu failed%s), %.3f s, %.0f calls/s\n",
              o.nprocs, res->failed_workers, static_cast<unsigned long long>(j["ops"].get<uint64_t>()),
              static_cast<unsigned long long>(j["errors"].get<uint64_t>()), error_summary(j).c_str(), res->seconds,
              j["ops_per_second"].get<double>());
  if (o.verify)
    std::printf("verify: %s\n", res->verify_failed ? ("FAILED in " + std::to_string(res->verify_failed) + " directories").c_str()
                                                   : "every directory matches the replay");
  if (!o.json.empty()) {
    j["tool"] = "xfsfuse-dirstress";
    j["options"] = options_json(o);
    j["workers_failed"] = res->failed_workers;
    j["exit_status"] = res->exit_status;
    j["verify"] = o.verify ? (res->verify_failed ? "failed" : "passed") : "off";
    std::ofstream f(o.json);
    f << j.dump(2) << '\n';
    if (!f) {
      std::fprintf(stderr, "xfsfuse-dirstress: writing %s failed\n", o.json.c_str());
      return res->exit_status ? res->exit_status : 2;
    }
  }
  return res->exit_status;
}
