// fs/alloc/agi_tx.h — an AG's AGI inside a transaction: joined with its
// exclusive lock (the AG's inode-allocation lock, held until commit; taken
// before the same AG's AGF: docs/locking.md), its fields changed one at a
// time and logged; at commit the AG's in-core inode counters (PerAg) are set
// from it.
// Thread safety: as the transaction (one thread).
#pragma once

#include <cstdint>

#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// The AGI fields a transaction changes (host-endian values).
enum class AgiField : uint8_t { kCount, kRoot, kLevel, kFreecount, kNewino, kFreeRoot, kFreeLevel, kIblocks, kFblocks };

class AgiTx {
 public:
  /// Joins AG agno's AGI to tp.  Returns 0, EINVAL (no such AG), or the
  /// buffer read's errors (EUCLEAN with one log line, EIO).
  /// trylock: EAGAIN instead of waiting for another transaction's hold.
  static int get(Transaction& tp, uint32_t agno, AgiTx* out, bool trylock = false);

  uint32_t agno() const { return agno_; }
  uint32_t get(AgiField f) const;
  /// Sets a field and logs it.
  void set(AgiField f, uint32_t v);
  void add(AgiField f, int64_t delta) { set(f, static_cast<uint32_t>(get(f) + delta)); }
  /// Head of unlinked-list bucket (0..63): an agino, or NULLAGINO when empty.
  uint32_t unlinked(unsigned bucket) const;
  /// Sets the head of unlinked-list bucket (0..63) and logs it.
  void set_unlinked(unsigned bucket, uint32_t agino);
  /// 512-byte sector of the AGI (for log lines).
  uint64_t daddr() const;
  Transaction& trans() { return *tp_; }

 private:
  Transaction* tp_ = nullptr;
  bc::BufHandle* h_ = nullptr;
  uint32_t agno_ = 0;
};

}  // namespace xfsfuse::fs
