// tools/dirstress_stats.cc — counters, latency histogram and the JSON report.
#include "tools/dirstress_stats.h"

#include <bit>
#include <cstring>

namespace xfsfuse::tools::dirstress {

int latency_bucket(uint64_t ns) {
  if (ns < 8) return static_cast<int>(ns);
  int e = 63 - std::countl_zero(ns);  // 3..63
  int sub = static_cast<int>((ns >> (e - 3)) & 7);
  return (e - 2) * 8 + sub;
}

uint64_t bucket_middle_ns(int bucket) {
  if (bucket < 8) return static_cast<uint64_t>(bucket);
  int e = bucket / 8 + 2;
  uint64_t lo = (8ULL + static_cast<uint64_t>(bucket % 8)) << (e - 3);
  return lo + ((1ULL << (e - 3)) >> 1);
}

void KindStats::add(int err, uint64_t ns) {
  ops++;
  if (err != 0) errors[err > 0 && err < kErrnoSlots ? err : 0]++;
  latency[latency_bucket(ns)]++;
}

void KindStats::merge(const KindStats& o) {
  ops += o.ops;
  for (int i = 0; i < kErrnoSlots; i++) errors[i] += o.errors[i];
  for (int i = 0; i < kLatencyBuckets; i++) latency[i] += o.latency[i];
}

uint64_t KindStats::failed() const {
  uint64_t n = 0;
  for (uint64_t e : errors) n += e;
  return n;
}

uint64_t KindStats::quantile_ns(double q) const {
  if (ops == 0) return 0;
  // The smallest bucket whose cumulative count reaches ceil(q * ops).
  auto want = static_cast<uint64_t>(q * static_cast<double>(ops) + 0.999999);
  if (want == 0) want = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kLatencyBuckets; i++) {
    seen += latency[i];
    if (seen >= want) return bucket_middle_ns(i);
  }
  return bucket_middle_ns(kLatencyBuckets - 1);
}

std::string errno_name(int err) {
  if (err == 0) return "other";
  const char* n = strerrorname_np(err);
  return n ? n : "E" + std::to_string(err);
}

nlohmann::json stats_json(const KindStats (&totals)[kOpKinds], double seconds) {
  nlohmann::json kinds = nlohmann::json::object();
  uint64_t ops = 0, failed = 0;
  nlohmann::json all_errors = nlohmann::json::object();
  for (int k = 0; k < kOpKinds; k++) {
    const KindStats& s = totals[k];
    nlohmann::json errors = nlohmann::json::object();
    for (int e = 0; e < kErrnoSlots; e++) {
      if (s.errors[e] == 0) continue;
      errors[errno_name(e)] = s.errors[e];
      all_errors[errno_name(e)] = all_errors.value(errno_name(e), uint64_t{0}) + s.errors[e];
    }
    ops += s.ops;
    failed += s.failed();
    kinds[op_name(static_cast<OpKind>(k))] = {
        {"ops", s.ops},
        {"errors", s.failed()},
        {"errors_by_errno", errors},
        {"latency_us", {{"p50", static_cast<double>(s.quantile_ns(0.5)) / 1000.0},
                        {"p99", static_cast<double>(s.quantile_ns(0.99)) / 1000.0}}},
    };
  }
  return {
      {"seconds", seconds},
      {"ops", ops},
      {"errors", failed},
      {"errors_by_errno", all_errors},
      {"ops_per_second", seconds > 0 ? static_cast<double>(ops) / seconds : 0.0},
      {"kinds", kinds},
  };
}

}  // namespace xfsfuse::tools::dirstress
