# The commit the binary was built from, so every report can name it. -DPYN_COMMIT=... names it
# where git cannot tell (a copy of the tree on another machine; scripts/gpu-check.sh passes it).
if(PYN_COMMIT)
  set(PYN_GIT_COMMIT "${PYN_COMMIT}")
  return()
endif()
execute_process(
  COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE PYN_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(
  COMMAND git status --porcelain --untracked-files=no
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE PYN_GIT_DIRTY OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT PYN_GIT_COMMIT AND EXISTS ${CMAKE_SOURCE_DIR}/COMMIT)
  # A copy of the tree without .git (e.g. sent to a GPU machine) names its commit in this file.
  file(STRINGS ${CMAKE_SOURCE_DIR}/COMMIT PYN_GIT_COMMIT LIMIT_COUNT 1)
elseif(NOT PYN_GIT_COMMIT)
  set(PYN_GIT_COMMIT "unknown")
elseif(PYN_GIT_DIRTY)
  string(APPEND PYN_GIT_COMMIT "-dirty")
endif()
