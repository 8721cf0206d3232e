// tools/dirstress_verify.cc — the --verify replay and comparisons.
#include "tools/dirstress_verify.h"

#include <algorithm>

#include "tools/dirstress_stats.h"

namespace xfsfuse::tools::dirstress {

namespace {

constexpr size_t kMaxLines = 20;

class ModelSink final : public OpSink {
 public:
  ModelSink(const ModelDir& model, RunLog* log) : model_(model), log_(log) {}
  void op_done(const OpRecord& rec, uint64_t) override { log_->ops.push_back(rec); }
  void checkpoint(const char* label) override { log_->checkpoints.emplace_back(label, model_.tree()); }

 private:
  const ModelDir& model_;
  RunLog* log_;
};

std::string describe(const Entry& e) {
  std::string s(1, type_letter(e.type));
  if (e.type == EntryType::symlink) s += " -> " + e.target;
  return s;
}

std::string result_name(int err) {
  if (err == 0) return "success";
  if (err == kAnyError) return "some error";
  return errno_name(err);
}

bool results_match(int model, int real) { return model == kAnyError ? real != 0 : model == real; }

}  // namespace

std::vector<std::string> diff_trees(const Tree& expected, const Tree& actual) {
  std::vector<std::string> out;
  for (const auto& [name, e] : expected) {
    auto it = actual.find(name);
    if (it == actual.end())
      out.push_back("missing " + describe(e) + " " + name);
    else if (!(it->second == e))
      out.push_back(name + ": " + describe(it->second) + ", expected " + describe(e));
  }
  for (const auto& [name, e] : actual)
    if (!expected.count(name)) out.push_back("extra " + describe(e) + " " + name);
  return out;
}

RunLog replay(const Tree& initial, const PhaseOptions& o, int mknod_errno) {
  ModelDir model(initial, mknod_errno);
  RunLog log;
  ModelSink sink(model, &log);
  PhaseOptions quiet = o;
  quiet.log = nullptr;
  quiet.verbose = 0;
  run_phases(model, quiet, sink);
  return log;
}

std::vector<std::string> verify_run(const Tree& initial, const PhaseOptions& o, int mknod_errno, const RunLog& real) {
  RunLog want = replay(initial, o, mknod_errno);
  std::vector<std::string> out;
  size_t n = std::min(want.ops.size(), real.ops.size()), shown = 0;
  for (size_t i = 0; i < n; i++) {
    const OpRecord& w = want.ops[i];
    const OpRecord& r = real.ops[i];
    if (w.kind == r.kind && w.a == r.a && w.b == r.b && results_match(w.err, r.err)) continue;
    if (shown++ == kMaxLines) break;
    std::string call = std::string(op_name(r.kind)) + " " + entry_name(r.a) +
                       (r.kind == OpKind::rename ? " -> " + entry_name(r.b) : "");
    if (w.kind != r.kind || w.a != r.a || w.b != r.b)
      out.push_back("call #" + std::to_string(i) + " " + call + ": the model made " + op_name(w.kind) + " " + entry_name(w.a));
    else
      out.push_back("call #" + std::to_string(i) + " " + call + ": " + result_name(r.err) + ", the model expects " +
                    result_name(w.err));
  }
  if (want.ops.size() != real.ops.size())
    out.push_back(std::to_string(real.ops.size()) + " calls made, the model made " + std::to_string(want.ops.size()));
  for (const auto& [label, tree] : want.checkpoints) {
    auto it = std::find_if(real.checkpoints.begin(), real.checkpoints.end(), [&](const auto& c) { return c.first == label; });
    if (it == real.checkpoints.end()) {
      out.push_back("checkpoint " + label + ": not reached by the run");
      continue;
    }
    std::vector<std::string> d = diff_trees(tree, it->second);
    for (size_t i = 0; i < d.size() && i < kMaxLines; i++) out.push_back("at " + label + ": " + d[i]);
    if (d.size() > kMaxLines) out.push_back("at " + label + ": " + std::to_string(d.size() - kMaxLines) + " more differences");
  }
  return out;
}

}  // namespace xfsfuse::tools::dirstress
