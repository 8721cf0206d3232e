#include "tools/fsck/mounted.h"

#include <mntent.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string_view>

namespace xfsfuse::fsck {

namespace {

bool same_file(const struct stat& a, const std::string& path) {
  struct stat b {};
  return ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The file behind loop device source ("/dev/loop3"), or "".
std::string loop_backing_file(std::string_view source) {
  constexpr std::string_view kDev = "/dev/";
  if (!source.starts_with("/dev/loop")) return "";
  std::ifstream in("/sys/block/" + std::string(source.substr(kDev.size())) + "/loop/backing_file");
  std::string path;
  std::getline(in, path);
  return path;
}

}  // namespace

bool mounted_writable(const std::string& image, std::string* where) {
  struct stat st {};
  if (::stat(image.c_str(), &st) != 0) return false;
  std::unique_ptr<FILE, int (*)(FILE*)> f(setmntent("/proc/self/mounts", "r"), endmntent);
  if (!f) return false;
  while (const mntent* e = getmntent(f.get())) {
    if (hasmntopt(e, "rw") == nullptr) continue;
    bool match = false;
    if (S_ISBLK(st.st_mode)) {
      struct stat src {};
      match = ::stat(e->mnt_fsname, &src) == 0 && S_ISBLK(src.st_mode) && src.st_rdev == st.st_rdev;
    } else if (S_ISREG(st.st_mode)) {
      const std::string backing = loop_backing_file(e->mnt_fsname);
      match = backing.empty() ? e->mnt_fsname[0] == '/' && same_file(st, e->mnt_fsname) : same_file(st, backing);
    }
    if (match) {
      *where = e->mnt_dir;
      return true;
    }
  }
  return false;
}

}  // namespace xfsfuse::fsck
