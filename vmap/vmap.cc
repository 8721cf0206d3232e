// vmap/vmap.cc — creation, vmap() and vunmap().  Purges live in purge.cc.
#include "vmap/vmap.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <fstream>

namespace xfsfuse::vmap {

namespace {

uint64_t hash_pages(std::span<const pfn_t> pages) {
  uint64_t h = 0xcbf29ce484222325ull ^ pages.size();
  for (pfn_t p : pages) h = (h ^ p) * 0x100000001b3ull;
  return h;
}

uint32_t count_runs(std::span<const pfn_t> pages) {
  uint32_t runs = 1;
  for (size_t i = 1; i < pages.size(); i++)
    if (pages[i] != pages[i - 1] + 1) runs++;
  return runs;
}

// Half of /proc/sys/vm/max_map_count (the kernel default, 65530, if unreadable).
size_t half_max_map_count() {
  size_t n = 65530;
  std::ifstream f("/proc/sys/vm/max_map_count");
  if (!(f >> n)) n = 65530;
  return n / 2;
}

}  // namespace

const char* policy_name(UnmapPolicy p) {
  switch (p) {
    case UnmapPolicy::kEager: return "eager";
    case UnmapPolicy::kLazy: return "lazy";
    case UnmapPolicy::kLazyNoref: return "lazy-noref";
  }
  return "?";
}

int parse_policy(std::string_view s, UnmapPolicy* out) {
  for (UnmapPolicy p : {UnmapPolicy::kEager, UnmapPolicy::kLazy, UnmapPolicy::kLazyNoref}) {
    if (s == policy_name(p)) {
      *out = p;
      return 0;
    }
  }
  return EINVAL;
}

const char* purge_reason_name(PurgeReason r) {
  static const char* const names[kPurgeReasons] = {"every_n", "pressure", "timer", "budget", "explicit"};
  return names[static_cast<size_t>(r)];
}

uint64_t VmapStats::purges_total() const {
  uint64_t n = 0;
  for (uint64_t p : purges) n += p;
  return n;
}

int Vmap::create(PagePool* pool, ShrinkerRegistry* shrinkers, const VmapOptions& opts,
                 std::unique_ptr<Vmap>* out) {
  if (!pool || opts.batch == 0 || opts.slot_pages == 0 || opts.nslots == 0 ||
      opts.timer_period.count() < 0)
    return EINVAL;
  size_t bytes = size_t{opts.nslots} * (opts.slot_pages + 1) * kPageSize;
  void* base = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return errno;
  size_t half = half_max_map_count();
  size_t budget = opts.vma_budget == 0 || opts.vma_budget > half ? half : opts.vma_budget;
  std::unique_ptr<Vmap> vm(new Vmap(pool, shrinkers, opts, static_cast<std::byte*>(base), budget));
  if (pool->install_alias_flusher([v = vm.get()] { v->unmap_aliases(); }) != 0) {
    vm->owns_flusher_ = false;
    return EBUSY;  // the destructor releases the range, the timer and the shrinker
  }
  *out = std::move(vm);
  return 0;
}

Vmap::Vmap(PagePool* pool, ShrinkerRegistry* shrinkers, const VmapOptions& opts, std::byte* base,
           size_t budget)
    : pool_(pool),
      shrinkers_(shrinkers),
      opts_(opts),
      base_(base),
      stride_pages_(opts.slot_pages + 1),
      vma_budget_(budget),
      state_(opts.nslots, kFree),
      areas_(opts.nslots),
      parked_hash_(std::bit_ceil(opts.nslots), kNoSlot),
      batch_(opts.batch) {
  if (shrinkers_ && opts_.register_shrinker) {
    shrinker_id_ = shrinkers_->add(Shrinker{
        "vmap-parked",
        [this] {
          std::lock_guard<std::mutex> g(mu_);
          return size_t{pinned_};
        },
        [this](size_t) { return purge(PurgeReason::kPressure); },
    });
  }
  if (opts_.timer_period.count() > 0) timer_ = std::thread([this] { timer_loop(); });
}

Vmap::~Vmap() {
  {
    std::lock_guard<std::mutex> g(timer_mu_);
    stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  if (shrinker_id_) shrinkers_->remove(shrinker_id_);
  if (owns_flusher_) pool_->clear_alias_flusher();
  purge(PurgeReason::kExplicit);
  // Live areas left by the caller: their mappings go with the range; drop the
  // references they took so the pool is consistent.
  for (uint32_t s = 0; s < opts_.nslots; s++)
    if (state_[s] == kLive && areas_[s].nslots) pool_->put(areas_[s].pages);
  munmap(base_, range_bytes());
}

uint32_t Vmap::slots_for(size_t npages) const {
  // k slots span k * stride - 1 usable pages (the last guard page stays PROT_NONE).
  return static_cast<uint32_t>((npages + 1 + stride_pages_ - 1) / stride_pages_);
}

void Vmap::set_state_locked(uint32_t s, uint32_t n, SlotState st) {
  for (uint32_t i = s; i < s + n; i++) state_[i] = st;
}

int64_t Vmap::find_free_locked(uint32_t n) {
  const uint32_t total = opts_.nslots;
  if (n > total) return -1;
  uint32_t start = cursor_ + n > total ? 0 : cursor_;
  for (uint32_t scanned = 0; scanned < total;) {
    if (start + n > total) {  // wrap
      scanned += total - start;
      start = 0;
      continue;
    }
    uint32_t i = 0;
    while (i < n && state_[start + i] == kFree) i++;
    if (i == n) {
      cursor_ = (start + n) % total;
      return start;
    }
    scanned += i + 1;
    start += i + 1;
  }
  return -1;
}

void Vmap::park_locked(uint32_t s) {
  Area& a = areas_[s];
  set_state_locked(s, a.nslots, kParked);
  uint32_t& head = parked_hash_[a.hash & (parked_hash_.size() - 1)];
  a.hash_next = head;
  head = s;
  parked_++;
}

void* Vmap::reuse_parked_locked(std::span<const pfn_t> pages, uint64_t hash) {
  for (uint32_t* link = &parked_hash_[hash & (parked_hash_.size() - 1)]; *link != kNoSlot;
       link = &areas_[*link].hash_next) {
    const uint32_t s = *link;
    Area& a = areas_[s];
    if (a.hash != hash || !std::equal(a.pages.begin(), a.pages.end(), pages.begin(), pages.end())) continue;
    *link = a.hash_next;
    a.hash_next = kNoSlot;
    set_state_locked(s, a.nslots, kLive);
    parked_--;
    live_++;
    for (pfn_t p : a.pages) {
      pool_->alias_put(p);
      // lazy: the parked area's references become the live mapping's.
      if (opts_.policy == UnmapPolicy::kLazyNoref) pool_->get(p);
    }
    if (opts_.policy == UnmapPolicy::kLazy) pinned_ -= a.pages.size();
    return slot_address(s);
  }
  return nullptr;
}

int Vmap::map_area(void* addr, std::span<const pfn_t> pages) {
  auto* dst = static_cast<std::byte*>(addr);
  size_t i = 0;
  while (i < pages.size()) {
    size_t j = i + 1;
    while (j < pages.size() && pages[j] == pages[j - 1] + 1) j++;
    void* r = mmap(dst + i * kPageSize, (j - i) * kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                   pool_->fd(), static_cast<off_t>(size_t{pages[i]} << kPageShift));
    map_syscalls_.fetch_add(1, std::memory_order_relaxed);
    if (r == MAP_FAILED) return errno;
    i = j;
  }
  return 0;
}

int Vmap::vmap(std::span<const pfn_t> pages, void** addr) {
  *addr = nullptr;
  const size_t n = pages.size();
  const pfn_t np = pool_->npages();
  if (n == 0 || pages[0] >= np) {
    map_failures_.fetch_add(1, std::memory_order_relaxed);
    return EINVAL;
  }
  bool contiguous = pages[0] + n <= np;
  for (size_t i = 1; contiguous && i < n; i++) contiguous = pages[i] == pages[0] + i;
  if (contiguous && (n == 1 || !opts_.map_contiguous)) {
    maps_.fetch_add(1, std::memory_order_relaxed);
    contiguous_maps_.fetch_add(1, std::memory_order_relaxed);
    *addr = pool_->page_address(pages[0]);
    return 0;
  }
  for (pfn_t p : pages) {
    if (p >= np) {
      map_failures_.fetch_add(1, std::memory_order_relaxed);
      return EINVAL;
    }
  }
  const uint32_t nsl = slots_for(n);
  if (nsl > opts_.nslots) {
    map_failures_.fetch_add(1, std::memory_order_relaxed);
    return EINVAL;
  }
  const uint32_t nruns = count_runs(pages);
  const uint64_t hash = hash_pages(pages);
  const bool lazy = opts_.policy != UnmapPolicy::kEager;

  // Slots or VMA budget short: purge and retry, a few times, since another
  // thread may take what one purge freed (or hold claimed slots mid-purge).
  int64_t slot = -1;
  for (int attempt = 0; attempt < kMapTries && slot < 0; attempt++) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (lazy && parked_ != 0) {
        if (void* a = reuse_parked_locked(pages, hash)) {
          alias_reuses_.fetch_add(1, std::memory_order_relaxed);
          maps_.fetch_add(1, std::memory_order_relaxed);
          scattered_maps_.fetch_add(1, std::memory_order_relaxed);
          *addr = a;
          return 0;
        }
      }
      // VMA upper bound: each run is one VMA and may split a PROT_NONE gap.
      if (vmas_ + 2 * nruns + 1 <= vma_budget_) slot = find_free_locked(nsl);
      if (slot >= 0) {
        set_state_locked(static_cast<uint32_t>(slot), nsl, kBusy);
        vmas_ += 2 * nruns;
        Area& a = areas_[slot];
        a.nslots = nsl;
        a.nruns = nruns;
        a.hash = hash;
        a.pages.assign(pages.begin(), pages.end());
        break;
      }
    }
    if (attempt + 1 < kMapTries) purge(PurgeReason::kBudget);
  }
  if (slot < 0) {
    map_failures_.fetch_add(1, std::memory_order_relaxed);
    return ENOMEM;
  }

