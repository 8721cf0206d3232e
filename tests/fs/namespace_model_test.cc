// A randomized namespace test (fixed seeds): create, mknod, mkdir, unlink,
// rmdir, rename, link, setxattr and removexattr through fs/ops/ on an rw
// image, each also applied to an in-memory model that predicts its result
// (0 or the kernel's errno: EEXIST, ENOENT, EISDIR, ENOTDIR, ENOTEMPTY,
// EEXIST for a non-empty directory as rename's target, EINVAL for a
// directory moved under itself, ENODATA).  A few directories grow to
// thousands of names with 4 KiB directory blocks, so every directory form
// and the da btree's splits and joins come and go.  Every `check_every`
// ops the tree (names, inode identities, types, link counts, xattrs) is
// compared with the model, unlinked inodes are freed, the image is
// unmounted and xfs_repair -n and xfsfuse-fsck -n must find it clean.
// Attrs concentrate on a few hundred inodes, some in node form.
// Needs xfsprogs ("SKIP:" otherwise).
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "fs/attr.h"
#include "fs/attr_write.h"
#include "fs/ops/inactivate.h"
#include "fs/ops/link.h"
#include "fs/ops/remove.h"
#include "fs/ops/rename.h"
#include "fs/ops/xattr.h"
#include "tests/fs/dir_write_test_util.h"
#include "tests/fs/ops_test_util.h"

namespace xfsfuse::fs::test {

namespace {

struct Node {
  bool dir = false;
  uint64_t ino = 0;
  uint32_t nlink = 1;
  std::map<std::string, int> ents;  // dir: name -> node id
  int parent = -1;                  // dir: its parent's id
  std::map<std::string, std::vector<std::byte>> xattrs;
};

class Model {
 public:
  Model(Mount& m, uint64_t seed) : m_(&m), rng_(seed) {
    nodes_.push_back(Node{true, m.sb().rootino, 2, {}, 0, {}});
    dirs_.insert(0);
  }
  void remount(Mount& m) { m_ = &m; }

  void step() {
    const unsigned r = rng_() % 100;
    const int d = pick_dir();
    if (r < 28) return make(d, false);
    if (r < 33) return make(d, true);
    if (r < 47) return unlink_one(d);
    if (r < 51) return rmdir_one(d);
    if (r < 69) return rename_one(d);
    if (r < 76) return link_one(d);
    if (r < 92) return set_xattr(d);
    return remove_xattr(d);
  }

  // The tree as fs sees it equals the model.
  void check() {
    for (int d : dirs_) {
      InodeRef dp = iget(nodes_[static_cast<size_t>(d)].ino);
      int err;
      const std::vector<Got> got = iterate(*m_, *dp, 0, SIZE_MAX, &err);
      REQUIRE(err == 0);
      const Node& dn = nodes_[static_cast<size_t>(d)];
      REQUIRE(got.size() == dn.ents.size() + 2);
      CHECK(dp->core.nlink == dn.nlink);
      for (const Got& g : got) {
        if (g.name == "." || g.name == "..") continue;
        INFO("entry " << g.name << " of directory " << dp->core.ino);
        REQUIRE(dn.ents.count(g.name));
        const Node& n = nodes_[static_cast<size_t>(dn.ents.at(g.name))];
        REQUIRE(g.ino == n.ino);
        CHECK(g.ftype == (n.dir ? kFtDir : kFtReg));
        InodeRef ip = iget(n.ino);
        CHECK(ip->core.nlink == n.nlink);
        std::map<std::string, std::vector<std::byte>> xs;
        REQUIRE(attr_list(*m_, *ip, [&](std::string_view name) { xs[std::string(name)]; }) == 0);
        for (auto& [name, v] : xs) REQUIRE(attr_get(*m_, *ip, name, &v) == 0);
        CHECK(xs == n.xattrs);
      }
    }
  }

  size_t names() const {
    size_t n = 0;
    for (int d : dirs_) n += nodes_[static_cast<size_t>(d)].ents.size();
    return n;
  }
  // The most bytes of leaf-held attrs (names and values of at most 3/4 of
  // a 4 KiB block) of one inode: more than a block means node form.
  size_t largest_local_attrs() const {
    size_t most = 0;
    for (const Node& n : nodes_) {
      size_t b = 0;
      for (const auto& [k, v] : n.xattrs) b += k.size() + (v.size() <= 3072 ? v.size() : 0);
      most = std::max(most, b);
    }
    return most;
  }
  size_t largest_dir() const {
    size_t n = 0;
    for (int d : dirs_) n = std::max(n, nodes_[static_cast<size_t>(d)].ents.size());
    return n;
  }

