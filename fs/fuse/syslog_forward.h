// fs/fuse/syslog_forward.h — where a background xfsfuse's stderr goes.
//
// Once xfsfuse has detached from its terminal, its log lines (corruption
// reports from fs/ and buffer_cache/, which write to stderr) would be lost.
// forward_stderr_to_syslog() points stderr at a pipe whose reader thread
// sends each line to syslog(3) at LOG_ERR, tagged "xfsfuse", as daemons do.
// Call it once, after fork, with no other thread writing to stderr yet.
#pragma once

namespace xfsfuse::fuse {

/// Redirects stderr into syslog line by line.  Returns 0 or the errno of
/// pipe/dup2 (stderr then stays as it was).
int forward_stderr_to_syslog();

}  // namespace xfsfuse::fuse
