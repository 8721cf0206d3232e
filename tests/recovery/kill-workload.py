#!/usr/bin/env python3
"""kill-workload.py - the seeded workload of kill-crash.sh, and its checks after the crash.

    kill-workload.py run ROOT SEED OUTDIR [--max-ops N]
        in ROOT (a fresh mount): makes the top directories d0..d3 and big, fills big with
        2,500-8,500 small files (leaf form of a 64 KiB-block directory, sometimes near node form),
        touches OUTDIR/ready, then runs random operations until one fails (the daemon was killed)
        or N operations are done, the big directory's filling included (then it writes its status
        and waits for OUTDIR/killed: kill-crash.sh --ops N, a reproducible kill point)
    kill-workload.py delay SEED
        the milliseconds kill-crash.sh waits after "ready" before kill -9 (300..3000)
    kill-workload.py check ROOT JOURNAL
        every journal line "PATH MD5 SIZE" must name a regular file under ROOT with that size and
        MD5; prints "N entries checked" or one line per mismatch (exit 1)

Operations (weights in OPS): small files created in big; files of 0..300 KiB created anywhere
else; overwrites, extensions and truncations; renames within and across directories (replacing an
existing file sometimes); unlinks; mkdir, rmdir of empty directories and renames of directories;
hard links; symlinks with targets of 1..300 bytes; and fsync: a file with one link is read back
(it must hold what the model wrote), fsync'd, its directory fsync'd, then "PATH MD5 SIZE" is
appended to OUTDIR/journal and the journal fsync'd. A journaled file is never touched again and
the directories holding it are never removed or renamed: every journal line must survive the crash.

File contents come from the seed and the file's first name (random.Random(f"{seed}:{name}#{k}")
for the file's k-th write), so a run is reproducible from the seed up to the operation killed.

Output in OUTDIR: ready, journal, ops.log (one line per operation, written before it is issued) and
status ("ops N setup S fsyncs M files F dirs D stop STOP"; STOP is "killed: ERRNO" when the first failure
came after kill-crash.sh wrote OUTDIR/killed, else "error: OP: ERRNO (text)"). Exit 0 when stopped
by the kill (or --max-ops), 1 on an error before it.
"""
import errno
import hashlib
import os
import random
import sys
import time

KIB = 1024
OPS = [  # (name, weight)
    ("create_big", 30), ("create", 12), ("overwrite", 6), ("truncate", 3), ("rename_within", 6),
    ("rename_across", 6), ("unlink", 9), ("mkdir", 3), ("rmdir", 3), ("rename_dir", 1),
    ("link", 4), ("symlink", 2), ("fsync", 3),
]
MAX_DEPTH = 3
DATA_BUDGET = 200 << 20  # bytes of file data the model lets exist (the image is 512 MiB)


class Stop(Exception):
    pass


class Pool:
    """A set with O(1) add, remove and random choice."""

    def __init__(self):
        self.items, self.where = [], {}

    def add(self, x):
        if x not in self.where:
            self.where[x] = len(self.items)
            self.items.append(x)

    def remove(self, x):
        i = self.where.pop(x, None)
        if i is None:
            return
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.where[last] = i

    def choice(self, rng):
        return self.items[rng.randrange(len(self.items))] if self.items else None

    def __len__(self):
        return len(self.items)


class Dir:
    def __init__(self, parent, name):
        self.parent, self.name, self.children, self.pinned = parent, name, {}, False

    def path(self):
        parts, d = [], self
        while d.parent is not None:
            parts.append(d.name)
            d = d.parent
        return "/".join(reversed(parts))

    def depth(self):
        n, d = 0, self
        while d.parent is not None:
            n, d = n + 1, d.parent
        return n


class File:
    def __init__(self, name):
        self.first_name, self.links, self.writes, self.size, self.frozen = name, set(), [], 0, False


class Sym:
    pass


