// buffer_cache/undo.cc — undo copies (BufferCache::undo_save and the rest):
// the contents a transaction falls back to on cancel, kept per buffer so a
// join copies nothing.  The invariant: while no kGetKeepUndo holder changes a
// buffer, its undo copy (if any) equals its contents.  Transactions keep it
// (a commit copies the bytes it changed, a cancel copies the copy back),
// write-back keeps it (writeback.cc copies its stamps), and every other
// exclusive holder loses it (finish_get drops it).
#include <cstring>

#include "buffer_cache/buffer.h"

namespace xfsfuse::bc {

void BufferCache::drop_undo(Buffer* b) {
  if (!b->undo) return;
  b->undo.reset();
  undo_bytes_.fetch_sub(b->size, std::memory_order_relaxed);
}

void BufferCache::undo_save(BufHandle& h) {
  Buffer* b = h.buf_;
  if (!b || !h.excl_ || b->undo) return;
  b->undo = std::make_unique_for_overwrite<std::byte[]>(b->size);
  std::memcpy(b->undo.get(), b->addr, b->size);
  undo_bytes_.fetch_add(b->size, std::memory_order_relaxed);
}

void BufferCache::undo_update(BufHandle& h, size_t off, size_t len) {
  Buffer* b = h.buf_;
  if (!b || !h.excl_ || off > b->size) return;
  if (!b->undo) {
    undo_save(h);
    return;
  }
  std::memcpy(b->undo.get() + off, b->addr + off, std::min(len, b->size - off));
}

bool BufferCache::undo_restore(BufHandle& h) {
  Buffer* b = h.buf_;
  if (!b || !h.excl_ || !b->undo) return false;
  std::memcpy(b->addr, b->undo.get(), b->size);
  return true;
}

bool BufferCache::undo_matches(const BufHandle& h, size_t* first_diff) const {
  const Buffer* b = h.buf_;
  if (!b || !b->undo) return false;
  if (std::memcmp(b->addr, b->undo.get(), b->size) == 0) return true;
  size_t i = 0;
  while (i < b->size && b->addr[i] == b->undo[i]) i++;
  if (first_diff) *first_diff = i;
  return false;
}

}  // namespace xfsfuse::bc
