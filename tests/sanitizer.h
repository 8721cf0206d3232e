// tests/sanitizer.h — whether this test build runs under ThreadSanitizer or
// AddressSanitizer, for the long randomized tests that scale their counts
// down there (TSan runs them 5-10x slower than the plain build, ASan 2-4x;
// fewer ops still reach the same code and interleavings, and the plain build
// runs them whole).
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

#if defined(__SANITIZE_ADDRESS__)  // GCC
inline constexpr bool kUnderAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang
inline constexpr bool kUnderAsan = true;
#else
inline constexpr bool kUnderAsan = false;
#endif
#else
inline constexpr bool kUnderAsan = false;
#endif

}  // namespace xfsfuse::test
