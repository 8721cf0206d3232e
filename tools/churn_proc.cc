#include "tools/churn_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace xfsfuse::tools::churn {

namespace {

// Sums the values of the "voluntary_ctxt_switches:" and
// "nonvoluntary_ctxt_switches:" lines of one /proc/.../status file.
int ctxt_of_status(const std::string& path, uint64_t* sum) {
  std::ifstream in(path);
  if (!in) return ENOENT;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0 || line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
      *sum += std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
  }
  return 0;
}

}  // namespace

int read_tlb_shootdowns(uint64_t* out) {
  std::ifstream in("/proc/interrupts");
  if (!in) return ENOENT;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string label;
    words >> label;
    if (label != "TLB:") continue;
    // Per-CPU counts follow the label; the description ("TLB shootdowns") ends them.
    uint64_t sum = 0, v = 0;
    while (words >> v) sum += v;
    *out = sum;
    return 0;
  }
  return ENOENT;
}

int read_ctxt_system(uint64_t* out) {
  std::ifstream in("/proc/stat");
  if (!in) return ENOENT;
  std::string key;
  uint64_t v = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    if (words >> key >> v && key == "ctxt") {
      *out = v;
      return 0;
    }
  }
  return ENOENT;
}

int read_ctxt_process(pid_t pid, uint64_t* out) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno;
  uint64_t sum = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    // A thread that exits between readdir and open simply stops counting.
    ctxt_of_status(dir + "/" + e->d_name + "/status", &sum);
  }
  ::closedir(d);
  *out = sum;
  return 0;
}

int read_loadavg(double out[3]) {
  std::ifstream in("/proc/loadavg");
  if (!(in >> out[0] >> out[1] >> out[2])) return ENOENT;
  return 0;
}

int read_loadavg1(double* out) {
  double l[3];
  if (int e = read_loadavg(l)) return e;
  *out = l[0];
  return 0;
}

int drop_kernel_caches(std::string* err) {
  ::sync();
  const int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, "3\n", 2) != 2) {
    const int e = errno;
    if (fd >= 0) ::close(fd);
    *err = std::string("/proc/sys/vm/drop_caches: ") + std::strerror(e);
    return e;
  }
  ::close(fd);
  return 0;
}

}  // namespace xfsfuse::tools::churn