 private:
  InodeRef iget(uint64_t ino) {
    InodeRef ip;
    REQUIRE(m_->iget(ino, &ip) == 0);
    return ip;
  }
  Node& node(int id) { return nodes_[static_cast<size_t>(id)]; }
  // A directory, the shallow ones more often so some grow large.
  int pick_dir() {
    std::vector<int> v(dirs_.begin(), dirs_.end());
    return rng_() % 4 == 0 ? v[rng_() % v.size()] : v[rng_() % std::min<size_t>(v.size(), 4)];
  }
  std::string new_name() {
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
    const size_t len = rng_() % 50 == 0 ? 1 + rng_() % 255 : 1 + rng_() % 24;
    std::string s(len, 'x');
    for (char& c : s) c = chars[rng_() % (sizeof chars - 1)];
    if (s == "." || s == "..") s += "z";
    return s;
  }
  // An existing name of d (empty if none).
  std::string some_name(int d) {
    const auto& e = node(d).ents;
    if (e.empty()) return "";
    auto it = e.begin();
    std::advance(it, static_cast<long>(rng_() % std::min<size_t>(e.size(), 64)));
    return it->first;
  }
  int expect(int got, int want, const char* what, const std::string& name) {
    INFO(what << " " << name << " (op " << ops_ << ")");
    REQUIRE(got == want);
    ops_++;
    return got;
  }

