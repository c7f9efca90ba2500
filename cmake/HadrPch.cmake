# Precompiled headers: the standard library (and GoogleTest for the test executables) parsed once
# per build instead of in each of the ~240 translation units. Measured on the 2-core CI machine:
# parsing <string>..<filesystem> plus gtest.h costs 3 to 5 s per test file, about half of its
# compile time, and the two from-scratch builds (release, ASan) were most of the CI budget.
#
# Two PCH holders, reused by every C++ target (REUSE_FROM, so each is compiled once):
#   hadr_pch_std   the standard headers below; libraries and the CLI;
#   hadr_pch_test  the same plus <gtest/gtest.h>; executables linking GoogleTest (they get
#                  GTEST_HAS_PTHREAD=1 from GTest::gtest, which gtest.h reads, so they need a PCH
#                  generated with the same definition).
# GCC refuses a PCH generated with other macro definitions that its headers read; with -Winvalid-pch
# and -Werror that is a build error, never a silent slow path. Only project headers are left out:
# they change often, and a PCH holding them would rebuild everything on each edit.
# Off for the libFuzzer build (clang checks every -D against the PCH) and with -DHADR_PCH=OFF.
option(HADR_PCH "Precompile the standard and GoogleTest headers" ON)

set(HADR_PCH_STD_HEADERS
  <algorithm> <array> <atomic> <charconv> <chrono> <cstddef> <cstdint> <cstdio> <cstdlib> <cstring>
  <deque> <filesystem> <fstream> <functional> <map> <memory> <mutex> <optional> <set> <span>
  <sstream> <string> <string_view> <thread> <unordered_map> <utility> <vector>)

function(hadr_pch_setup)
  if(NOT HADR_PCH OR HADR_FUZZ)
    return()
  endif()
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Winvalid-pch>)
  # GCC 12 reports its known std::string false positives (GCC bugs 105329, 105651: memcpy
  # "out of the bounds" of a moved-from string inside <bits/char_traits.h>) once those headers
  # come from a PCH: they are no longer treated as system headers whose warnings are suppressed.
  # The plain build has none of these warnings; ASan checks the same accesses at run time.
  # The same for -Wmaybe-uninitialized inside <regex> and <functional> at the sanitizer build's
  # -O1 (std::function in regex_automaton.h; the CI's ASan build stopped on it).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Wno-array-bounds> $<$<COMPILE_LANGUAGE:CXX>:-Wno-stringop-overflow>
                        $<$<COMPILE_LANGUAGE:CXX>:-Wno-stringop-overread> $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>
                        $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized>)
  endif()
  file(WRITE ${CMAKE_BINARY_DIR}/hadr_pch_anchor.cc "// PCH holder: no code of its own.\n")
  add_library(hadr_pch_std STATIC ${CMAKE_BINARY_DIR}/hadr_pch_anchor.cc)
  target_precompile_headers(hadr_pch_std PRIVATE ${HADR_PCH_STD_HEADERS})
  if(HADR_TESTS)
    add_library(hadr_pch_test STATIC ${CMAKE_BINARY_DIR}/hadr_pch_anchor.cc)
    target_link_libraries(hadr_pch_test PRIVATE GTest::gtest)
    target_precompile_headers(hadr_pch_test PRIVATE ${HADR_PCH_STD_HEADERS} <gtest/gtest.h>)
  endif()
endfunction()

# Every C++ target defined under `dir` reuses one of the two holders.
function(hadr_pch_apply dir)
  if(NOT HADR_PCH OR HADR_FUZZ)
    return()
  endif()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY|SHARED_LIBRARY)$")
      continue()
    endif()
    if(target MATCHES "^hadr_pch_")
      continue()
    endif()
    get_target_property(sources ${target} SOURCES)
    set(has_cxx FALSE)
    foreach(source IN LISTS sources)
      if(source MATCHES "\\.cc$")
        set(has_cxx TRUE)
      endif()
    endforeach()
    if(NOT has_cxx)
      continue()
    endif()
    get_target_property(links ${target} LINK_LIBRARIES)
    if(HADR_TESTS AND type STREQUAL "EXECUTABLE" AND "GTest::gtest" IN_LIST links)
      target_precompile_headers(${target} REUSE_FROM hadr_pch_test)
    else()
      target_precompile_headers(${target} REUSE_FROM hadr_pch_std)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    hadr_pch_apply(${subdir})
  endforeach()
endfunction()
