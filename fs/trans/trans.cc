#include "fs/trans/trans.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "fs/log/log.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

struct Transaction::JoinedBuf {
  bc::BufHandle h;
  const bc::BufOps* ops_before = nullptr;         // verifier at join, for cancel
  std::vector<std::pair<size_t, size_t>> ranges;  // changed [off, end), merged
  bool stale = false;
  bool fresh = false;    // from get_new_buf: its cached contents never came from the disk
  bool rewritten = false;  // zeroed whole by get_new_buf while joined (its blocks reused here)
  bool ordered = false;  // order_buf: written whole, not logged
};

struct Transaction::JoinedInode {
  InodeRef ip;
  std::unique_lock<std::shared_mutex> lock;
  Inode core_before;  // for cancel
  InodeFork df_before, af_before;
  std::vector<std::byte> raw_before;
  uint32_t fields = 0;
};

namespace {

// Whether a transaction that logged `fields` of an inode changed only its
// timestamps and change count (before -> after): fdatasync leaves such a
// change out (CachedInode::datasync_seq).
bool times_only(uint32_t fields, const Inode& before, const Inode& after) {
  if (fields & ~uint32_t{kDirtyCore}) return false;  // a fork changed
  Inode same = after;
  same.atime = before.atime;
  same.mtime = before.mtime;
  same.ctime = before.ctime;
  same.changecount = before.changecount;
  return same == before;
}

}  // namespace

Transaction::Transaction(Mount& m) : m_(m) {}

int Transaction::begin(Mount& m, std::unique_ptr<Transaction>* out) {
  if (int e = m.start_change()) return e;
  // Log space first, with nothing locked: waiting for it may need
  // write-back of buffers other transactions hold until they commit.
  uint64_t log_res = 0;
  if (xlog::Log* log = m.log())
    if (log->reserve(&log_res) != 0) return EIO;
  out->reset(new Transaction(m));
  (*out)->log_res_ = log_res;
  return 0;
}

Transaction::~Transaction() {
  if (!done_) cancel();
}

int Transaction::reserve_blocks(uint64_t n) {
  if (int e = m_.reserve_blocks(n)) return e;
  reserved_ += n;
  return 0;
}

bool flush_inodegc_for_space(Mount& m) {
  if (!m.inodegc().pending()) return false;
  m.inodegc().flush();
  return true;
}

void Transaction::use_blocks(uint64_t n) { reserved_ -= std::min(n, reserved_); }

Transaction::JoinedBuf* Transaction::find_buf(uint64_t daddr) {
  for (auto& b : bufs_)
    if (b->h.daddr() == daddr) return b.get();
  return nullptr;
}

bc::BufHandle* Transaction::joined_buf(uint64_t daddr) {
  JoinedBuf* jb = find_buf(daddr);
  return jb == nullptr ? nullptr : &jb->h;
}

bool Transaction::overlaps_joined(std::span<const bc::DiskRange> maps) const {
  for (const auto& b : bufs_)
    for (const bc::DiskRange& j : b->h.maps())
      for (const bc::DiskRange& m : maps)
        if (m.daddr < j.daddr + j.len && j.daddr < m.daddr + m.len) return true;
  return false;
}

int Transaction::join_buf(bc::BufHandle h, bool fresh, bc::BufHandle** out) {
  auto jb = std::make_unique<JoinedBuf>();
  // What a cancel puts back: the buffer's undo copy, made at its first join
  // and kept equal to the committed contents since (commit copies the bytes
  // it changed into it) — not a copy of the whole buffer at every join.  A
  // fresh buffer needs none: a cancel drops it.
  if (!fresh) m_.cache().undo_save(h);
  jb->ops_before = m_.cache().ops_of(h);
  jb->fresh = fresh;
  if (fresh) std::memset(h.data(), 0, h.size());
  jb->h = std::move(h);
  *out = &jb->h;
  bufs_.push_back(std::move(jb));
  return 0;
}

