#include "tools/churn_image.h"

#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "tools/churn_exec.h"

#ifndef XFSFUSE_MAKE_IMAGE
#error "XFSFUSE_MAKE_IMAGE (the path of images/make-image in the source tree) must be defined by the build"
#endif

namespace xfsfuse::tools::churn {

namespace {

// Runs xfs_db -r with the given -c commands on path; returns 0 with its output,
// or EINVAL with *err.
int xfs_db(const std::string& path, std::initializer_list<const char*> commands, std::string* output,
           std::string* err) {
  std::vector<std::string> argv{"xfs_db", "-r"};
  for (const char* c : commands) argv.insert(argv.end(), {"-c", c});
  argv.push_back(path);
  int status = 0;
  if (int e = run_command(argv, output, &status)) {
    *err = std::string("xfs_db: ") + std::strerror(e) + (e == ENOENT ? " (Debian: xfsprogs)" : "");
    return EINVAL;
  }
  if (!exited_ok(status)) {
    std::string why = *output;
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    *err = path + ": not an XFS image xfs_db can read (xfs_db " + describe_status(status) + ": " + why + ")";
    return EINVAL;
  }
  return 0;
}

// The value of "NAME = VALUE" in xfs_db output, or -1.
long field(const std::string& output, const std::string& name) {
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " = ", 0) == 0) return std::strtol(line.c_str() + name.size() + 3, nullptr, 10);
  }
  return -1;
}

// The generator installed with this program (cmake/install.cmake):
// BINDIR/../share/xfsfuse/images/make-image, found from /proc/self/exe so that
// any install prefix works.  "" if /proc/self/exe cannot be read.
std::string installed_make_image() {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  const std::string exe(self, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/')) + "/../share/xfsfuse/images/make-image";
}

}  // namespace

int build_image(const std::string& path, uint32_t files, std::string* err) {
  // The source tree's generator while running from a build tree, else the installed copy.
  std::string make_image = XFSFUSE_MAKE_IMAGE;
  if (::access(make_image.c_str(), X_OK) != 0) make_image = installed_make_image();
  if (make_image.empty() || ::access(make_image.c_str(), X_OK) != 0) {
    *err = std::string("neither ") + XFSFUSE_MAKE_IMAGE + " nor " + installed_make_image() +
           " exists (images are built with images/make-image); pass --image IMG with an image built before";
    return ENOENT;
  }
  std::string output;
  int status = 0;
  if (int e = run_command({make_image, "churn", path, std::to_string(files)}, &output, &status)) {
    *err = make_image + ": " + std::strerror(e);
    return EIO;
  }
  if (!exited_ok(status)) {
    *err = "make-image churn " + path + " " + std::to_string(files) + " " + describe_status(status) + ":\n" + output;
    return EIO;
  }
  return 0;
}

int check_image(const std::string& path, uint32_t files, std::string* err) {
  std::string out;
  if (int e = xfs_db(path, {"sb 0", "print blocklog", "print dirblklog"}, &out, err)) return e;
  const long blocklog = field(out, "blocklog"), dirblklog = field(out, "dirblklog");
  if (blocklog < 0 || dirblklog < 0) {
    *err = path + ": xfs_db printed no blocklog/dirblklog: " + out;
    return EINVAL;
  }
  if (blocklog + dirblklog != 16) {
    *err = path + ": directory blocks are " + std::to_string(1l << (blocklog + dirblklog)) +
           " bytes, not 64 KiB (build it with mkfs.xfs -n size=65536, or give another --image)";
    return EINVAL;
  }
  if (int e = xfs_db(path, {"path /d", "ls"}, &out, err)) {
    *err = path + ": no directory /d (xfsfuse-churn images have their files in /d)";
    return e;
  }
  // ls lines: "OFFSET INUMBER TYPE HASH NAMELEN NAME (good)"; "." and ".." are not files.
  uint64_t entries = 0;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string off, ino, type, hash, len, name;
    if (!(words >> off >> ino >> type >> hash >> len >> name) || hash.rfind("0x", 0) != 0) continue;
    if (name != "." && name != "..") entries++;
  }
  if (entries != files) {
    *err = path + ": /d holds " + std::to_string(entries) + " entries, not " + std::to_string(files) +
           " (pass --files " + std::to_string(entries) + ", or another --image)";
    return EINVAL;
  }
  return 0;
}

}  // namespace xfsfuse::tools::churn
