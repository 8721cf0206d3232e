#include "fs/log/parse.h"

#include <cstring>
#include <map>

#include "fs/corrupt.h"
#include "fs/log/record.h"

namespace xfsfuse::fs::xlog {

namespace {

constexpr uint32_t kTransMagic = 0x5452414e;  // th_magic "TRAN", host-endian
constexpr size_t kTransHeaderBytes = 16;      // th_magic, th_type, th_tid, th_num_items
constexpr uint16_t kMaxItemRegions = 512;     // far above any item's region count

uint32_t host32(const std::byte* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t host16(const std::byte* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// A transaction being put together.
struct Open {
  LogTransaction t;
  std::vector<std::byte> header;  // its transaction header region
  bool header_done = false;       // a region after the header has begun
};

class Parser {
 public:
  Parser(const std::function<int(LogTransaction&&)>& commit, ParseStats* stats, std::string* why)
      : commit_(commit), stats_(stats), why_(why) {}

  // One op of the record at lsn.
  int op(uint64_t lsn, uint32_t tid, uint8_t client, uint8_t flags, std::span<const std::byte> payload);
  size_t open_count() const { return open_.size(); }

 private:
  int region(Open& o, uint8_t flags, std::span<const std::byte> payload);
  int finish_header(Open& o);
  int commit(Open& o, uint64_t lsn);

  const std::function<int(LogTransaction&&)>& commit_;
  ParseStats* stats_;
  std::string* why_;
  std::map<uint32_t, Open> open_;
};

int Parser::finish_header(Open& o) {
  if (o.header_done) return 0;
  if (o.header.size() != kTransHeaderBytes || host32(o.header.data()) != kTransMagic)
    return corrupt(why_, "log transaction " + hex(o.t.tid) + ": no transaction header (" +
                             std::to_string(o.header.size()) + " bytes)");
  o.t.type = host32(o.header.data() + 4);
  o.t.num_items = host32(o.header.data() + 12);
  o.header_done = true;
  return 0;
}

int Parser::region(Open& o, uint8_t flags, std::span<const std::byte> payload) {
  if (flags & XD_LOG_OP_WAS_CONT) {  // the rest of the region the last record cut
    if (o.header_done && o.t.items.empty()) return corrupt(why_, "log transaction " + hex(o.t.tid) + ": continued nothing");
    std::vector<std::byte>& last = !o.header_done ? o.header : o.t.items.back().regions.back();
    last.insert(last.end(), payload.begin(), payload.end());
    return 0;
  }
  if (o.header.empty()) {  // the first region is the transaction header
    o.header.assign(payload.begin(), payload.end());
    return 0;
  }
  if (int err = finish_header(o)) return err;
  if (o.t.items.empty() || o.t.items.back().regions.size() == o.t.items.back().size) {
    if (payload.size() < 4) return corrupt(why_, "log transaction " + hex(o.t.tid) + ": an item's first region of " +
                                                     std::to_string(payload.size()) + " bytes");
    LogItem item;
    item.type = host16(payload.data());
    item.size = host16(payload.data() + 2);
    if (item.size == 0 || item.size > kMaxItemRegions)
      return corrupt(why_, "log transaction " + hex(o.t.tid) + ": item of type " + hex(item.type) + " with " +
                               std::to_string(item.size) + " regions");
    o.t.items.push_back(std::move(item));
  }
  o.t.items.back().regions.emplace_back(payload.begin(), payload.end());
  return 0;
}

int Parser::commit(Open& o, uint64_t lsn) {
  if (int err = finish_header(o)) return err;
  if (!o.t.items.empty() && o.t.items.back().regions.size() != o.t.items.back().size)
    return corrupt(why_, "log transaction " + hex(o.t.tid) + " commits an item with " +
                             std::to_string(o.t.items.back().regions.size()) + " of " +
                             std::to_string(o.t.items.back().size) + " regions");
  o.t.commit_lsn = lsn;
  stats_->committed++;
  return commit_(std::move(o.t));
}

int Parser::op(uint64_t lsn, uint32_t tid, uint8_t client, uint8_t flags, std::span<const std::byte> payload) {
  stats_->ops++;
  if (client == XD_LOG_CLIENT_LOG) {
    if (flags & XD_LOG_OP_UNMOUNT) stats_->unmount_records++;
    return 0;
  }
  if (client != XD_LOG_CLIENT_TRANSACTION)
    return corrupt(why_, "log op of transaction " + hex(tid) + " has client id " + hex(client));
  auto it = open_.find(tid);
  if (flags & XD_LOG_OP_START) {
    if (it != open_.end()) return corrupt(why_, "log transaction " + hex(tid) + " starts twice");
    Open o;
    o.t.tid = tid;
    o.t.lsn = lsn;
    it = open_.emplace(tid, std::move(o)).first;
    if (payload.empty()) return 0;
  } else if (it == open_.end()) {  // started before the tail: already written in place
    stats_->ops_before_tail++;
    return 0;
  }
  if (!payload.empty())
    if (int err = region(it->second, flags, payload)) return err;
  if (flags & XD_LOG_OP_COMMIT) {
    const int err = commit(it->second, lsn);
    open_.erase(it);
    return err;
  }
  return 0;
}

}  // namespace

int parse_log(const LogReader& r, const bc::Uuid& uuid, const LogEnds& ends,
              const std::function<int(LogTransaction&&)>& commit, ParseStats* stats, std::string* why) {
  *stats = ParseStats{};
  const uint32_t n = r.blocks();
  uint64_t t = uint64_t{lsn_cycle(ends.tail_lsn)} * n + lsn_block(ends.tail_lsn);
  const uint64_t head = uint64_t{ends.head_cycle} * n + ends.head_block;
  Parser p(commit, stats, why);
  std::vector<std::byte> rec;
  while (t < head) {
    const uint32_t b = static_cast<uint32_t>(t % n);
    std::vector<std::byte> hdr(kBlock);
    if (int err = r.read(b, 1, hdr.data())) return err;
    RecordHeader h;
    if (int err = decode_record_header(hdr, b, n, uuid, &h, why)) return err;
    if (h.cycle != t / n || t + h.blocks() > head)
      return corrupt(why, "log record at log block " + std::to_string(b) + " (cycle " + std::to_string(h.cycle) +
                              ", " + std::to_string(h.blocks()) + " blocks) does not fit between the tail and the head");
    rec.resize(size_t{h.blocks()} * kBlock);
    if (int err = r.read(b, h.blocks(), rec.data())) return err;
    if (record_crc(h, rec) != h.crc)
      return corrupt(why, "log record at log block " + std::to_string(b) + ": CRC mismatch");
    unstamp_record(h, rec);
    stats->records++;
    const std::byte* data = rec.data() + size_t{h.header_blocks()} * kBlock;
    size_t off = 0;
    for (uint32_t i = 0; i < h.num_logops; i++) {
      if (off + sizeof(xd_log_op_header) > h.len)
        return corrupt(why, "log record at log block " + std::to_string(b) + ": op " + std::to_string(i) + " of " +
                                std::to_string(h.num_logops) + " past its end");
      const std::byte* oh = data + off;
      const uint32_t tid = static_cast<uint32_t>(bc::load_be(oh, 4));
      const uint32_t len = static_cast<uint32_t>(bc::load_be(oh + 4, 4));
      const auto client = static_cast<uint8_t>(oh[offsetof(xd_log_op_header, oh_clientid)]);
      const auto flags = static_cast<uint8_t>(oh[offsetof(xd_log_op_header, oh_flags)]);
      off += sizeof(xd_log_op_header);
      if (len > h.len - off)
        return corrupt(why, "log record at log block " + std::to_string(b) + ": op of " + std::to_string(len) +
                                " bytes past its end");
      if (int err = p.op(h.lsn, tid, client, flags, {data + off, len})) return err;
      off += len;
    }
    t += h.blocks();
  }
  stats->uncommitted = static_cast<uint32_t>(p.open_count());
  return 0;
}

}  // namespace xfsfuse::fs::xlog
