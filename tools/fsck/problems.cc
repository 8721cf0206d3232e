#include "tools/fsck/problems.h"

#include "fs/corrupt.h"

namespace xfsfuse::fsck {

std::string format_problem(const Problem& p) {
  std::string s = p.structure;
  if (p.agno != kNoAg) s += " agno " + std::to_string(p.agno);
  if (p.ino != kNoIno) s += " ino " + std::to_string(p.ino);
  if (p.daddr != kNoDaddr) s += " daddr " + fs::hex(p.daddr);
  return s + ": " + p.what;
}

void Reporter::report(Problem p) {
  std::lock_guard<std::mutex> g(mu_);
  if (print_) std::fprintf(out_, "%s\n", format_problem(p).c_str());
  problems_.push_back(std::move(p));
}

void Reporter::warn(Problem p) {
  std::lock_guard<std::mutex> g(mu_);
  if (print_) std::fprintf(out_, "warning: %s\n", format_problem(p).c_str());
  warnings_.push_back(std::move(p));
}

void Reporter::detail(Problem p) {
  std::lock_guard<std::mutex> g(mu_);
  if (print_) std::fprintf(out_, "detail: %s\n", format_problem(p).c_str());
  details_.push_back(std::move(p));
}

std::vector<Problem> Reporter::details() const {
  std::lock_guard<std::mutex> g(mu_);
  return details_;
}

std::vector<Problem> Reporter::warnings() const {
  std::lock_guard<std::mutex> g(mu_);
  return warnings_;
}

size_t Reporter::count() const {
  std::lock_guard<std::mutex> g(mu_);
  return problems_.size();
}

std::vector<Problem> Reporter::problems() const {
  std::lock_guard<std::mutex> g(mu_);
  return problems_;
}

}  // namespace xfsfuse::fsck