int Transaction::read_buf(std::span<const bc::DiskRange> maps, const bc::BufOps* ops, uint64_t owner,
                          bc::BufHandle** out, unsigned flags) {
  if (!maps.empty())
    if (JoinedBuf* jb = find_buf(maps[0].daddr)) {
      *out = &jb->h;
      return 0;
    }
  bc::BufHandle h;
  if (int e = m_.cache().get(maps, ops, owner, bc::kGetExclusive | bc::kGetKeepUndo | (flags & bc::kGetTrylock), &h))
    return e;
  return join_buf(std::move(h), false, out);
}

int Transaction::get_new_buf(std::span<const bc::DiskRange> maps, const bc::BufOps* ops, bc::BufHandle** out) {
  JoinedBuf* jb = maps.empty() ? nullptr : find_buf(maps[0].daddr);
  bool freed_here = false;
  for (const bc::DiskRange& m : maps)
    for (const bc::DiskRange& f : freed_ranges_)
      if (m.daddr < f.daddr + f.len && f.daddr < m.daddr + m.len) freed_here = true;
  if (freed_here && jb == nullptr && !overlaps_joined(maps)) {
    // Blocks this transaction freed whose buffers it never joined (file
    // data, say, taken back for an AGFL refill and a btree split): reused
    // at once, as the kernel reuses busy extents for metadata.  Whatever
    // the cache still holds over them is dropped now, not at the commit.
    m_.cache().invalidate(maps);
    unfree(maps);
    freed_here = false;
  }
  if (freed_here && (jb == nullptr || !std::equal(maps.begin(), maps.end(), jb->h.maps().begin(), jb->h.maps().end())))
    return EBUSY;
  if (jb) {
    if (freed_here) unfree(maps);
    std::memset(jb->h.data(), 0, jb->h.size());
    jb->rewritten = true;  // every byte changed, logged or not: the undo copy takes them all
    m_.cache().set_ops(jb->h, ops);
    jb->stale = false;
    *out = &jb->h;
    return 0;
  }
  bc::BufHandle h;
  if (int e = m_.cache().get(maps, ops, bc::kAnyOwner, bc::kGetExclusive | bc::kGetKeepUndo | bc::kGetNoRead, &h))
    return e;
  return join_buf(std::move(h), true, out);
}

void Transaction::retype_buf(bc::BufHandle* h, const bc::BufOps* ops) {
  JoinedBuf* jb = find_buf(h->daddr());
  if (jb) m_.cache().set_ops(jb->h, ops);
}

void Transaction::log_buf(bc::BufHandle* h, size_t off, size_t len) {
  JoinedBuf* jb = find_buf(h->daddr());
  if (jb == nullptr || len == 0) return;
  // In place, not a sort of the whole list: a transaction may log hundreds
  // of ranges of one buffer (a leaf compacted entry by entry).
  add_span(jb->ranges, off, std::min(off + len, h->size()));
}

void Transaction::order_buf(bc::BufHandle* h) {
  if (JoinedBuf* jb = find_buf(h->daddr())) jb->ordered = true;
}

void Transaction::log_icreate(uint32_t agno, uint32_t agbno, uint32_t count, uint32_t length, uint32_t gen) {
  icreates_.push_back({agno, agbno, count, length, gen});
}

void Transaction::set_be32(bc::BufHandle* h, size_t off, uint32_t v) {
  for (int i = 0; i < 4; i++) h->data()[off + i] = static_cast<std::byte>(v >> (24 - 8 * i));
  log_buf(h, off, 4);
}

void Transaction::stale_buf(bc::BufHandle* h) {
  if (JoinedBuf* jb = find_buf(h->daddr())) jb->stale = true;
}

void Transaction::invalidate_range(bc::DiskRange freed) { freed_ranges_.push_back(freed); }

bool Transaction::freed_here(bc::DiskRange r) const {
  for (const bc::DiskRange& f : freed_ranges_)
    if (r.daddr < f.daddr + f.len && f.daddr < r.daddr + r.len) return true;
  return false;
}

