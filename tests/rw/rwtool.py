#!/usr/bin/env python3
"""rwtool.py - the file operations and views of tests/rw/difftest.sh that the shell tools lack.

    rwtool.py pwrite FILE OFFSET LENGTH [--tag T] [--direct] [--fsync]
        write LENGTH bytes of the pattern (below) at OFFSET, creating FILE (0644) if absent, never
        truncating it; LENGTH may be larger than the free space (it stops at the first error)
    rwtool.py append FILE LENGTH [--tag T]
        LENGTH pattern bytes through O_APPEND (the pattern of the file offset they land at)
    rwtool.py strided FILE STRIDE LENGTH COUNT [--tag T] [--reverse]
        COUNT writes of LENGTH pattern bytes at 0, STRIDE, 2*STRIDE, ... (--reverse: last first)
    rwtool.py pattern LENGTH [--tag T]
        the pattern on stdout (for dd)
    rwtool.py readsum FILE OFFSET LENGTH
        prints "OFFSET+LENGTH: zero" when those bytes read back as zeros, else their SHA-256;
        a short read prints how many bytes came back
    rwtool.py rename OLD NEW [--noreplace] [--exchange] [--whiteout]
        renameat2(2) with those flags (RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT)
    rwtool.py snapshot ROOT STRICT ALLOC
        writes the two views of the tree under ROOT (format below)
    rwtool.py setxattr PATH NAME LENGTH [--tag T] [--create | --replace]
        sets extended attribute NAME of PATH (not following a symlink) to LENGTH pattern bytes
        (XATTR_CREATE / XATTR_REPLACE with the options)
    rwtool.py removexattr PATH NAME
        removes extended attribute NAME of PATH (not following a symlink)
    rwtool.py tmpfile DIR LENGTH [--tag T] [--mode M] [--excl] [--link NAME] [--stat]
        open(DIR, O_TMPFILE | O_RDWR [| O_EXCL], M (octal, default 600)), write LENGTH pattern
        bytes, --stat: print its link count, mode and size, then --link: give it NAME through
        linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd (and print the link count again with --stat)
    rwtool.py batch FILE
        runs the commands above, one per line of FILE (shell-style words), in this one process
        (a Python start costs more than most commands); stops at the first that fails, exit 1

Sizes accept the suffixes k, m, g, t (powers of 1024). The pattern: 64-byte records
"TAG@OFFSET:" + filler + "\\n", so every piece of a file names its tag and file offset (a misplaced
block shows in a diff of the content). Errors: one line "NAME: ERRNO-NAME (text)" on stderr and
exit 1, so the harness's log compares the errno, not a message a tool words its own way.

STRICT (must be equal between two mounts), one line per path, sorted; then one line per xattr:
    path  type  mode  uid  gid  size  nlink  rdev  target  content
    path  xattr  name  hex-value
  content: for a regular file, SHA-256 over (offset, bytes) of every 4 KiB block that is not all
  zero, plus the size: independent of which ranges are holes, unwritten or written zeros. Only
  ranges lseek(SEEK_DATA) reports as data are read (a filesystem without SEEK_DATA: the whole file).
ALLOC (allocation; compared within a per-case tolerance), one line per path:
    path  blocks  [data map: START-END,... from SEEK_DATA/SEEK_HOLE, regular files only]
"""
import errno
import hashlib
import os
import stat
import sys

BLOCK = 4096
FILL = ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+-" * 2).encode()


def size_arg(text):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    if text[-1:].lower() in mult:
        return int(text[:-1]) * mult[text[-1].lower()]
    return int(text)


