#include "fs/log/recover.h"

#include <cerrno>
#include <cstring>
#include <map>

#include "fs/format/log.h"
#include "fs/log/replay_internal.h"

namespace xfsfuse::fs::xlog {

namespace {

// Intent and done item types besides EFI/EFD (docs/log.md "Items"): each
// carries its id at byte 8 of its first region; a done item names the
// intent it finishes there too.
constexpr uint16_t kRui = 0x1240, kRud = 0x1241, kCui = 0x1242, kCud = 0x1243, kBui = 0x1244, kBud = 0x1245,
                   kAttri = 0x1246, kAttrd = 0x1247, kXmi = 0x1248, kXmd = 0x1249;

const char* intent_name(uint16_t type) {
  switch (type) {
    case kRui: return "reverse-mapping (rmap)";
    case kCui: return "reference-count (reflink)";
    case kBui: return "block-mapping";
    case kAttri: return "extended-attribute";
    case kXmi: return "file-exchange";
    default: return "unknown";
  }
}

struct BufInfo {
  uint16_t flags = 0, len = 0;
};
BufInfo buf_info(const LogItem& it) {
  BufInfo b;
  if (!it.regions.empty() && it.regions[0].size() >= 8) {
    std::memcpy(&b.flags, it.regions[0].data() + 4, 2);
    std::memcpy(&b.len, it.regions[0].data() + 6, 2);
  }
  return b;
}
unsigned buf_type(const BufInfo& b) { return (b.flags & XD_BLF_TYPE_MASK) >> XD_BLF_TYPE_SHIFT; }

class TransactionReplay {
 public:
  TransactionReplay(Replayer& rp, std::map<uint64_t, uint16_t>& open_intents,
                    std::map<uint64_t, std::vector<EfiExtent>>& efis)
      : rp_(rp), intents_(open_intents), efis_(efis) {}

  int run(const LogTransaction& t);

 private:
  int intent(const LogItem& it);
  // Which buffer items are segments of a discontiguous directory block:
  // consecutive items of one directory type, each shorter than a directory
  // block, whose lengths add up to one.
  std::vector<bool> partial_segments(const std::vector<const LogItem*>& bufs) const;

