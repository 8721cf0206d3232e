#include "vmap/buddy.h"

#include <cassert>

namespace xfsfuse::vmap {

BuddyAllocator::BuddyAllocator(pfn_t npages)
    : npages_(npages), next_(npages, kNoPage), prev_(npages, kNoPage), free_order_(npages, kNotFreeHead) {
  for (auto& h : head_) h = kNoPage;
  // Carve [0, npages) into the largest aligned blocks that fit.
  pfn_t p = 0;
  while (p < npages_) {
    unsigned o = kMaxOrder;
    while (o > 0 && ((p & ((pfn_t{1} << o) - 1)) != 0 || p + (pfn_t{1} << o) > npages_)) o--;
    push(p, o);
    nfree_ += pfn_t{1} << o;
    p += pfn_t{1} << o;
  }
}

unsigned BuddyAllocator::order_for(uint32_t n) {
  unsigned o = 0;
  while ((uint32_t{1} << o) < n) o++;
  return o;
}

void BuddyAllocator::push(pfn_t b, unsigned order) {
  free_order_[b] = static_cast<uint8_t>(order);
  prev_[b] = kNoPage;
  next_[b] = head_[order];
  if (head_[order] != kNoPage) prev_[head_[order]] = b;
  head_[order] = b;
}

void BuddyAllocator::unlink(pfn_t b, unsigned order) {
  if (prev_[b] != kNoPage)
    next_[prev_[b]] = next_[b];
  else
    head_[order] = next_[b];
  if (next_[b] != kNoPage) prev_[next_[b]] = prev_[b];
  free_order_[b] = kNotFreeHead;
}

pfn_t BuddyAllocator::alloc(unsigned order) {
  if (order > kMaxOrder) return kNoPage;
  unsigned o = order;
  while (o <= kMaxOrder && head_[o] == kNoPage) o++;
  if (o > kMaxOrder) return kNoPage;
  pfn_t b = head_[o];
  unlink(b, o);
  // Split down to the requested order, keeping the low half each time.
  while (o > order) {
    o--;
    push(b + (pfn_t{1} << o), o);
  }
  nfree_ -= pfn_t{1} << order;
  return b;
}

void BuddyAllocator::free(pfn_t pfn, unsigned order) {
  assert(pfn < npages_ && free_order_[pfn] == kNotFreeHead);
  nfree_ += pfn_t{1} << order;
  while (order < kMaxOrder) {
    pfn_t buddy = pfn ^ (pfn_t{1} << order);
    if (buddy >= npages_ || free_order_[buddy] != order) break;
    unlink(buddy, order);
    pfn &= ~(pfn_t{1} << order);
    order++;
  }
  push(pfn, order);
}

pfn_t BuddyAllocator::alloc_run(uint32_t n) {
  if (n == 0 || n > (uint32_t{1} << kMaxOrder)) return kNoPage;
  unsigned order = order_for(n);
  pfn_t b = alloc(order);
  if (b == kNoPage) return kNoPage;
  for (pfn_t p = b + n; p < b + (pfn_t{1} << order); p++) free(p, 0);
  return b;
}

}  // namespace xfsfuse::vmap