void Transaction::unfree(std::span<const bc::DiskRange> maps) {
  for (const bc::DiskRange& m : maps) {
    std::vector<bc::DiskRange> left;
    for (const bc::DiskRange& f : freed_ranges_) {
      const uint64_t fend = f.daddr + f.len, mend = m.daddr + m.len;
      if (mend <= f.daddr || fend <= m.daddr) {
        left.push_back(f);
        continue;
      }
      if (f.daddr < m.daddr) left.push_back({f.daddr, static_cast<uint32_t>(m.daddr - f.daddr)});
      if (mend < fend) left.push_back({mend, static_cast<uint32_t>(fend - mend)});
    }
    freed_ranges_ = std::move(left);
  }
}

void Transaction::join_inode(const InodeRef& ip) {
  for (auto& ji : inodes_)
    if (ji->ip == ip) return;
  join_inode_locked(ip, std::unique_lock<std::shared_mutex>(ip->lock));
}

bool Transaction::try_join_inode(const InodeRef& ip) {
  for (auto& ji : inodes_)
    if (ji->ip == ip) return true;
  std::unique_lock<std::shared_mutex> l(ip->lock, std::try_to_lock);
  if (!l.owns_lock()) return false;
  join_inode_locked(ip, std::move(l));
  return true;
}

void Transaction::join_inode_locked(const InodeRef& ip, std::unique_lock<std::shared_mutex> lock) {
  auto ji = std::make_unique<JoinedInode>();
  ji->ip = ip;
  ji->lock = std::move(lock);
  ji->core_before = ip->core;
  ji->df_before = ip->df;
  ji->af_before = ip->af;
  ji->raw_before = ip->raw;
  inodes_.push_back(std::move(ji));
}

void Transaction::log_inode(CachedInode* ip, uint32_t fields) {
  for (auto& ji : inodes_)
    if (ji->ip.get() == ip) {
      ji->fields |= fields;
      ip->dirty.fetch_or(fields, std::memory_order_relaxed);
      return;
    }
}

int Transaction::flush_inode(JoinedInode& ji) {
  bc::DiskRange map;
  size_t offset = 0;
  if (int e = m_.inode_buf_map(ji.ip->core.ino, &map, &offset)) return e;
  bc::BufHandle* h;
  if (int e = read_buf({&map, 1}, &m_.buf_ops().inode_cluster(), bc::kAnyOwner, &h)) return e;
  const size_t isize = m_.sb().inodesize;
  if (offset + isize > h->size()) return EINVAL;
  std::string why;
  if (encode_inode(ji.ip.get(), {h->data() + offset, isize}, &why) != 0)
    return m_.report_corruption("in-core inode", ji.ip->daddr,
                                "inode " + std::to_string(ji.ip->core.ino) + " not written: " + why);
  log_buf(h, offset, isize);
  return 0;
}

int Transaction::hold_inode_clusters(std::span<const uint64_t> extra) {
  std::vector<uint64_t> inos(extra.begin(), extra.end());
  for (auto& ji : inodes_) inos.push_back(ji->ip->core.ino);
  std::sort(inos.begin(), inos.end());
  for (uint64_t ino : inos) {
    bc::DiskRange map;
    size_t offset = 0;
    if (int e = m_.inode_buf_map(ino, &map, &offset)) return e;
    bc::BufHandle* h;
    if (int e = read_buf({&map, 1}, &m_.buf_ops().inode_cluster(), bc::kAnyOwner, &h)) return e;
  }
  return 0;
}

