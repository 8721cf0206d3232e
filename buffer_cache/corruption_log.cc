#include "buffer_cache/corruption_log.h"

#include <cinttypes>
#include <cstdio>

namespace xfsfuse::bc {

namespace {

CorruptionSink& sink() {
  static CorruptionSink s;
  return s;
}

}  // namespace

void log_corruption(std::string_view structure, uint64_t daddr, std::string_view why) {
  if (const CorruptionSink& s = sink()) return s(structure, daddr, why);
  if (daddr == kNoCorruptionDaddr)
    std::fprintf(stderr, "xfsfuse: metadata corruption: %.*s: %.*s\n", int(structure.size()), structure.data(),
                 int(why.size()), why.data());
  else
    std::fprintf(stderr, "xfsfuse: metadata corruption: %.*s at daddr 0x%" PRIx64 ": %.*s\n", int(structure.size()),
                 structure.data(), daddr, int(why.size()), why.data());
}

void set_corruption_sink(CorruptionSink s) { sink() = std::move(s); }

}  // namespace xfsfuse::bc
