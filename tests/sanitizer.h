// tests/sanitizer.h — whether this test build runs under ThreadSanitizer, for
// the multi-threaded randomized tests that scale their op counts down there
// (TSan runs them 5-10x slower than the plain build; fewer ops still reach
// the same interleavings, and the plain and ASan builds run them whole).
#pragma once

namespace xfsfuse::test {

#if defined(__SANITIZE_THREAD__)  // GCC
inline constexpr bool kUnderTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)  // clang
inline constexpr bool kUnderTsan = true;
#else
inline constexpr bool kUnderTsan = false;
#endif
#else
inline constexpr bool kUnderTsan = false;
#endif

}  // namespace xfsfuse::test
