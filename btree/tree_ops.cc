#include "btree/tree_ops.h"

#include <cstring>

#include "btree/bmbt.h"
#include "btree/sbtree.h"
#include "fs/format/records.h"

namespace xfsfuse::btree {

namespace {

void copy8(const std::byte* rec, std::byte* key) { std::memcpy(key, rec, 8); }
void copy4(const std::byte* rec, std::byte* key) { std::memcpy(key, rec, 4); }
void bmbt_key_from_rec(const std::byte* rec, std::byte* key) { fs::store_be(key, 8, fs::decode_bmbt_rec(rec).startoff); }

BtreeKey bno_key(const std::byte* k) { return {bc::load_be(k, 4), 0}; }
BtreeKey cnt_key(const std::byte* k) { return {bc::load_be(k + 4, 4), bc::load_be(k, 4)}; }
BtreeKey ino_key(const std::byte* k) { return {bc::load_be(k, 4), 0}; }
BtreeKey off_key(const std::byte* k) { return {bc::load_be(k, 8), 0}; }

const TreeOps kOps[] = {
    {"bnobt", 0x41423342, false, false, sblock_layout(fs::kAllocRecSize, 8), copy8, bno_key},
    {"cntbt", 0x41423343, false, true, sblock_layout(fs::kAllocRecSize, 8), copy8, cnt_key},
    {"inobt", 0x49414233, false, false, sblock_layout(fs::kInobtRecSize, 4), copy4, ino_key},
    {"finobt", 0x46494233, false, false, sblock_layout(fs::kInobtRecSize, 4), copy4, ino_key},
    {"bmbt", fs::kBmbtMagic, true, false, kBmbtBlockLayout, bmbt_key_from_rec, off_key},
};

}  // namespace

const TreeOps& tree_ops(BtreeKind kind) { return kOps[static_cast<int>(kind)]; }

const bc::BufOps& tree_buf_ops(BtreeKind kind) {
  switch (kind) {
    case BtreeKind::kBnobt: return sbtree_ops(SbtreeKind::kBnobt);
    case BtreeKind::kCntbt: return sbtree_ops(SbtreeKind::kCntbt);
    case BtreeKind::kInobt: return sbtree_ops(SbtreeKind::kInobt);
    case BtreeKind::kFinobt: return sbtree_ops(SbtreeKind::kFinobt);
    case BtreeKind::kBmbt: break;
  }
  return bmbt_ops();
}

}  // namespace xfsfuse::btree
