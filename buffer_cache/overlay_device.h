// buffer_cache/overlay_device.h — a device whose writes stay in memory.
//
// Log recovery replays metadata into an OverlayDevice over the image: a
// read-only mount then reads through it (the replayed sectors overlay the
// image, which is never written: evidence mounted ro stays as it was), and a
// read-write mount calls write_back() to put the replayed sectors onto the
// image once replay has succeeded (so a replay that fails half way writes
// nothing).  Granularity: 512-byte sectors; reads and writes may have any
// byte offset and length.  Memory: 512 bytes plus a map node per written
// sector, held until the device is destroyed.
// Thread safety: any number of concurrent preadv/pwritev (a shared mutex
// guards the sector map); write_back() must not race with writes.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <shared_mutex>

#include "buffer_cache/block_device.h"

namespace xfsfuse::bc {

class OverlayDevice : public BlockDevice {
 public:
  /// Reads fall through to base where no sector was written.  base is not
  /// owned when given as a reference; it must outlive the overlay.
  explicit OverlayDevice(BlockDevice& base) : base_(base) {}
  /// The same, owning base.
  explicit OverlayDevice(std::unique_ptr<BlockDevice> base) : owned_(std::move(base)), base_(*owned_) {}

  /// Reads the base, then copies every overlaid sector's bytes over it.
  /// Returns 0 or the base's errno (EIO past the end).
  int preadv(const iovec* iov, int iovcnt, uint64_t off) override;
  /// Stores the bytes in memory (a partly written sector is first read from
  /// the base).  Returns 0, EIO past the end of the base, or the base's errno.
  int pwritev(const iovec* iov, int iovcnt, uint64_t off) override;
  /// Nothing to make durable: returns 0.
  int sync() override { return 0; }
  uint64_t size_bytes() const override { return base_.size_bytes(); }
  /// Accepts writes (into memory) whatever the base is.
  bool writable() const override { return true; }

  /// Hands back the base it owns (constructed with a unique_ptr), for a
  /// caller done with the overlay (after write_back()).  The overlay must
  /// not be used afterwards.
  std::unique_ptr<BlockDevice> release_base() { return std::move(owned_); }
  /// Sectors held in memory.
  size_t sectors() const;
  /// Writes every overlaid sector to the base (runs of adjacent sectors in
  /// one call), then syncs the base.  The overlay keeps its sectors.
  /// Returns 0 or the base's errno (EROFS for a read-only base).
  int write_back();

 private:
  using Sector = std::array<std::byte, 512>;
  std::unique_ptr<BlockDevice> owned_;
  BlockDevice& base_;
  mutable std::shared_mutex mu_;
  std::map<uint64_t, Sector> sectors_;  // keyed by sector number (byte offset / 512)
};

}  // namespace xfsfuse::bc
