// Extended attributes: namespace prefixes, and the choice of format from the
// inode's attr fork (di_aformat): none, short form (local), or leaf / node
// blocks (extents or btree; the magic of attr fork block 0 tells a lone leaf
// from a da btree).
#include "fs/attr.h"

#include <cerrno>
#include <string>

#include "fs/attr_internal.h"
#include "fs/inode.h"

namespace xfsfuse::fs {

namespace {

using attr::AttrRecord;

struct Namespace {
  std::string_view prefix;
  uint8_t flags;
};
constexpr Namespace kNamespaces[] = {
    {"user.", 0},
    {"trusted.", attr::kFlagRoot},
    {"security.", attr::kFlagSecure},
};

constexpr size_t kFullNameMax = 255;  // Linux XATTR_NAME_MAX, prefix included

std::string_view prefix_of(uint8_t flags) {
  for (const Namespace& n : kNamespaces)
    if (n.flags == (flags & attr::kNamespaceMask)) return n.prefix;
  return {};  // unreachable: the decoders reject ROOT|SECURE together
}

enum class Form { kNone, kShort, kBlocks };

// Which format ip's attrs are in.  Returns 0 or EUCLEAN (one log line).
int form_of(Mount& m, const CachedInode& ip, Form* out) {
  *out = Form::kNone;
  if (!ip.has_attr_fork()) return 0;
  switch (static_cast<ForkFormat>(ip.core.aformat)) {
    case ForkFormat::kLocal:
      *out = Form::kShort;
      return 0;
    case ForkFormat::kExtents:
    case ForkFormat::kBtree:
      // An extents fork with no extents is how an inode keeps an emptied attr fork.
      if (!ip.af.extents.empty()) *out = Form::kBlocks;
      return 0;
    default:
      return m.report_corruption("attr fork", ip.daddr,
                                 "inode " + std::to_string(ip.core.ino) + ": attr fork format " +
                                     std::to_string(ip.core.aformat));
  }
}

int walk(Mount& m, const CachedInode& ip, Form form, const attr::RecordFn& fn) {
  if (form == Form::kShort) return attr::sf_walk(m, ip, fn);
  if (form == Form::kBlocks) return attr::leaf_walk(m, ip, fn);
  return 0;
}

}  // namespace

namespace attr {

int parse_name(std::string_view full, uint8_t* ns, std::string_view* bare) {
  const Namespace* n = nullptr;
  for (const Namespace& c : kNamespaces)
    if (full.starts_with(c.prefix)) n = &c;
  if (n == nullptr) return EOPNOTSUPP;
  if (full.size() > kFullNameMax) return ERANGE;
  *bare = full.substr(n->prefix.size());
  if (bare->empty()) return EINVAL;
  *ns = n->flags;
  return 0;
}

}  // namespace attr

int attr_list(Mount& m, const CachedInode& ip, const std::function<void(std::string_view name)>& fn) {
  Form form;
  if (int err = form_of(m, ip, &form)) return err;
  std::string full;
  return walk(m, ip, form, [&](const AttrRecord& r) {
    if (r.flags & attr::kFlagIncomplete) return true;
    full.assign(prefix_of(r.flags));
    full.append(r.name);
    fn(full);
    return true;
  });
}

int attr_get(Mount& m, const CachedInode& ip, std::string_view name, std::vector<std::byte>* value) {
  uint8_t ns = 0;
  std::string_view bare;
  if (int err = attr::parse_name(name, &ns, &bare)) return err;
  Form form;
  if (int err = form_of(m, ip, &form)) return err;
  if (form == Form::kBlocks) return attr::leaf_get(m, ip, ns, bare, value);
  bool found = false;
  if (int err = walk(m, ip, form, [&](const AttrRecord& r) {
        if (!attr::matches(r, ns, bare)) return true;
        value->assign(r.value.begin(), r.value.end());
        found = true;
        return false;
      }))
    return err;
  return found ? 0 : ENODATA;
}

}  // namespace xfsfuse::fs
