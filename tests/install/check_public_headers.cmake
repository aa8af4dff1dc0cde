# Unit test of cmake/DifflutPublicHeaders.cmake (ctest -L install): on a small fixture tree, the
# installed set is exactly the umbrella's include closure (folder-relative and root-relative
# includes both resolved, unreachable headers left out), every project include is rewritten to
# <difflut/...> while system includes stay, and an include that resolves to nothing stops the
# install with a message naming both files.
#   cmake -DSOURCE=<repo> -DWORK=<scratch dir> -P check_public_headers.cmake
cmake_minimum_required(VERSION 3.25)
include("${SOURCE}/cmake/DifflutPublicHeaders.cmake")
set(root "${WORK}/fixture")
file(REMOVE_RECURSE "${WORK}")
file(WRITE "${root}/include/difflut/umbrella.h" "#pragma once\n#include \"a/a.h\"\n")
file(WRITE "${root}/a/a.h" "#pragma once\n#include <vector>\n#include \"b.h\"\n  #  include \"c/c.h\"  // why\n")
file(WRITE "${root}/a/b.h" "#pragma once\n#include \"c/c.h\"\n")
file(WRITE "${root}/c/c.h" "#pragma once\nint c();\n")
file(WRITE "${root}/c/internal_kernels.h" "#pragma once\n")  # reachable from nothing

difflut_install_public_headers("${root}" "${WORK}/stage" "${WORK}/prefix" "${root}/include/difflut/umbrella.h")
file(GLOB_RECURSE got RELATIVE "${WORK}/prefix/include" "${WORK}/prefix/include/*")
list(SORT got)
set(want "difflut/a/a.h;difflut/a/b.h;difflut/c/c.h;difflut/umbrella.h")
if(NOT got STREQUAL want)
  message(FATAL_ERROR "public headers: expected ${want}, found ${got}")
endif()
file(READ "${WORK}/prefix/include/difflut/a/a.h" a)
if(NOT a MATCHES "#include <vector>\n#include <difflut/a/b.h>\n  #  include <difflut/c/c.h>  // why\n")
  message(FATAL_ERROR "public headers: a.h rewritten wrongly:\n${a}")
endif()
file(READ "${WORK}/prefix/include/difflut/umbrella.h" u)
if(NOT u MATCHES "#include <difflut/a/a.h>")
  message(FATAL_ERROR "public headers: umbrella.h rewritten wrongly:\n${u}")
endif()

# A public header whose include is not in the tree: the install stops and names both.
file(WRITE "${root}/a/b.h" "#pragma once\n#include \"c/missing.h\"\n")
file(WRITE "${WORK}/broken.cmake"
  "include(\"${SOURCE}/cmake/DifflutPublicHeaders.cmake\")\n"
  "difflut_install_public_headers(\"${root}\" \"${WORK}/stage2\" \"${WORK}/prefix2\" \"${root}/include/difflut/umbrella.h\")\n")
execute_process(COMMAND ${CMAKE_COMMAND} -P "${WORK}/broken.cmake" RESULT_VARIABLE rc
                OUTPUT_VARIABLE out ERROR_VARIABLE out)
string(REGEX REPLACE "[ \n]+" " " flat "${out}")  # CMake wraps long messages
if(rc EQUAL 0 OR NOT flat MATCHES "a/b.h includes \"c/missing.h\", which is not a file of the source tree")
  message(FATAL_ERROR "public headers: a missing include was not refused (exit ${rc}):\n${out}")
endif()
message(STATUS "public headers: closure, rewrite and refusal as expected")