def pattern(tag, offset, length):
    """The pattern bytes for [offset, offset + length) of a file written with tag."""
    out = bytearray()
    first = offset - offset % 64
    for rec in range(first, offset + length, 64):
        head = f"{tag}@{rec}:".encode()
        r = head + FILL[(rec // 64) % 64:][:63 - len(head)] + b"\n"
        out += r[:64]
    start = offset - first
    return bytes(out[start:start + length])


def fail(what, err):
    print(f"{what}: {errno.errorcode.get(err.errno, err.errno)} ({os.strerror(err.errno)})",
          file=sys.stderr)
    sys.exit(1)


def write_all(fd, offset, data, direct):
    if direct:
        import mmap
        buf = mmap.mmap(-1, len(data))
        buf.write(data)
        data = buf
    view = memoryview(data)
    done = 0
    while done < len(view):
        n = os.pwrite(fd, view[done:], offset + done)
        if n == 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        done += n


def cmd_pwrite(args):
    path, off, length = args[0], size_arg(args[1]), size_arg(args[2])
    tag = opt(args, "--tag", "w")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_DIRECT if "--direct" in args else 0)
    try:
        fd = os.open(path, flags, 0o644)
        chunk = 1 << 20
        for pos in range(off, off + length, chunk):
            write_all(fd, pos, pattern(tag, pos, min(chunk, off + length - pos)), "--direct" in args)
        if "--fsync" in args:
            os.fsync(fd)
        os.close(fd)
    except OSError as e:
        fail("pwrite", e)


def cmd_append(args):
    path, length, tag = args[0], size_arg(args[1]), opt(args, "--tag", "a")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        end = os.fstat(fd).st_size
        data = memoryview(pattern(tag, end, length))
        done = 0
        while done < len(data):
            done += os.write(fd, data[done:])
        os.close(fd)
    except OSError as e:
        fail("append", e)


def cmd_strided(args):
    path, stride, length, count = args[0], size_arg(args[1]), size_arg(args[2]), int(args[3])
    tag = opt(args, "--tag", "s")
    order = range(count - 1, -1, -1) if "--reverse" in args else range(count)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        for i in order:
            write_all(fd, i * stride, pattern(tag, i * stride, length), False)
        os.close(fd)
    except OSError as e:
        fail("strided", e)


def cmd_pattern(args):
    length, tag = size_arg(args[0]), opt(args, "--tag", "p")
    chunk = 1 << 20
    for pos in range(0, length, chunk):
        sys.stdout.buffer.write(pattern(tag, pos, min(chunk, length - pos)))


def cmd_readsum(args):
    path, off, length = args[0], size_arg(args[1]), size_arg(args[2])
    try:
        fd = os.open(path, os.O_RDONLY)
        data = os.pread(fd, length, off)
        os.close(fd)
    except OSError as e:
        fail("readsum", e)
    what = "zero" if data.count(0) == len(data) else hashlib.sha256(data).hexdigest()
    short = "" if len(data) == length else f" (short read: {len(data)} bytes)"
    print(f"{off}+{length}: {what}{short}")


def data_map(fd, size):
    """[(start, end)] of the ranges SEEK_DATA/SEEK_HOLE call data; [(0, size)] without them."""
    ranges, pos = [], 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:
                break
            if e.errno == errno.EINVAL:
                return [(0, size)]
            raise
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        ranges.append((start, end))
        pos = end
    return ranges


def content_digest(path, size):
    h = hashlib.sha256(f"size {size}\n".encode())
    fd = os.open(path, os.O_RDONLY)
    ranges = data_map(fd, size)
    zero = bytes(BLOCK)
    hashed_to = 0  # blocks below this offset are in the digest already
    for start, end in ranges:
        pos = max(start - start % BLOCK, hashed_to)
        while pos < end:
            n = min(1 << 20, end - pos)
            data = os.pread(fd, n + -n % BLOCK, pos)
            if not data:
                break
            for i in range(0, len(data), BLOCK):
                blk = data[i:i + BLOCK]
                if blk != zero[:len(blk)]:
                    h.update(f"{pos + i}\n".encode())
                    h.update(blk)
            pos += len(data)
        hashed_to = pos
    os.close(fd)
    return h.hexdigest(), ranges


TYPES = {stat.S_IFREG: "reg", stat.S_IFDIR: "dir", stat.S_IFLNK: "lnk", stat.S_IFCHR: "chr",
         stat.S_IFBLK: "blk", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "sock"}


def cmd_rename(args):
    import ctypes
    flags = sum(bit for opt_name, bit in (("--noreplace", 1), ("--exchange", 2), ("--whiteout", 4))
                if opt_name in args)
    old, new = [a for a in args if not a.startswith("--")][:2]
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd = -100
    if libc.renameat2(at_fdcwd, os.fsencode(old), at_fdcwd, os.fsencode(new), flags) != 0:
        err = ctypes.get_errno()
        fail("rename", OSError(err, os.strerror(err)))


def cmd_snapshot(args):
    root, strict_out, alloc_out = args
    paths = []
    for d, dirs, files in os.walk(root):
        paths.append(d)
        paths += [os.path.join(d, x) for x in files]
        paths += [os.path.join(d, x) for x in dirs if os.path.islink(os.path.join(d, x))]
    strict, xattrs, alloc = [], [], []
    for p in paths:
        rel = "/" + os.path.relpath(p, root) if p != root else "/"
        s = os.lstat(p)
        kind = TYPES.get(stat.S_IFMT(s.st_mode), "?")
        rdev = f"{os.major(s.st_rdev)}:{os.minor(s.st_rdev)}" if kind in ("chr", "blk") else "-"
        target = os.readlink(p) if kind == "lnk" else "-"
        content, extra = "-", ""
        if kind == "reg":
            content, ranges = content_digest(p, s.st_size)
            extra = "\t" + (",".join(f"{a}-{b}" for a, b in ranges) or "none")
        strict.append("\t".join(str(x) for x in (
            rel, kind, f"{stat.S_IMODE(s.st_mode):04o}", s.st_uid, s.st_gid, s.st_size,
            s.st_nlink, rdev, target, content)))
        for name in sorted(os.listxattr(p, follow_symlinks=False)):
            value = os.getxattr(p, name, follow_symlinks=False)
            xattrs.append(f"{rel}\txattr\t{name}\t{value.hex()}")
        alloc.append(f"{rel}\t{s.st_blocks}{extra}")
    with open(strict_out, "w") as f:
        f.writelines(line + "\n" for line in sorted(strict) + sorted(xattrs))
    with open(alloc_out, "w") as f:
        f.writelines(line + "\n" for line in sorted(alloc))


def opt(args, name, default):
    return args[args.index(name) + 1] if name in args else default


def cmd_setxattr(args):
    path, name, length, tag = args[0], args[1], size_arg(args[2]), opt(args, "--tag", "x")
    flags = os.XATTR_CREATE if "--create" in args else os.XATTR_REPLACE if "--replace" in args else 0
    try:
        os.setxattr(path, name, pattern(tag, 0, length), flags, follow_symlinks=False)
    except OSError as e:
        fail("setxattr", e)


def cmd_removexattr(args):
    try:
        os.removexattr(args[0], args[1], follow_symlinks=False)
    except OSError as e:
        fail("removexattr", e)


def cmd_tmpfile(args):
    opt = {a: args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--tag", "--mode", "--link")}
    directory, length = args[0], size_arg(args[1])
    flags = os.O_TMPFILE | os.O_RDWR | (os.O_EXCL if "--excl" in args else 0)
    try:
        fd = os.open(directory, flags, int(opt.get("--mode", "600"), 8))
    except OSError as e:
        fail("open", e)

    def show():
        if "--stat" in args:
            s = os.fstat(fd)
            print(f"nlink {s.st_nlink} mode {stat.S_IMODE(s.st_mode):o} size {s.st_size}")
    try:
        write_all(fd, 0, pattern(opt.get("--tag", "t"), 0, length), False)
    except OSError as e:
        fail("write", e)
    show()
    if "--link" in opt:
        root = os.open("/", os.O_RDONLY)
        try:
            os.link(f"/proc/self/fd/{fd}", opt["--link"], src_dir_fd=root, follow_symlinks=True)
        except OSError as e:
            fail("link", e)
        show()
    os.close(fd)


def cmd_batch(args):
    import shlex
    with open(args[0]) as f:
        lines = [line for line in f if line.strip() and not line.lstrip().startswith("#")]
    for n, line in enumerate(lines, 1):
        words = shlex.split(line)
        try:
            run(words)
        except SystemExit as e:
            if e.code:
                print(f"batch: command {n} failed: {line.strip()}", file=sys.stderr)
                sys.exit(1)


def run(argv):
    if not argv or argv[0] not in CMDS or len(argv) - 1 < CMDS[argv[0]][1]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    CMDS[argv[0]][0](argv[1:])


CMDS = {"pwrite": (cmd_pwrite, 3), "append": (cmd_append, 2),
        "strided": (cmd_strided, 4), "pattern": (cmd_pattern, 1),
        "readsum": (cmd_readsum, 3), "rename": (cmd_rename, 2), "snapshot": (cmd_snapshot, 3),
        "setxattr": (cmd_setxattr, 3), "removexattr": (cmd_removexattr, 2),
        "tmpfile": (cmd_tmpfile, 2), "batch": (cmd_batch, 1)}


def main():
    run(sys.argv[1:])


if __name__ == "__main__":
    main()