class Workload:
    def __init__(self, root, seed, outdir):
        self.root, self.seed, self.outdir = root, seed, outdir
        self.rng = random.Random(f"workload:{seed}")
        self.top = Dir(None, "")
        self.dirs = Pool()      # every directory, the root included
        self.subdirs = Pool()   # directories below the top ones (mkdir, rmdir, rename_dir)
        self.links = Pool()     # (Dir, name) of every link of a file not frozen
        self.syms = Pool()      # (Dir, name) of every symlink
        self.counter = 0
        self.data = 0
        self.ops = self.setup_ops = self.fsyncs = 0
        self.killed_flag = os.path.join(outdir, "killed")
        self.log = open(os.path.join(outdir, "ops.log"), "w", buffering=1)
        self.journal = open(os.path.join(outdir, "journal"), "a")

    # --- helpers --------------------------------------------------------------------------

    def abs(self, d, name=None):
        p = d.path() if name is None else (f"{d.path()}/{name}" if d.parent else name)
        return os.path.join(self.root, p) if p else self.root

    def rel(self, d, name):
        return f"{d.path()}/{name}" if d.parent else name

    def new_name(self, prefix):
        self.counter += 1
        tail = "x" * self.rng.randrange(0, 40)
        return f"{prefix}{self.counter:06d}{tail}"

    def issue(self, text, fn, *args):
        self.log.write(text + "\n")
        try:
            return fn(*args)
        except OSError as e:
            if os.path.exists(self.killed_flag):
                raise Stop(f"killed: {errno.errorcode.get(e.errno, e.errno)}")
            raise Stop(f"error: {text}: {errno.errorcode.get(e.errno, e.errno)} ({e.strerror})")

    def bytes_of(self, f, k, n):
        return random.Random(f"{self.seed}:{f.first_name}#{k}").randbytes(n)

    def content(self, f):
        buf = bytearray()
        for k, w in enumerate(f.writes):
            if w[0] == "t":
                del buf[w[1]:]
                buf.extend(bytes(w[1] - len(buf)))
            else:
                off, n = w[1], w[2]
                if len(buf) < off + n:
                    buf.extend(bytes(off + n - len(buf)))
                buf[off:off + n] = self.bytes_of(f, k, n)
        return bytes(buf)

    def pwrite(self, path, f, off, n, flags):
        fd = os.open(path, flags, 0o644)
        try:
            data = self.bytes_of(f, len(f.writes), n)
            f.writes.append(("w", off, n))
            done = 0
            while done < n:
                done += os.pwrite(fd, data[done:], off + done)
        finally:
            os.close(fd)
        self.data += max(0, off + n - f.size)
        f.size = max(f.size, off + n)

    def attach(self, d, name, obj):
        d.children[name] = obj
        if isinstance(obj, File):
            obj.links.add((d, name))
            if not obj.frozen:
                self.links.add((d, name))
        elif isinstance(obj, Sym):
            self.syms.add((d, name))

    def detach(self, d, name):
        obj = d.children.pop(name)
        if isinstance(obj, File):
            obj.links.discard((d, name))
            self.links.remove((d, name))
            if not obj.links:
                self.data -= obj.size
        elif isinstance(obj, Sym):
            self.syms.remove((d, name))
        return obj

    def pick_dir(self, not_big=False):
        for _ in range(8):
            d = self.dirs.choice(self.rng)
            if not (not_big and d is self.big):
                return d
        return self.top

    def pick_link(self):
        return self.links.choice(self.rng)

    # --- operations -----------------------------------------------------------------------

    def create_in(self, d, size):
        f = File(self.new_name("f"))
        name = f.first_name
        path = self.abs(d, name)
        self.issue(f"create {self.rel(d, name)} {size}", self.pwrite, path, f, 0, size,
                   os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        self.attach(d, name, f)

    def op_create_big(self):
        self.create_in(self.big, self.rng.randrange(0, 4 * KIB + 1))

    def op_create(self):
        big = self.data < DATA_BUDGET
        self.create_in(self.pick_dir(not_big=True), self.rng.randrange(0, (300 if big else 4) * KIB + 1))

    def op_overwrite(self):
        link = self.pick_link()
        if link is None:
            return self.op_create()
        d, name = link
        f = d.children[name]
        off = self.rng.randrange(0, f.size + 1)
        n = self.rng.randrange(1, 64 * KIB + 1)
        if self.data >= DATA_BUDGET:
            n = min(n, max(0, f.size - off)) or 1
        self.issue(f"pwrite {self.rel(d, name)} {off} {n}", self.pwrite, self.abs(d, name), f, off, n, os.O_WRONLY)

    def op_truncate(self):
        link = self.pick_link()
        if link is None:
            return self.op_create()
        d, name = link
        f = d.children[name]
        size = self.rng.randrange(0, f.size + 64 * KIB + 1)
        self.issue(f"truncate {self.rel(d, name)} {size}", os.truncate, self.abs(d, name), size)
        f.writes.append(("t", size))
        self.data += size - f.size
        f.size = size

    def rename_entry(self, same_dir):
        src = self.links.choice(self.rng) if self.rng.random() < 0.85 or not self.syms else self.syms.choice(self.rng)
        if src is None:
            return self.op_create()
        sd, sname = src
        td = sd if same_dir else self.pick_dir()
        tname = self.new_name("r")
        if self.rng.random() < 0.25:  # over an existing file (not frozen, not the same inode)
            victim = self.links.choice(self.rng)
            if victim and (same_dir is False or victim[0] is sd) and \
                    victim[0].children[victim[1]] is not sd.children[sname]:
                td, tname = victim
        self.issue(f"rename {self.rel(sd, sname)} {self.rel(td, tname)}", os.rename,
                   self.abs(sd, sname), self.abs(td, tname))
        obj = self.detach(sd, sname)
        if tname in td.children:
            self.detach(td, tname)
        self.attach(td, tname, obj)

    def op_rename_within(self):
        self.rename_entry(True)

    def op_rename_across(self):
        self.rename_entry(False)

    def op_unlink(self):
        src = self.links.choice(self.rng) if self.rng.random() < 0.9 or not self.syms else self.syms.choice(self.rng)
        if src is None:
            return self.op_create()
        d, name = src
        self.issue(f"unlink {self.rel(d, name)}", os.unlink, self.abs(d, name))
        self.detach(d, name)

    def op_mkdir(self):
        d = self.pick_dir(not_big=True)
        if d.depth() >= MAX_DEPTH:
            d = self.top.children[f"d{self.rng.randrange(4)}"]
        name = self.new_name("s")
        self.issue(f"mkdir {self.rel(d, name)}", os.mkdir, self.abs(d, name))
        sub = Dir(d, name)
        d.children[name] = sub
        self.dirs.add(sub)
        self.subdirs.add(sub)

    def op_rmdir(self):
        for _ in range(6):
            sub = self.subdirs.choice(self.rng)
            if sub and not sub.children and not sub.pinned:
                self.issue(f"rmdir {sub.path()}", os.rmdir, self.abs(sub))
                del sub.parent.children[sub.name]
                self.dirs.remove(sub)
                self.subdirs.remove(sub)
                return
        self.op_mkdir()

    def op_rename_dir(self):
        sub = self.subdirs.choice(self.rng)
        if sub is None or sub.pinned:
            return self.op_mkdir()
        to = self.pick_dir(not_big=True)
        a = to
        while a is not None:  # not into itself
            if a is sub:
                return self.op_mkdir()
            a = a.parent
        name = self.new_name("m")
        self.issue(f"rename {sub.path()} {self.rel(to, name)}", os.rename, self.abs(sub), self.abs(to, name))
        del sub.parent.children[sub.name]
        sub.parent, sub.name = to, name
        to.children[name] = sub

    def op_link(self):
        link = self.pick_link()
        if link is None:
            return self.op_create()
        d, name = link
        td, tname = self.pick_dir(), self.new_name("h")
        self.issue(f"link {self.rel(d, name)} {self.rel(td, tname)}", os.link, self.abs(d, name), self.abs(td, tname))
        self.attach(td, tname, d.children[name])

    def op_symlink(self):
        d, name = self.pick_dir(), self.new_name("l")
        n = self.rng.choice([self.rng.randrange(1, 60), self.rng.randrange(60, 301)])
        target = ("../" * 3 + "t" * n)[:n]
        self.issue(f"symlink {target} {self.rel(d, name)}", os.symlink, target, self.abs(d, name))
        self.attach(d, name, Sym())

    def op_fsync(self):
        for _ in range(8):
            link = self.pick_link()
            if link is None:
                break
            d, name = link
            f = d.children[name]
            if len(f.links) != 1:
                continue
            want = self.content(f)
            path, rel = self.abs(d, name), self.rel(d, name)
            got = self.issue(f"read {rel}", read_all, path)
            if got != want:
                raise Stop(f"error: read {rel}: {len(got)} bytes md5 {md5(got)}, wrote {len(want)} bytes "
                           f"md5 {md5(want)}")
            self.issue(f"fsync {rel}", fsync_path, path, os.O_RDONLY)
            self.issue(f"fsync {d.path() or '.'}", fsync_path, self.abs(d), os.O_RDONLY | os.O_DIRECTORY)
            self.journal.write(f"{rel} {md5(want)} {len(want)}\n")
            self.journal.flush()
            os.fsync(self.journal.fileno())
            self.fsyncs += 1
            f.frozen = True
            self.links.remove((d, name))
            a = d
            while a is not None:
                a.pinned = True
                a = a.parent
            return
        self.op_create()

    # --- the run --------------------------------------------------------------------------

    def setup(self):
        self.dirs.add(self.top)
        for name in ["d0", "d1", "d2", "d3", "big"]:
            self.issue(f"mkdir {name}", os.mkdir, os.path.join(self.root, name))
            d = Dir(self.top, name)
            d.pinned = True  # never removed
            self.top.children[name] = d
            if name != "big":
                self.dirs.add(d)
        self.big = self.top.children["big"]
        self.dirs.add(self.big)
        for _ in range(self.rng.randrange(2500, 8501)):
            if self.max_ops is not None and self.ops >= self.max_ops:
                break
            self.op_create_big()
            self.ops += 1

    def run(self, max_ops):
        self.max_ops = max_ops
        names = [n for n, _ in OPS]
        weights = [w for _, w in OPS]
        stop = "max-ops"
        try:
            self.setup()
            self.setup_ops = self.ops
            open(os.path.join(self.outdir, "ready"), "w").close()
            while max_ops is None or self.ops < max_ops:
                op = self.rng.choices(names, weights)[0]
                getattr(self, f"op_{op}")()
                self.ops += 1
        except Stop as s:
            stop = str(s)
        nfiles = len({id(d.children[n]) for d, n in self.links.items})
        with open(os.path.join(self.outdir, "status"), "w") as st:
            st.write(f"ops {self.ops} setup {self.setup_ops} fsyncs {self.fsyncs} files {nfiles} dirs {len(self.dirs)} stop {stop}\n")
        self.log.close()
        self.journal.close()
        if stop == "max-ops":
            while not os.path.exists(self.killed_flag):
                time.sleep(0.1)
            return 0
        return 0 if stop.startswith("killed") else 1


def md5(b):
    return hashlib.md5(b).hexdigest()


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


def fsync_path(path, flags):
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check(root, journal):
    n, bad = 0, 0
    with open(journal) as j:
        for line in j:
            path, want, size = line.split()
            n += 1
            p = os.path.join(root, path)
            try:
                data = read_all(p)
            except OSError as e:
                print(f"{path}: {errno.errorcode.get(e.errno, e.errno)} (journaled {size} bytes md5 {want})")
                bad += 1
                continue
            if len(data) != int(size) or md5(data) != want:
                print(f"{path}: {len(data)} bytes md5 {md5(data)}, journaled {size} bytes md5 {want}")
                bad += 1
    print(f"{n} entries checked" + (f", {bad} wrong" if bad else ""))
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "run":
        max_ops = int(argv[6]) if len(argv) == 7 and argv[5] == "--max-ops" else None
        return Workload(argv[2], int(argv[3]), argv[4]).run(max_ops)
    if len(argv) == 3 and argv[1] == "delay":
        print(random.Random(f"delay:{argv[2]}").randrange(300, 3001))
        return 0
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
