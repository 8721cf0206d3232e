# tests/images/tree-view.sh - sourced by check-image.sh and tests/fuse/fuse-test.sh: what a mounted
# image shows, in forms the tests compare line for line. The same functions read a kernel mount and
# an xfsfuse mount, so the two are always judged the same way.
#
#   tree_view MNT    the manifest columns (images/README.md), sorted, no header
#   xattr_view MNT   the xattr manifest columns (path, name, length, SHA-1), sorted, no header
#   stat_view MNT    every stat field, one path a line, sorted: path, st_ino, type, st_mode (octal),
#                    nlink, uid, gid, size (directories too), blocks (512 B), blksize, atime, mtime
#                    and ctime (ns), rdev (MAJOR:MINOR or -)
#
# Needs find, sha1sum, awk, sort and python3. LC_ALL=C is set by the caller.

# tree_view MNT: the manifest lines (no header) for the tree shown under MNT.
tree_view() {
  local mnt=$1
  (
    cd "$mnt"
    find . \( -type c -o -type b \) -exec stat -c '%n	%Hr:%Lr' {} + | sed 's/^/D\t/'
    find . -type f -print0 | xargs -0 -r sha1sum | awk '{ h = $1; sub(/^[^ ]*  /, ""); print "H\t" $0 "\t" h }'
    find . -printf 'E\t./%P\t%y\t%m\t%U\t%G\t%s\t%l\n'
  ) | awk -F '\t' -v OFS='\t' '
    $1 == "D" { rdev[$2] = $3; next }
    $1 == "H" { sha[$2] = $3; next }
    {
      p = $2; sub(/^\.\/?/, "/", p); if (p == "") p = "/"
      t = ($3 == "f") ? "reg" : ($3 == "d") ? "dir" : ($3 == "l") ? "lnk" : ($3 == "c") ? "chr" : \
          ($3 == "b") ? "blk" : ($3 == "p") ? "fifo" : ($3 == "s") ? "sock" : "?" $3
      size = (t == "dir") ? "-" : $7
      print p, t, sprintf("%04d", $4), $5, $6, size, (t == "chr" || t == "blk") ? rdev[$2] : "-", \
            (t == "lnk") ? $8 : "-", (t == "reg") ? sha[$2] : "-"
    }' | sort -t "$(printf '\t')" -k1,1
}

# xattr_view MNT: one line per extended attribute of every path under MNT (symlinks not followed).
xattr_view() {
  python3 - "$1" <<'EOF' | sort
import hashlib, os, sys
root = sys.argv[1]
for d, dirs, files in os.walk(root):
    for n in [d] + [os.path.join(d, x) for x in files + [y for y in dirs if os.path.islink(os.path.join(d, y))]]:
        rel = "/" + os.path.relpath(n, root) if n != root else "/"
        for a in os.listxattr(n, follow_symlinks=False):
            v = os.getxattr(n, a, follow_symlinks=False)
            print(f"{rel}\t{a}\t{len(v)}\t{hashlib.sha1(v).hexdigest()}")
EOF
}

# stat_view MNT: lstat of every path under MNT, every field a driver must report as the kernel does.
stat_view() {
  python3 - "$1" <<'EOF' | sort -t "$(printf '\t')" -k1,1
import os, stat, sys
root = sys.argv[1]
types = {stat.S_IFREG: "reg", stat.S_IFDIR: "dir", stat.S_IFLNK: "lnk", stat.S_IFCHR: "chr",
         stat.S_IFBLK: "blk", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "sock"}
def show(path):
    s = os.lstat(path)
    rel = "/" + os.path.relpath(path, root) if path != root else "/"
    dev = f"{os.major(s.st_rdev)}:{os.minor(s.st_rdev)}" if stat.S_ISCHR(s.st_mode) or stat.S_ISBLK(s.st_mode) else "-"
    print("\t".join(str(x) for x in (rel, s.st_ino, types.get(stat.S_IFMT(s.st_mode), "?"), oct(s.st_mode),
          s.st_nlink, s.st_uid, s.st_gid, s.st_size, s.st_blocks, s.st_blksize,
          s.st_atime_ns, s.st_mtime_ns, s.st_ctime_ns, dev)))
for d, dirs, files in os.walk(root):
    show(d)
    for x in files + [y for y in dirs if os.path.islink(os.path.join(d, y))]:
        show(os.path.join(d, x))
EOF
}
