# cmake/pch.cmake — precompiled headers for the targets with many translation units.
#
# Most of a small .cc file's compile time here is the headers it shares with every other one: the
# standard library's (about 1.5 s of CPU a file on the CI machine) and, in the tests, Catch2's
# single header (another 1.5 s). CI builds everything four times (plain, ASan, TSan, fuzz) on two
# CPUs, so those headers were a large part of its hour; each target below parses them once.
# On by default in the sanitizer builds (-DSANITIZE=...), not in clang's fuzz build (untried). GCC 12
# loses the system-header status of precompiled libstdc++ headers: -Warray-bounds then fires
# falsely inside std::string's inlined copies (fs/incore_inode.cc, fs/alloc/alloc.cc, ...), at
# -O2 and at the sanitizer builds' -O1, which -Werror turns into failures. So the plain build (the warnings' gate, and the one users
# build) compiles every header in every file, and the targets given precompiled headers in the
# sanitizer builds compile without those warnings (GCC only).
# -DXFSFUSE_PCH=OFF builds without them anywhere (to check that every file includes what it uses).
if(NOT SANITIZE STREQUAL "" AND NOT XFSFUSE_FUZZ)
  set(xfsfuse_pch_default ON)
else()
  set(xfsfuse_pch_default OFF)
endif()
option(XFSFUSE_PCH "Precompile the standard and Catch2 headers of the large targets" ${xfsfuse_pch_default})

set(XFSFUSE_PCH_STD
  <algorithm> <array> <atomic> <cerrno> <chrono> <condition_variable> <cstddef> <cstdint> <cstdio>
  <cstdlib> <cstring> <functional> <map> <memory> <mutex> <optional> <set> <shared_mutex> <span>
  <string> <string_view> <thread> <unordered_map> <utility> <vector>)

# xfsfuse_pch(TARGET [CATCH]): precompiles XFSFUSE_PCH_STD (and with CATCH, Catch2's header) for
# TARGET's C++ files.
function(xfsfuse_pch target)
  if(NOT XFSFUSE_PCH)
    return()
  endif()
  cmake_parse_arguments(P "CATCH" "" "" ${ARGN})
  set(headers ${XFSFUSE_PCH_STD})
  if(P_CATCH)
    list(APPEND headers <catch2/catch.hpp>)
  endif()
  foreach(h IN LISTS headers)
    target_precompile_headers(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:${h}>")
  endforeach()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # The false warnings above (-Warray-bounds, -Wstringop-overflow and their kin on the same
    # inlined copies) fire at -O1 too; the plain build keeps them all.
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:-Wno-array-bounds;-Wno-stringop-overflow;-Wno-stringop-overread;-Wno-restrict>")
  endif()
endfunction()
