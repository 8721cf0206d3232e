// tools/churn_progress.h — xfsfuse-churn's one-line progress report and its
// messages on stderr.
//
// On a terminal (isatty(stderr)) the progress line is rewritten in place with
// '\r'; otherwise it is never printed.  Messages (notes, errors) first erase
// the progress line.  Main thread only.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

namespace xfsfuse::tools::churn {

class Progress {
 public:
  Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}

  /// Replaces the progress line with `line` (terminal only).
  void show(const std::string& line) {
    if (!tty_) return;
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    std::fflush(stderr);
    shown_ = true;
  }

  /// Erases the progress line, if one is shown.
  void clear() {
    if (!shown_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    shown_ = false;
  }

  /// Prints "xfsfuse-churn: MSG" on a line of its own (always).
  void message(const std::string& msg) {
    clear();
    std::fprintf(stderr, "xfsfuse-churn: %s\n", msg.c_str());
  }

 private:
  bool tty_;
  bool shown_ = false;
};

}  // namespace xfsfuse::tools::churn
