// buffer_cache/buf_ops.h — verifiers: one object per metadata structure type.
//
// As in libxfs (struct xfs_buf_ops): a buffer is read with the ops of the
// structure it is expected to hold; verify_read() runs once, on the first
// read, and a failure marks the buffer corrupt for good; verify_write() runs
// before every write-back, refreshes the CRC and refuses to write a buffer
// that no longer looks like its structure.
//
// HeaderBufOps is the data-driven verifier for XFS v5 self-describing headers:
// a layout names where the magic, CRC, blkno, uuid and owner live.  The XFS
// structures' layouts belong to fs/ (which knows the format); this layer only
// knows the mechanism.  Thread safety: ops objects are immutable after
// construction and shared by all threads.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace xfsfuse::bc {

using Uuid = std::array<uint8_t, 16>;

/// What a verifier sees of a buffer.
struct VerifyInput {
  std::span<const std::byte> data;  ///< the whole buffer, all maps, in order
  uint64_t daddr = 0;               ///< disk address of the first map, 512-byte sectors
  const Uuid* uuid = nullptr;       ///< filesystem metadata uuid; null until known
};

class BufOps {
 public:
  virtual ~BufOps() = default;
  /// The structure's name for log lines ("dir3 data", "AGF", ...).
  virtual const char* name() const = 0;
  /// Checks a buffer just read.  Returns true, or false with a short reason in *why.
  virtual bool verify_read(const VerifyInput& in, std::string* why) const = 0;
  /// Checks a buffer about to be written, stamps lsn into its LSN field (if
  /// the structure has one and lsn != 0; 0 leaves the field as it is) and
  /// then recomputes its CRC in place.  Returns true, or false with *why (the
  /// write is refused).
  virtual bool verify_write(std::span<std::byte> data, uint64_t daddr, const Uuid* uuid, uint64_t lsn,
                            std::string* why) const = 0;
  /// Whether the buffer's owner field names owner (an AG number or inode
  /// number).  Cheap; run on every get that names an owner.
  virtual bool owner_ok(std::span<const std::byte> data, uint64_t owner) const { return true; }
};

/// Where a v5 self-describing header keeps its fields.  Offsets are bytes
/// from the start of the buffer; -1 means the structure has no such field.
/// All fields are big-endian except the CRC (little-endian, see crc32c.h).
struct HeaderLayout {
  std::string name;
  int magic_off = 0;
  unsigned magic_size = 4;        ///< 2 or 4 bytes
  std::vector<uint32_t> magics;   ///< accepted magic values
  int crc_off = -1;
  size_t crc_len = 0;             ///< bytes the CRC covers from offset 0; 0 = whole buffer
  int blkno_off = -1;             ///< 8 bytes: must equal the buffer's daddr
  int uuid_off = -1;              ///< 16 bytes: must equal the filesystem's metadata uuid
  int owner_off = -1;
  unsigned owner_size = 8;        ///< 4 (AG number) or 8 (inode number)
  int lsn_off = -1;               ///< 8 bytes: the LSN of the last change (stamped by verify_write)
};

class HeaderBufOps : public BufOps {
 public:
  explicit HeaderBufOps(HeaderLayout layout) : l_(std::move(layout)) {}
  const char* name() const override { return l_.name.c_str(); }
  bool verify_read(const VerifyInput& in, std::string* why) const override;
  bool verify_write(std::span<std::byte> data, uint64_t daddr, const Uuid* uuid, uint64_t lsn,
                    std::string* why) const override;
  bool owner_ok(std::span<const std::byte> data, uint64_t owner) const override;
  const HeaderLayout& layout() const { return l_; }

 private:
  // Every check but the CRC.
  bool check_fields(std::span<const std::byte> data, uint64_t daddr, const Uuid* uuid, std::string* why) const;
  std::span<const std::byte> crc_span(std::span<const std::byte> data) const;
  HeaderLayout l_;
};

/// Big-endian loads for verifiers (n = 2, 4 or 8 bytes).
uint64_t load_be(const std::byte* p, unsigned n);

}  // namespace xfsfuse::bc
