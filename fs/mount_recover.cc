// fs/mount_recover.cc — the mount's side of log recovery: replay through an
// overlay, then keep it (read-only) or write it home (read-write; the open
// then rewrites the superblock counters and ends the log with an unmount
// record, end_recovered_log); finish the extent frees the log promised.
// The replay itself: fs/log/recover.h; the facts: docs/log.md "Recovery".
#include <cerrno>
#include <cstring>

#include "buffer_cache/overlay_device.h"
#include "fs/alloc/alloc.h"
#include "fs/bmap_write.h"
#include "fs/format/geometry.h"
#include "fs/log/reader.h"
#include "fs/log/unmount.h"
#include "fs/mount.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

int Mount::recover_log(uint64_t start, uint32_t blocks, std::string* err) {
  auto overlay = std::make_unique<bc::OverlayDevice>(std::move(dev_));
  xlog::RecoveryStats st;
  std::string why;
  int e = xlog::replay_log(*overlay, sb_, xlog::LogReader(*overlay, start, blocks), log_ends_, &st, &why);
  if (e) {
    dev_ = overlay->release_base();
    *err = "log recovery failed, nothing was written: " + why;
    return e;
  }
  if (opts_.writable) {
    if ((e = overlay->write_back())) {
      *err = std::string("log recovery: writing the replayed metadata onto the image: ") + std::strerror(e);
      return e;
    }
    dev_ = overlay->release_base();
    // The log stays dirty until end_recovered_log(): a crash before then
    // replays it again.
    log_start_ = start;
    log_blocks_ = blocks;
    recovery_note_ = "log recovery: " + st.summary() + "; written onto the image";
  } else {
    dev_ = std::move(overlay);
    recovery_note_ = "log recovery: " + st.summary() + "; in memory only (read-only mount: the image is not written)";
  }
  // The superblock may have been replayed.
  if ((e = read_superblock(&why))) {
    *err = "log recovery: the replayed superblock: " + why;
    return e;
  }
  pending_efis_ = std::move(st.unfinished_efis);
  if (!opts_.writable && !pending_efis_.empty())
    recovery_note_ += "; " + std::to_string(pending_efis_.size()) +
                      " extents the log was freeing stay allocated in this read-only view";
  recovered_ = true;
  return 0;
}

int Mount::end_recovered_log(std::string* err) {
  xlog::LogEnds after;
  std::string why;
  if (int e = xlog::write_unmount_record(*dev_, log_start_, log_blocks_, sb_.uuid, log_ends_, &after, &why)) {
    *err = "log recovery: writing the unmount record: " + why;
    return e;
  }
  log_ends_ = after;
  return 0;
}

int Mount::finish_efis(std::string* err) {
  for (const xlog::EfiExtent& x : pending_efis_) {
    const uint32_t agno = fsblock_to_agno(sb_, x.fsblock), agbno = fsblock_to_agbno(sb_, x.fsblock);
    if (agno >= sb_.agcount || x.len == 0 || agbno >= sb_.agblocks || x.len > sb_.agblocks - agbno) {
      *err = "log recovery: an extent-free intent names fsblock " + std::to_string(x.fsblock) + " length " +
             std::to_string(x.len) + ", outside the filesystem";
      return EUCLEAN;
    }
    std::unique_ptr<Transaction> tp;
    int e = Transaction::begin(*this, &tp);
    if (e == 0) e = tp->reserve_blocks(bmap_unmap_reservation(sb_));
    if (e == 0) e = free_extent(*tp, agno, agbno, x.len);
    if (e == 0) e = tp->commit();
    if (e) {
      *err = "log recovery: freeing AG " + std::to_string(agno) + " blocks " + std::to_string(agbno) + "+" +
             std::to_string(x.len) + " for an unfinished extent-free intent: " + std::strerror(e);
      return e;
    }
  }
  recovery_note_ += "; freed " + std::to_string(pending_efis_.size()) + " extents of unfinished extent-free intents";
  pending_efis_.clear();
  return 0;
}

}  // namespace xfsfuse::fs
