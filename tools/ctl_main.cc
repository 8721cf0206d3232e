// xfsfuse-ctl MOUNTPOINT COMMAND — talks to a running xfsfuse mount through
// its control channel (fs/fuse/ctl_abi.h; README "Control channel").
//   stats [--json]     every counter, the mount options and the uptime
//   log [--json]       the log of a read-write mount: head, tail, records, forces
//   drop-caches        write back dirty buffers, then evict every unreferenced buffer and in-core inode
//   purge              unmap every parked vmap alias now (unmap_aliases)
//   set vmap_batch=N   change the lazy purge batch of the running mount
// Exit status: 0 done, 1 the command failed, 2 usage.
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/ctl_client.h"
#include "version.h"

namespace {

using xfsfuse::tools::CtlFd;

constexpr char kUsage[] =
    "usage: xfsfuse-ctl MOUNTPOINT COMMAND\n"
    "Talks to the xfsfuse daemon serving MOUNTPOINT (any directory of the mount).\n"
    "\n"
    "commands:\n"
    "  stats [--json]     every buffer-cache, vmap, pool and FUSE counter, the mount options\n"
    "                     and the uptime; --json: the daemon's JSON (keys: README)\n"
    "  log [--json]       the XFS log of a read-write mount: head and tail LSNs, blocks used,\n"
    "                     transactions, records, bytes, group commits, forces, pushes\n"
    "  drop-caches        write back dirty buffers, then evict every unreferenced buffer and in-core inode\n"
    "  purge              unmap every parked vmap alias now (unmap_aliases)\n"
    "  set vmap_batch=N   change the lazy purge batch (1..65536) of the running mount\n"
    "\n"
    "drop-caches, purge and set are for root and the user who mounted.\n"
    "Exit status: 0 done, 1 the command failed, 2 usage.\n";

int usage_error(const std::string& why) {
  std::fprintf(stderr, "xfsfuse-ctl: %s\n%s", why.c_str(), kUsage);
  return 2;
}

int fail(const std::string& err) {
  std::fprintf(stderr, "xfsfuse-ctl: %s\n", err.c_str());
  return 1;
}

void print_value(const std::string& name, const nlohmann::json& v) {
  if (v.is_object()) {
    for (const auto& [k, sub] : v.items()) print_value(name + "." + k, sub);
  } else if (v.is_string()) {
    std::printf("%s %s\n", name.c_str(), v.get<std::string>().c_str());
  } else {
    std::printf("%s %s\n", name.c_str(), v.dump().c_str());
  }
}

// The log section of the daemon's stats (fs/fuse/stats.cc "log").
int cmd_log(const CtlFd& c, bool json) {
  nlohmann::json j;
  std::string err;
  if (c.stats(&j, &err) != 0) return fail(err);
  if (!j.contains("log")) return fail("this mount writes no log (read-only, or mounted with nolog)");
  const nlohmann::json& l = j["log"];
  if (json) {
    std::printf("%s\n", l.dump(2).c_str());
    return 0;
  }
  for (const auto& [k, v] : l.items()) {
    const uint64_t n = v.get<uint64_t>();
    if (k.size() > 4 && k.compare(k.size() - 4, 4, "_lsn") == 0)  // cycle:block, as xfs_logprint
      std::printf("%s %llu:%llu\n", k.c_str(), static_cast<unsigned long long>(n >> 32),
                  static_cast<unsigned long long>(n & 0xffffffffu));
    else
      std::printf("%s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
  }
  return 0;
}

int cmd_stats(const CtlFd& c, bool json) {
  nlohmann::json j;
  std::string err;
  if (c.stats(&j, &err) != 0) return fail(err);
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  // Header fields first, then options, then the counter sections.
  for (const char* k : {"image", "pid", "uptime_s", "version"})
    if (j.contains(k)) print_value(k, j[k]);
  if (j.contains("options")) print_value("options", j["options"]);
  for (const auto& [name, value] : xfsfuse::tools::counters(j))
    std::printf("%s %llu\n", name.c_str(), static_cast<unsigned long long>(value));
  return 0;
}

int cmd_set(const CtlFd& c, const std::string& arg) {
  const std::string key = "vmap_batch=";
  if (arg.compare(0, key.size(), key) != 0)
    return usage_error("set " + arg + ": the only setting is vmap_batch=N");
  const std::string v = arg.substr(key.size());
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = v.empty() || v[0] < '0' || v[0] > '9' ? 0 : std::strtoull(v.c_str(), &end, 10);
  if (n == 0 || errno != 0 || end == nullptr || *end != '\0')
    return usage_error("set " + arg + ": want vmap_batch=N with N in 1..65536");
  uint64_t old = 0;
  std::string err;
  if (c.set_vmap_batch(n, &old, &err) != 0) return fail(err);
  std::printf("vmap_batch %llu (was %llu)\n", n, static_cast<unsigned long long>(old));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  static const option kLong[] = {
      {"help", no_argument, nullptr, 'h'}, {"json", no_argument, nullptr, 'j'}, {"version", no_argument, nullptr, 'V'}, {}};
  bool json = false;
  int c;
  // "+": stop at the first non-option (MOUNTPOINT), then parse the rest again.
  while ((c = getopt_long(argc, argv, "+h", kLong, nullptr)) != -1) {
    if (c == 'h') {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (c == 'j') {
      json = true;
      continue;
    }
    if (c == 'V') {
      std::printf("xfsfuse-ctl %s\n", XFSFUSE_VERSION_STRING);
      return 0;
    }
    return usage_error("bad option");
  }
  std::vector<std::string> args;
  for (int i = optind; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--json")
      json = true;
    else if (a == "-h" || a == "--help")
      return std::fputs(kUsage, stdout), 0;
    else if (a.size() > 1 && a[0] == '-')
      return usage_error("unknown option " + a);
    else
      args.push_back(a);
  }
  if (args.size() < 2) return usage_error("want MOUNTPOINT and COMMAND");
  const std::string& mnt = args[0];
  const std::string& cmd = args[1];
  const size_t want = cmd == "set" ? 3 : 2;
  if (cmd != "stats" && cmd != "log" && cmd != "drop-caches" && cmd != "purge" && cmd != "set")
    return usage_error("unknown command " + cmd);
  if (args.size() != want) return usage_error(cmd == "set" ? "set wants vmap_batch=N" : cmd + " takes no arguments");
  if (json && cmd != "stats" && cmd != "log") return usage_error("--json goes with stats or log");

  CtlFd ctl;
  std::string err;
  if (ctl.open(mnt, &err) != 0) return fail(err);
  if (cmd == "stats") return cmd_stats(ctl, json);
  if (cmd == "log") return cmd_log(ctl, json);
  if (cmd == "set") return cmd_set(ctl, args[2]);
  if (cmd == "drop-caches") {
    uint64_t buffers = 0, inodes = 0, free = 0;
    if (ctl.drop_caches(&buffers, &inodes, &free, &err) != 0) return fail(err);
    std::printf("evicted %llu buffers, %llu in-core inodes; %llu pool pages free\n",
                static_cast<unsigned long long>(buffers), static_cast<unsigned long long>(inodes),
                static_cast<unsigned long long>(free));
    return 0;
  }
  uint64_t freed = 0;
  if (ctl.purge(&freed, &err) != 0) return fail(err);
  std::printf("purged; %llu pages back to the pool\n", static_cast<unsigned long long>(freed));
  return 0;
}