int Transaction::commit(CommittedTrans* out) {
  // Cluster buffers in ascending order, as every transaction takes them
  // (inode numbers grow with the cluster's daddr): two commits never wait
  // for each other's clusters the other way round.
  std::sort(inodes_.begin(), inodes_.end(),
            [](const auto& a, const auto& b) { return a->ip->core.ino < b->ip->core.ino; });
  for (auto& ji : inodes_) {
    if (ji->fields == 0) continue;
    if (int e = flush_inode(*ji)) {
      const uint64_t ino = ji->ip->core.ino;
      cancel();
      m_.shut_down("a transaction could not write inode " + std::to_string(ino) + " back");
      return e;
    }
  }
  CommittedTrans observed;
  const bool observe = static_cast<bool>(m_.commit_observer());
  xlog::Log* log = m_.log();
  CommittedTrans* ct = out ? out : (observe || log) ? &observed : nullptr;
  std::vector<bc::PinRef> pins;  // write-ahead: each changed buffer stays off the disk until logged
  if (log) pins.reserve(bufs_.size());
  if (ct) {
    *ct = CommittedTrans{};
    ct->bufs.reserve(bufs_.size());
    ct->inodes.reserve(inodes_.size());
  }
  // A joined buffer whose blocks this transaction freed (a btree block put
  // on the AGFL) is never written: it goes to the log as freed, like a
  // stale one.
  auto freed_whole = [&](const JoinedBuf& jb) {
    return std::all_of(jb.h.maps().begin(), jb.h.maps().end(), [&](const bc::DiskRange& m) {
      return std::any_of(freed_ranges_.begin(), freed_ranges_.end(), [&](const bc::DiskRange& f) {
        return f.daddr <= m.daddr && m.daddr + m.len <= f.daddr + f.len;
      });
    });
  };
  for (auto& jb : bufs_) {
    const bool freed = jb->stale || (ct && !freed_ranges_.empty() && freed_whole(*jb));
    if (jb->stale)
      freed_ranges_.insert(freed_ranges_.end(), jb->h.maps().begin(), jb->h.maps().end());
    else if (jb->ordered)
      m_.cache().mark_dirty(jb->h, 0, jb->h.size());
    else
      for (auto [off, end] : jb->ranges) m_.cache().mark_dirty(jb->h, off, end - off);
    const bool changed = !jb->ranges.empty() || jb->ordered;
    if (!freed) keep_undo(*jb);
    if (log && !freed && changed) m_.cache().pin(jb->h, &pins.emplace_back());
    if (!ct || (!freed && !changed)) continue;
    CommittedTrans::Buf b;
    b.maps.assign(jb->h.maps().begin(), jb->h.maps().end());
    b.stale = freed;
    if (!freed) {
      b.ordered = jb->ordered;
      const std::span<const std::byte> all(jb->h.data(), jb->h.size());
      b.ranges = jb->ranges;
      b.blft = buf_log_type(all);
      b.ops = m_.cache().ops_of(jb->h);
      b.keep(all, m_.sb().inodesize);
    }
    ct->bufs.push_back(std::move(b));
  }
  if (ct) ct->icreates = icreates_;
  if (ct)
    for (auto& ji : inodes_) {
      if (!ji->fields) continue;
      CommittedTrans::Ino ci;
      ci.ino = ji->ip->core.ino;
      ci.fields = ji->fields;
      bc::BufHandle* h = nullptr;
      if (m_.inode_buf_map(ci.ino, &ci.cluster, &ci.offset) == 0 && (h = joined_buf(ci.cluster.daddr)) != nullptr)
        ci.dinode.assign(h->data() + ci.offset, h->data() + ci.offset + m_.sb().inodesize);
      ct->inodes.push_back(std::move(ci));
    }
  if (log) {
    uint64_t seq = 0;
    // The log takes the record whole: a copy only when the caller or an
    // observer wants it too.
    CommittedTrans for_log = (out || observe) ? *ct : std::move(*ct);
    log->commit(std::move(for_log), std::move(pins), freed_ranges_, log_res_, &seq);
    log_res_ = 0;
    // What an fsync of each inode logged here forces (Mount::fsync).
    for (auto& ji : inodes_)
      if (ji->fields != 0) {
        ji->ip->log_seq.store(seq, std::memory_order_release);
        if (!times_only(ji->fields, ji->core_before, ji->ip->core))
          ji->ip->datasync_seq.store(seq, std::memory_order_release);
      }
  }
  if (out && observe) {
    CommittedTrans copy = *out;
    m_.commit_observer()(std::move(copy));
  } else if (observe) {
    m_.commit_observer()(std::move(observed));
  }
  // Freed blocks last: a buffer changed and then freed here is never written.
  if (!freed_ranges_.empty()) m_.cache().invalidate(freed_ranges_);
  for (auto& fn : on_commit_) fn();
  m_.unreserve_blocks(reserved_ + freed_);
  reserved_ = freed_ = 0;
  release_all();
  return 0;
}

