// tools/churn_image.h — the image xfsfuse-churn traverses: XFS v5, 64 KiB
// directory blocks, N empty regular files in /d (f0000001 ... f<N>).
//
// Built by the source tree's images/make-image (`make-image churn IMG N`, the
// same protofile generator as the test images), checked with xfs_db.  Call
// from the main thread (spawns programs).
#pragma once

#include <cstdint>
#include <string>

namespace xfsfuse::tools::churn {

/// Builds path (a sparse file, 512 MiB up to 100,000 files) and path.manifest
/// with `files` files in /d.  Returns 0, ENOENT when make-image is not where
/// this program was built from, or EIO with make-image's output in *err.
int build_image(const std::string& path, uint32_t files, std::string* err);

/// Checks that path is an XFS file system xfs_db can read, with 64 KiB
/// directory blocks (blocklog + dirblklog == 16), whose /d holds exactly
/// `files` entries.  Returns 0 or EINVAL with *err saying what differs.
int check_image(const std::string& path, uint32_t files, std::string* err);

}  // namespace xfsfuse::tools::churn
