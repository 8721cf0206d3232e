#include "fs/log/checkpoint.h"

#include <algorithm>
#include <utility>

#include "fs/format/log.h"

namespace xfsfuse::fs::xlog {

bool CheckpointBuilder::fits(const CommittedTrans& ct) const {
  for (const CommittedTrans::Buf& b : ct.bufs) {
    auto it = buf_at_.find(b.maps.at(0).daddr);
    if (it == buf_at_.end()) continue;
    const CommittedTrans::Buf& have = ct_.bufs[it->second];
    if (have.maps != b.maps) return false;
    if (have.stale && !b.stale) return false;  // freed, then reused
  }
  return true;
}

void CheckpointBuilder::add(CommittedTrans&& ct) {
  for (CommittedTrans::Buf& b : ct.bufs) {
    auto it = buf_at_.find(b.maps.at(0).daddr);
    if (it == buf_at_.end()) {
      buf_at_.emplace(b.maps[0].daddr, ct_.bufs.size());
      ct_.bufs.push_back(std::move(b));
      continue;
    }
    CommittedTrans::Buf& have = ct_.bufs[it->second];
    if (b.stale) {  // changed, then freed: only the cancel is logged
      have = std::move(b);
      continue;
    }
    have.overlay(std::move(b));
  }
  for (CommittedTrans::Ino& i : ct.inodes) {
    auto it = ino_at_.find(i.ino);
    if (it == ino_at_.end()) {
      ino_at_.emplace(i.ino, ct_.inodes.size());
      ct_.inodes.push_back(std::move(i));
      continue;
    }
    CommittedTrans::Ino& have = ct_.inodes[it->second];
    i.fields |= have.fields;
    have = std::move(i);
  }
  ct_.icreates.insert(ct_.icreates.end(), ct.icreates.begin(), ct.icreates.end());
}

CommittedTrans CheckpointBuilder::take() {
  buf_at_.clear();
  ino_at_.clear();
  return std::exchange(ct_, CommittedTrans{});
}

uint64_t estimate_log_bytes(const CommittedTrans& ct, const Superblock& sb) {
  constexpr uint64_t kOp = 12;             // an op header
  constexpr uint64_t kInodeExtra = 256;    // inode item format, bmbt root header, op headers
  uint64_t n = 3 * kOp + 16 + 64;          // start, transaction header, commit; slack
  for (const CommittedTrans::Buf& b : ct.bufs) {
    uint64_t chunks_total = 0;
    for (const bc::DiskRange& m : b.maps) {
      const uint64_t chunks = (uint64_t{m.len} << 9) / XD_BLF_CHUNK;
      chunks_total += chunks;
      n += kOp + XD_BUF_LOG_FORMAT_HEAD + 4 * ((chunks + 31) / 32);
    }
    if (b.stale) continue;
    // Every chunk a range touches, each in a region of its own at worst,
    // and the header chunk of every segment.
    uint64_t chunks = b.maps.size();
    for (auto [from, to] : b.ranges) chunks += (to + XD_BLF_CHUNK - 1) / XD_BLF_CHUNK - from / XD_BLF_CHUNK;
    n += std::min(chunks, chunks_total + b.maps.size()) * (XD_BLF_CHUNK + kOp);
    if (b.blft == XD_BLFT_DINO) {  // inode items for the inodes changed in the cluster
      uint64_t inodes = 0;
      for (auto [from, to] : b.ranges) inodes += (to + sb.inodesize - 1) / sb.inodesize - from / sb.inodesize;
      n += inodes * (sb.inodesize + kInodeExtra + XD_BLF_CHUNK + kOp);
    }
  }
  n += ct.inodes.size() * (uint64_t{sb.inodesize} + kInodeExtra);
  n += ct.icreates.size() * (kOp + sizeof(xd_icreate_log));
  return n;
}

}  // namespace xfsfuse::fs::xlog
