# hadr_test(NAME name LABEL label SOURCES ... LIBRARIES ...)
# One GoogleTest executable registered with ctest under a label (unit, backend, fault, sim, e2e).
# Tests discover their individual cases so `ctest -R` can pick one.
include(GoogleTest)
function(hadr_test)
  cmake_parse_arguments(ARG "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT HADR_TESTS)
    return()
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  # The sanitizer build runs no whole-process drills or benches, and never builds them: a test
  # registered for a binary that was not built would show up as a failing <name>_NOT_BUILT
  # (it has no label, so `ctest -LE e2e` cannot filter it out).
  if(HADR_SANITIZE AND (ARG_LABEL STREQUAL "e2e" OR ARG_LABEL STREQUAL "bench"))
    return()
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBRARIES} GTest::gtest GTest::gtest_main GTest::gmock)
  # What the sanitizer stage runs (scripts/test): every label but whole-process drills and benches.
  if(NOT ARG_LABEL STREQUAL "e2e" AND NOT ARG_LABEL STREQUAL "bench")
    set_property(GLOBAL APPEND PROPERTY HADR_SANITIZER_TEST_TARGETS ${ARG_NAME})
  endif()
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()
