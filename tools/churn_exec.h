// tools/churn_exec.h — running the helper programs xfsfuse-churn needs
// (make-image, xfs_db, mount, umount, fusermount3, gnuplot, xfsfuse).
//
// posix_spawnp, stdin from /dev/null.  Thread safety: call from the main
// thread (the walker's threads never spawn).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace xfsfuse::tools::churn {

/// Runs argv (argv[0] searched in PATH) to completion, stdout and stderr
/// together in *output.  Returns 0 with *status the waitpid() status, or the
/// errno of a start that failed (ENOENT: no such program), with *output empty.
int run_command(const std::vector<std::string>& argv, std::string* output, int* status);

/// "exited 3", "killed by signal 9": a waitpid() status for messages.
std::string describe_status(int status);

/// True if status is a normal exit with code 0.
bool exited_ok(int status);

/// Starts argv (argv[0] searched in PATH) in the background in a process group
/// of its own (so a terminal's ^C reaches only this program, which then
/// unmounts in order), stdout and stderr appended to log_path.  Returns 0 with
/// *pid, or an errno (open of log_path, or posix_spawn's).
int spawn_background(const std::vector<std::string>& argv, const std::string& log_path, pid_t* pid);

/// The whole file at path (at most max_bytes from its end), or "" if unreadable.
std::string read_file_tail(const std::string& path, size_t max_bytes);

}  // namespace xfsfuse::tools::churn