  void make(int d, bool dir) {
    std::string name = rng_() % 10 == 0 ? some_name(d) : new_name();
    if (name.empty()) name = new_name();
    const bool exists = node(d).ents.count(name);
    InodeRef dp = iget(node(d).ino), ip;
    const uint32_t mode = dir ? S_IFDIR | 0755 : S_IFREG | 0644;
    if (expect(make_node(*m_, dp, name, kRoot, mode, 0, &ip), exists ? EEXIST : 0, "make", name)) return;
    nodes_.push_back(Node{dir, ip->core.ino, dir ? 2u : 1u, {}, d, {}});
    const int id = static_cast<int>(nodes_.size()) - 1;
    node(d).ents[name] = id;
    if (dir) {
      node(d).nlink++;
      dirs_.insert(id);
    }
  }
  void unlink_one(int d) {
    std::string name = rng_() % 20 == 0 ? new_name() : some_name(d);
    if (name.empty()) return;
    const auto it = node(d).ents.find(name);
    const int want = it == node(d).ents.end() ? ENOENT : node(it->second).dir ? EISDIR : 0;
    if (expect(unlink(*m_, iget(node(d).ino), name, kRoot), want, "unlink", name)) return;
    node(it->second).nlink--;
    node(d).ents.erase(it);
  }
  void rmdir_one(int d) {
    std::string name = some_name(d);
    if (name.empty()) return;
    const int id = node(d).ents.at(name);
    const int want = !node(id).dir ? ENOTDIR : !node(id).ents.empty() ? ENOTEMPTY : 0;
    if (expect(rmdir(*m_, iget(node(d).ino), name, kRoot), want, "rmdir", name)) return;
    node(d).ents.erase(name);
    node(d).nlink--;
    dirs_.erase(id);
  }
  bool under(int id, int dir) {  // dir is id or below it
    for (int x = dir; x != 0; x = node(x).parent)
      if (x == id) return true;
    return id == 0;
  }
  void rename_one(int sd) {
    const std::string sname = some_name(sd);
    if (sname.empty()) return;
    const int td = pick_dir();
    std::string tname = rng_() % 4 == 0 ? some_name(td) : new_name();
    if (tname.empty()) tname = new_name();
    const int src = node(sd).ents.at(sname);
    const auto tit = node(td).ents.find(tname);
    const int tgt = tit == node(td).ents.end() ? -1 : tit->second;
    // A target that is an ancestor of the source is the VFS's to refuse
    // (ENOTEMPTY, before the filesystem is asked): not tried here.
    if (tgt >= 0 && node(tgt).dir && under(tgt, sd)) return;
    int want = 0;
    if (node(src).dir && under(src, td))
      want = EINVAL;
    else if (tgt >= 0 && tgt != src && node(tgt).dir != node(src).dir)
      want = node(src).dir ? ENOTDIR : EISDIR;
    else if (tgt >= 0 && tgt != src && node(tgt).dir && !node(tgt).ents.empty())
      want = EEXIST;
    if (expect(rename(*m_, iget(node(sd).ino), sname, iget(node(td).ino), tname, kRoot, 0), want, "rename",
               sname + " -> " + tname))
      return;
    if (tgt == src) return;  // two names of one inode: nothing happens
    if (tgt >= 0) {
      node(tgt).nlink -= node(tgt).dir ? 2 : 1;
      if (node(tgt).dir) {
        node(td).nlink--;
        dirs_.erase(tgt);
      }
    }
    node(sd).ents.erase(sname);
    node(td).ents[tname] = src;
    if (node(src).dir && sd != td) {
      node(sd).nlink--;
      node(td).nlink++;
      node(src).parent = td;
    }
  }
  void link_one(int d) {
    const int sd = pick_dir();
    const std::string sname = some_name(sd);
    if (sname.empty() || node(node(sd).ents.at(sname)).dir) return;
    const int src = node(sd).ents.at(sname);
    std::string name = rng_() % 10 == 0 ? some_name(d) : new_name();
    if (name.empty()) name = new_name();
    const bool exists = node(d).ents.count(name);
    if (expect(link(*m_, iget(node(src).ino), iget(node(d).ino), name, kRoot), exists ? EEXIST : 0, "link", name))
      return;
    node(d).ents[name] = src;
    node(src).nlink++;
  }
  void set_xattr(int d) {
    const std::string name = some_name(d);
    if (name.empty()) return;
    Node& n = node(node(d).ents.at(name));
    // Up to 40 names an inode, values mostly small, some up to 10,000
    // bytes (local in the leaf up to 3/4 of a block, else remote): every
    // attr format, node form included.
    const std::string key = "user.k" + std::to_string(rng_() % 40);
    std::vector<std::byte> v(rng_() % 8 == 0 ? rng_() % 10000 : rng_() % 64);
    for (std::byte& b : v) b = static_cast<std::byte>(rng_());
    expect(xattr_set(*m_, iget(n.ino), kRoot, key, v, 0), 0, "setxattr", key);
    n.xattrs[key] = v;
  }
  void remove_xattr(int d) {
    const std::string name = some_name(d);
    if (name.empty()) return;
    Node& n = node(node(d).ents.at(name));
    const std::string key = "user.k" + std::to_string(rng_() % 40);
    if (expect(xattr_remove(*m_, iget(n.ino), kRoot, key), n.xattrs.count(key) ? 0 : ENODATA, "removexattr", key))
      return;
    n.xattrs.erase(key);
  }

  Mount* m_;
  std::mt19937_64 rng_;
  std::vector<Node> nodes_;
  std::set<int> dirs_;
  uint64_t ops_ = 0;
};

void run_model(uint64_t seed, size_t ops, size_t check_every) {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_repair not installed (Debian package xfsprogs)");
    return;
  }
  ProtoImage img("/dummy\n0 0\nd--755 0 0\n$\n", 4096, "", 1ll << 30);
  auto m = open_rw(img.path);
  Model model(*m, seed);
  for (size_t i = 1; i <= ops; i++) {
    model.step();
    if (i % check_every == 0 || i == ops) {
      INFO("after " << i << " ops, " << model.names() << " names");
      model.check();
      REQUIRE(inactivate_unlinked(*m) == 0);
      unmount_and_check(m, img.path);
      m = open_rw(img.path);
      model.remount(*m);
      model.check();
    }
  }
  // The largest directory went past one leaf block (about 500 entries with
  // 4 KiB directory blocks), so node form with a da btree was exercised.
  INFO(model.names() << " names, the largest directory holding " << model.largest_dir()
                     << ", the most leaf-held attr bytes of one inode " << model.largest_local_attrs());
  CHECK(model.largest_dir() > 2000);
  CHECK(model.largest_local_attrs() > 4096);  // more than one leaf holds: node form
}

}  // namespace

TEST_CASE("namespace: a hundred thousand random ops agree with a model and leave a clean image", "[namespace][model][1thread]") {
  run_model(20261205, 100000, 25000);
}

}  // namespace xfsfuse::fs::test