  const uint32_t s = static_cast<uint32_t>(slot);
  for (pfn_t p : pages) pool_->get(p);
  int err = map_area(slot_address(s), pages);
  if (err != 0) {
    unmap_slots(s, nsl);
    pool_->put(pages);
    std::lock_guard<std::mutex> g(mu_);
    vmas_ -= 2 * nruns;
    areas_[s] = Area{};
    set_state_locked(s, nsl, kFree);
    map_failures_.fetch_add(1, std::memory_order_relaxed);
    return err;
  }
  {
    std::lock_guard<std::mutex> g(mu_);
    set_state_locked(s, nsl, kLive);
    live_++;
  }
  maps_.fetch_add(1, std::memory_order_relaxed);
  scattered_maps_.fetch_add(1, std::memory_order_relaxed);
  *addr = slot_address(s);
  return 0;
}

int Vmap::vunmap(void* addr) {
  if (pool_->in_linear(addr)) {
    unmaps_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  auto* a = static_cast<std::byte*>(addr);
  if (a < base_ || a >= base_ + range_bytes()) return EINVAL;
  size_t off_pages = static_cast<size_t>(a - base_) / kPageSize;
  if (off_pages % stride_pages_ != 0 || (a - base_) % kPageSize != 0) return EINVAL;
  const uint32_t s = static_cast<uint32_t>(off_pages / stride_pages_);

  std::vector<pfn_t> drop;  // references to drop after the lock (eager, lazy-noref)
  bool purge_now = false;
  uint32_t nsl = 0, nruns = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    Area& ar = areas_[s];
    if (state_[s] != kLive || ar.nslots == 0) return EINVAL;
    nsl = ar.nslots;
    nruns = ar.nruns;
    live_--;
    if (opts_.policy == UnmapPolicy::kEager) {
      set_state_locked(s, nsl, kBusy);
      drop.swap(ar.pages);
    } else {
      park_locked(s);
      for (pfn_t p : ar.pages) pool_->alias_get(p);
      if (opts_.policy == UnmapPolicy::kLazy) {
        pinned_ += ar.pages.size();
        if (pinned_ > pinned_peak_) pinned_peak_ = pinned_;
      } else {
        drop = ar.pages;  // the bug under study: the stale alias keeps no reference
      }
      purge_now = parked_ >= batch();
    }
  }
  unmaps_.fetch_add(1, std::memory_order_relaxed);

  if (opts_.policy == UnmapPolicy::kEager) {
    unmap_syscalls_.fetch_add(1, std::memory_order_relaxed);
    if (unmap_slots(s, nsl) != 0) {
      // Could not unmap: keep the references (a live alias must pin its pages)
      // and leave the slots busy rather than reuse them.
      return 0;
    }
    pool_->put(drop);
    std::lock_guard<std::mutex> g(mu_);
    vmas_ -= 2 * nruns;
    areas_[s] = Area{};
    set_state_locked(s, nsl, kFree);
    return 0;
  }
  lazy_unmaps_.fetch_add(1, std::memory_order_relaxed);
  if (!drop.empty()) pool_->put(drop);
  if (purge_now) purge(PurgeReason::kEveryN);
  return 0;
}