void Transaction::cancel() {
  if (done_) return;
  std::vector<bc::DiskRange> fresh;
  for (auto& jb : bufs_) {
    if (!jb->fresh && !m_.cache().undo_restore(jb->h)) {
      // Cannot happen (join_buf saved one, and only this transaction holds
      // the buffer): nothing to put back, so stop writing.
      m_.shut_down("a cancelled transaction found no undo copy of the buffer at daddr " +
                   std::to_string(jb->h.daddr()));
    }
    m_.cache().set_ops(jb->h, jb->ops_before);
    if (jb->fresh) fresh.insert(fresh.end(), jb->h.maps().begin(), jb->h.maps().end());
  }
  // A buffer made for new blocks holds what was never on the disk: it goes.
  if (!fresh.empty()) m_.cache().invalidate(fresh);
  for (auto& ji : inodes_) {
    ji->ip->core = ji->core_before;
    ji->ip->df = std::move(ji->df_before);
    ji->ip->af = std::move(ji->af_before);
    ji->ip->raw = std::move(ji->raw_before);
    ji->ip->dirty.store(0, std::memory_order_relaxed);
  }
  m_.unreserve_blocks(reserved_);
  reserved_ = freed_ = 0;
  if (log_res_ != 0) m_.log()->unreserve(std::exchange(log_res_, 0));
  release_all();
}

void Transaction::keep_undo(JoinedBuf& jb) {
  // The undo copy follows the commit: the bytes logged, or all of them for
  // a buffer written whole (fresh: made here; ordered: an inode-create;
  // rewritten: zeroed for a new structure).
  if (jb.fresh || jb.ordered || jb.rewritten)
    m_.cache().undo_update(jb.h, 0, jb.h.size());
  else
    for (auto [off, end] : jb.ranges) m_.cache().undo_update(jb.h, off, end - off);
#ifdef XFSFUSE_UNDO_CHECK
  // Every byte a transaction changes must be logged (the log and the undo
  // copy both trust the ranges): a byte that differs here changed unlogged.
  size_t at = 0;
  if (!m_.cache().undo_matches(jb.h, &at)) {
    std::fprintf(stderr, "xfsfuse: BUG: buffer at daddr %llu (%s) changed at byte %zu without log_buf\n",
                 static_cast<unsigned long long>(jb.h.daddr()),
                 m_.cache().ops_of(jb.h) ? m_.cache().ops_of(jb.h)->name() : "no ops", at);
    std::abort();
  }
#endif
}

void Transaction::hold_agf(uint32_t agno) {
  auto it = std::lower_bound(agfs_.begin(), agfs_.end(), agno);
  if (it == agfs_.end() || *it != agno) agfs_.insert(it, agno);
}

bool Transaction::holds_agf(uint32_t agno) const { return std::binary_search(agfs_.begin(), agfs_.end(), agno); }

void Transaction::release_all() {
  on_commit_.clear();
  agfs_.clear();
  freed_ranges_.clear();
  icreates_.clear();
  bufs_.clear();  // buffers first: their locks come after the inodes' in the lock order
  inodes_.clear();
  done_ = true;
}

}  // namespace xfsfuse::fs
