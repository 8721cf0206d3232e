#!/usr/bin/env python3
"""Bulk file-system work for images/make-kernel-image, on a mounted XFS (run as root).

Subcommands (all paths in specs are relative to ROOT, the mount point):
  apply SPEC ROOT            create what a spec (images/lib.sh format) describes, in order
  xattrs XSPEC ROOT          set the extended attributes an xattr spec describes
  xattr-manifest XSPEC OUT   write the expected xattr manifest for XSPEC (no file system needed)
  probe-xattr FILE NAME      exit 0 if attribute NAME can be set (and removed) on FILE
  fill DIR                   create 4 KiB fallocated files DIR/f000000... until ENOSPC; print count
  thin DIR COUNT             unlink every other fill file (the even-numbered ones)
  clear DIR                  unlink every file in DIR, then DIR

An xattr spec is a TSV file: path, attribute name (with namespace), value length. The value of
NAME with length LEN is value_bytes(NAME, LEN): text naming the attribute and each byte's offset,
so the same spec always gives the same bytes and a misplaced block of a value shows.
"""

import errno
import hashlib
import os
import socket
import stat
import sys


def value_bytes(name: str, length: int) -> bytes:
    out = bytearray()
    off = 0
    while len(out) < length:
        out += f"{name}@{off}:".encode()
        off = len(out)
    return bytes(out[:length])


def copy_data(src: str, dst_fd: int) -> None:
    """Copy src's data ranges only (SEEK_DATA/SEEK_HOLE), so holes stay holes."""
    size = os.stat(src).st_size
    with open(src, "rb") as f:
        fd = f.fileno()
        pos = 0
        while pos < size:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    break
                raise
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            os.lseek(fd, data, os.SEEK_SET)
            left = hole - data
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    raise OSError(errno.EIO, f"short read from {src}")
                os.pwrite(dst_fd, chunk, data)
                data += len(chunk)
                left -= len(chunk)
            pos = hole
    os.ftruncate(dst_fd, size)


def apply(spec: str, root: str) -> None:
    with open(spec, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 6:
                sys.exit(f"{spec}:{lineno}: expected 6 fields")
            rel, typ, mode_s, uid_s, gid_s, arg = fields
            path = root + rel if rel != "/" else root
            if typ == "rm":
                os.unlink(path)
                continue
            if typ == "hardlink":
                os.link(root + arg, path)
                continue
            mode = int(mode_s, 8)
            uid, gid = int(uid_s), int(gid_s)
            if typ == "dir":
                if rel != "/":
                    os.mkdir(path, 0o700)
            elif typ in ("reg", "falloc"):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    if typ == "falloc":
                        size = os.stat(arg).st_size
                        if size:
                            os.posix_fallocate(fd, 0, size)
                    copy_data(arg, fd)
                finally:
                    os.close(fd)
            elif typ == "lnk":
                os.symlink(arg, path)
            elif typ in ("chr", "blk"):
                major, minor = (int(x) for x in arg.split(":"))
                kind = stat.S_IFCHR if typ == "chr" else stat.S_IFBLK
                os.mknod(path, kind | 0o600, os.makedev(major, minor))
            elif typ == "fifo":
                os.mkfifo(path, 0o600)
            elif typ == "sock":
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.bind(path)
                finally:
                    s.close()
            else:
                sys.exit(f"{spec}:{lineno}: unknown type {typ}")
            os.lchown(path, uid, gid)
            if typ != "lnk":
                os.chmod(path, mode)  # after chown, which clears setuid/setgid


def read_xspec(xspec: str):
    with open(xspec, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                sys.exit(f"{xspec}:{lineno}: expected 3 fields")
            yield fields[0], fields[1], int(fields[2])


def xattrs(xspec: str, root: str) -> None:
    for rel, name, length in read_xspec(xspec):
        os.setxattr(root + rel, name, value_bytes(name, length), follow_symlinks=False)


def xattr_manifest(xspec: str, out: str) -> None:
    rows = sorted(
        (rel.encode(), name.encode(), length, hashlib.sha1(value_bytes(name, length)).hexdigest())
        for rel, name, length in read_xspec(xspec)
    )
    with open(out, "wb") as f:
        f.write(b"#path\tname\tlength\tsha1\n")
        for rel, name, length, digest in rows:
            f.write(b"%s\t%s\t%d\t%s\n" % (rel, name, length, digest.encode()))


def probe_xattr(path: str, name: str) -> int:
    try:
        os.setxattr(path, name, b"probe", follow_symlinks=False)
        os.removexattr(path, name, follow_symlinks=False)
    except OSError as e:
        print(f"{name}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


def fill(d: str) -> None:
    n = 0
    while True:
        try:
            fd = os.open(f"{d}/f{n:06d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            break
        try:
            os.posix_fallocate(fd, 0, 4096)
        except OSError as e:
            os.close(fd)
            os.unlink(f"{d}/f{n:06d}")
            if e.errno != errno.ENOSPC:
                raise
            break
        os.close(fd)
        n += 1
    print(n)


def thin(d: str, count: int) -> None:
    for n in range(0, count, 2):
        os.unlink(f"{d}/f{n:06d}")


def clear(d: str) -> None:
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    os.rmdir(d)


def main(argv) -> int:
    cmds = {
        "apply": (2, lambda a: apply(a[0], a[1])),
        "xattrs": (2, lambda a: xattrs(a[0], a[1])),
        "xattr-manifest": (2, lambda a: xattr_manifest(a[0], a[1])),
        "probe-xattr": (2, lambda a: probe_xattr(a[0], a[1])),
        "fill": (1, lambda a: fill(a[0])),
        "thin": (2, lambda a: thin(a[0], int(a[1]))),
        "clear": (1, lambda a: clear(a[0])),
    }
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][0]:
        print(__doc__, file=sys.stderr)
        return 2
    rc = cmds[argv[1]][1](argv[2:])
    return rc or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