int Vmap::set_batch(uint32_t n, uint32_t* old) {
  if (n == 0) return EINVAL;
  const uint32_t was = batch_.exchange(n, std::memory_order_relaxed);
  if (old != nullptr) *old = was;
  bool purge_now = false;
  {
    std::lock_guard<std::mutex> g(mu_);
    purge_now = opts_.policy != UnmapPolicy::kEager && parked_ >= n;
  }
  if (purge_now) purge(PurgeReason::kEveryN);
  return 0;
}

VmapStats Vmap::stats() const {
  VmapStats st;
  st.maps = maps_.load(std::memory_order_relaxed);
  st.contiguous_maps = contiguous_maps_.load(std::memory_order_relaxed);
  st.scattered_maps = scattered_maps_.load(std::memory_order_relaxed);
  st.map_syscalls = map_syscalls_.load(std::memory_order_relaxed);
  st.map_failures = map_failures_.load(std::memory_order_relaxed);
  st.unmaps = unmaps_.load(std::memory_order_relaxed);
  st.lazy_unmaps = lazy_unmaps_.load(std::memory_order_relaxed);
  st.alias_reuses = alias_reuses_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kPurgeReasons; i++) st.purges[i] = purges_[i].load(std::memory_order_relaxed);
  st.purge_syscalls = purge_syscalls_.load(std::memory_order_relaxed);
  st.unmap_syscalls = unmap_syscalls_.load(std::memory_order_relaxed);
  st.stale_alias_reuse = pool_->stats().stale_alias_reuse;
  st.vma_budget = vma_budget_;
  std::lock_guard<std::mutex> g(mu_);
  st.pages_pinned_by_parked_aliases = pinned_;
  st.pages_pinned_peak = pinned_peak_;
  st.parked_areas = parked_;
  st.live_areas = live_;
  st.vmas_in_use = vmas_;
  return st;
}

}  // namespace xfsfuse::vmap