  Replayer& rp_;
  std::map<uint64_t, uint16_t>& intents_;
  std::map<uint64_t, std::vector<EfiExtent>>& efis_;
};

std::vector<bool> TransactionReplay::partial_segments(const std::vector<const LogItem*>& bufs) const {
  const uint32_t dir_sectors = rp_.sb().dirblksize >> 9;
  std::vector<bool> partial(bufs.size(), false);
  for (size_t i = 0; i < bufs.size();) {
    const BufInfo b = buf_info(*bufs[i]);
    if (bufs[i]->type != XD_LI_BUF || !XD_BLFT_IS_DIR(buf_type(b)) || b.len >= dir_sectors) {
      i++;
      continue;
    }
    size_t j = i;
    uint32_t sum = 0;
    while (j < bufs.size() && sum < dir_sectors && bufs[j]->type == XD_LI_BUF) {
      const BufInfo bj = buf_info(*bufs[j]);
      if (buf_type(bj) != buf_type(b) || bj.len >= dir_sectors) break;
      sum += bj.len;
      j++;
    }
    const bool group = sum == dir_sectors;
    // Block, data, free and leaf types exist only as directory blocks: a
    // shorter one is a segment even when the group is incomplete.  A da node
    // as short as an fsblock alone is an attr fork's node.
    for (size_t k = i; k < (group ? j : i + 1); k++)
      partial[k] = group || buf_type(b) != XD_BLFT_DA_NODE;
    i = group ? j : i + 1;
  }
  return partial;
}

int TransactionReplay::intent(const LogItem& it) {
  const auto& r0 = it.regions.at(0);
  if (r0.size() < 16) return rp_.corrupt("intent item of " + std::to_string(r0.size()) + " bytes");
  uint64_t id;
  std::memcpy(&id, r0.data() + 8, 8);
  if (it.type == XD_LI_EFI) {
    uint32_t n;
    std::memcpy(&n, r0.data() + 4, 4);
    const size_t body = r0.size() - 16;
    const size_t each = (n != 0 && body == size_t{n} * 16) ? 16 : (n != 0 && body == size_t{n} * 12) ? 12 : 0;
    if (n == 0 || each == 0)
      return rp_.corrupt("extent-free intent of " + std::to_string(r0.size()) + " bytes for " + std::to_string(n) +
                         " extents");
    std::vector<EfiExtent> ex(n);
    for (uint32_t i = 0; i < n; i++) {
      std::memcpy(&ex[i].fsblock, r0.data() + 16 + i * each, 8);
      std::memcpy(&ex[i].len, r0.data() + 16 + i * each + 8, 4);
    }
    efis_[id] = std::move(ex);
  }
  rp_.stats().intents++;
  intents_[id] = it.type;
  return 0;
}

int TransactionReplay::run(const LogTransaction& t) {
  // The kernel's order within a transaction: buffers and inode-chunk
  // creations; inodes and everything else; inode buffers; cancels.
  std::vector<const LogItem*> bufs, items, inode_bufs, cancels;
  for (const LogItem& it : t.items) {
    if (it.type == XD_LI_BUF) {
      const BufInfo b = buf_info(it);
      (b.flags & XD_BLF_CANCEL ? cancels : b.flags & XD_BLF_INODE_BUF ? inode_bufs : bufs).push_back(&it);
    } else if (it.type == XD_LI_ICREATE) {
      bufs.push_back(&it);
    } else {
      items.push_back(&it);
    }
  }
  const std::vector<bool> partial = partial_segments(bufs);
  for (size_t i = 0; i < bufs.size(); i++) {
    const int e = bufs[i]->type == XD_LI_ICREATE ? rp_.replay_icreate(*bufs[i])
                                                 : rp_.replay_buf(*bufs[i], t.lsn, partial[i]);
    if (e) return e;
  }
  for (const LogItem* it : items) {
    int e = 0;
    switch (it->type) {
      case XD_LI_INODE: e = rp_.replay_inode(*it, t.lsn); break;
      case XD_LI_EFI: case kRui: case kCui: case kBui: case kAttri: case kXmi: e = intent(*it); break;
      case XD_LI_EFD: case kRud: case kCud: case kBud: case kAttrd: case kXmd: {
        const auto& r0 = it->regions.at(0);
        if (r0.size() < 16) return rp_.corrupt("done item of " + std::to_string(r0.size()) + " bytes");
        uint64_t id;
        std::memcpy(&id, r0.data() + 8, 8);
        intents_.erase(id);
        efis_.erase(id);
        rp_.stats().intents_done++;
        break;
      }
      case XD_LI_DQUOT: case XD_LI_QUOTAOFF: rp_.stats().quota_items++; break;
      default:
        return rp_.corrupt("log item of unknown type " + std::to_string(it->type) + " in transaction " +
                           std::to_string(t.tid));
    }
    if (e) return e;
  }
  for (const auto* list : {&inode_bufs, &cancels})
    for (const LogItem* it : *list)
      if (int e = rp_.replay_buf(*it, t.lsn, false)) return e;
  rp_.stats().transactions++;
  return 0;
}

}  // namespace

std::string RecoveryStats::summary() const {
  std::string s = "replayed " + std::to_string(transactions) + " transactions: " + std::to_string(buffers) +
                  " buffers, " + std::to_string(inodes) + " inodes, " + std::to_string(icreates) + " inode chunks, " +
                  std::to_string(inode_buffers) + " unlinked-pointer updates; skipped as already on disk " +
                  std::to_string(buffers_newer + inodes_newer) + ", as freed later " +
                  std::to_string(buffers_cancelled + inodes_cancelled + icreates_cancelled);
  if (!unfinished_efis.empty()) s += "; " + std::to_string(unfinished_efis.size()) + " extents still to free";
  if (quota_items) s += "; " + std::to_string(quota_items) + " quota items ignored";
  return s;
}

int replay_log(bc::BlockDevice& dev, const Superblock& sb, const LogReader& r, const LogEnds& ends,
               RecoveryStats* stats, std::string* why) {
  *stats = RecoveryStats{};
  Replayer rp(dev, sb, stats, why);
  ParseStats first;
  if (int e = parse_log(
          r, sb.uuid, ends,
          [&](LogTransaction&& t) {
            for (const LogItem& it : t.items)
              if (int err = rp.note_cancel(it)) return err;
            return 0;
          },
          &first, why))
    return e;
  std::map<uint64_t, uint16_t> open_intents;
  std::map<uint64_t, std::vector<EfiExtent>> efis;
  TransactionReplay tr(rp, open_intents, efis);
  if (int e = parse_log(
          r, sb.uuid, ends, [&](LogTransaction&& t) { return tr.run(t); }, &stats->parse, why))
    return e;
  for (const auto& [id, type] : open_intents)
    if (type != XD_LI_EFI) {
      *why = std::string("the log holds an unfinished ") + intent_name(type) +
             " intent, which this driver cannot finish; mount the image with the kernel to recover it";
      return EOPNOTSUPP;
    }
  for (auto& [id, ex] : efis) stats->unfinished_efis.insert(stats->unfinished_efis.end(), ex.begin(), ex.end());
  return 0;
}

}  // namespace xfsfuse::fs::xlog
