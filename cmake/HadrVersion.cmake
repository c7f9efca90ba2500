# hadr's version and the git commit it was built from, fixed when CMake configures; written to
# ${CMAKE_BINARY_DIR}/generated/hadr_version.h for `hadr --version`. CMake configures again when
# HEAD moves (HEAD and the branch's ref file are configure dependencies), so a rebuild after a
# commit reports the new one. "-dirty" marks a work tree with uncommitted changes at configure
# time; "unknown" when the source is not a git checkout.
find_package(Git QUIET)
set(HADR_GIT_COMMIT "unknown")
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE hadr_commit RESULT_VARIABLE hadr_git_result
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(hadr_git_result EQUAL 0 AND hadr_commit)
    set(HADR_GIT_COMMIT ${hadr_commit})
    execute_process(COMMAND ${GIT_EXECUTABLE} status --porcelain --untracked-files=no
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE hadr_dirty ERROR_QUIET)
    if(hadr_dirty)
      string(APPEND HADR_GIT_COMMIT "-dirty")
    endif()
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --git-path HEAD
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE hadr_head_path OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    execute_process(COMMAND ${GIT_EXECUTABLE} symbolic-ref -q HEAD
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE hadr_ref OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    set(hadr_watch ${hadr_head_path})
    if(hadr_ref)
      execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --git-path ${hadr_ref}
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE hadr_ref_path OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      list(APPEND hadr_watch ${hadr_ref_path})
    endif()
    foreach(hadr_path ${hadr_watch})
      if(NOT IS_ABSOLUTE ${hadr_path})
        set(hadr_path ${PROJECT_SOURCE_DIR}/${hadr_path})
      endif()
      if(EXISTS ${hadr_path})
        set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${hadr_path})
      endif()
    endforeach()
  endif()
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/hadr_version.h.in ${CMAKE_BINARY_DIR}/generated/hadr_version.h @ONLY)
