/*
 * fs/format/types.h — storage types for XFS on-disk structures.
 *
 * The fs/format headers compile as C and as C++: the C test
 * tests/format/layout_test.c checks every size and offset against Debian's
 * xfslibs-dev headers.  On-disk integers are big-endian (the CRC fields are
 * little-endian); the structs hold them raw, as these typedefs, and C++ code
 * reads them with be16()/be32()/be64() from fs/format/endian.h.
 * Source of the layouts: the XFS Algorithms & Data Structures document, with
 * the corrections in docs/format.md ("Where the public document is wrong or
 * silent").
 */
#ifndef XFSFUSE_FS_FORMAT_TYPES_H
#define XFSFUSE_FS_FORMAT_TYPES_H

#include <stdint.h>

typedef uint16_t xd_be16; /* big-endian 16-bit */
typedef uint32_t xd_be32; /* big-endian 32-bit */
typedef uint64_t xd_be64; /* big-endian 64-bit */
typedef uint32_t xd_le32; /* little-endian 32-bit (CRCs) */
typedef struct {
  uint8_t b[16];
} xd_uuid;

#define XD_PACKED __attribute__((packed))

#endif
