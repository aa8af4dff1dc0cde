# The installed header tree: exactly the headers the umbrella headers (include/difflut/difflut.h,
# include/difflut/hdl.h) reach through quoted includes, each installed as <prefix>/include/difflut/<path>
# with its project includes rewritten to <difflut/<path>>. A consumer's include path is then
# <prefix>/include alone, and only <difflut/...> names resolve there: no generic "tensor/tensor.h".
#
# The set is computed when `cmake --install` runs (not when the tree is configured), so it follows
# the code whenever files move or gain includes. Source files keep their root-relative includes
# ("tensor/tensor.h"); the rewrite happens on the copy only.
#
# Resolution mirrors the compiler's for "path": the including file's folder first, then the
# include roots (the source root and <source root>/include). A quoted include that resolves to
# nothing in the tree is an error naming both files (a public header must not need anything that
# is not installed).
cmake_policy(VERSION 3.25)  # install scripts run with old policies; this file needs IN_LIST

# Maps an absolute header path under `root` to its installed name below <prefix>/include.
function(_difflut_public_name root file out)
  file(RELATIVE_PATH rel "${root}" "${file}")
  if(rel MATCHES "^include/")
    string(REGEX REPLACE "^include/" "" rel "${rel}")  # include/difflut/difflut.h -> difflut/difflut.h
  else()
    set(rel "difflut/${rel}")
  endif()
  set(${out} "${rel}" PARENT_SCOPE)
endfunction()

# Resolves the quoted include `inc` written in `from` (absolute); empty when it is not in the tree.
function(_difflut_resolve_include root from inc out)
  get_filename_component(dir "${from}" DIRECTORY)
  set(found "")
  foreach(base "${dir}" "${root}" "${root}/include")
    if(EXISTS "${base}/${inc}" AND NOT IS_DIRECTORY "${base}/${inc}")
      get_filename_component(found "${base}/${inc}" ABSOLUTE)
      break()
    endif()
  endforeach()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# The quoted includes of `file`, one entry per #include "..." line.
function(_difflut_quoted_includes file out)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"[^\"]+\"")
  set(incs "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*$" "\\1" inc "${line}")
    list(APPEND incs "${inc}")
  endforeach()
  set(${out} "${incs}" PARENT_SCOPE)
endfunction()

# The transitive closure (absolute paths, sorted) of the quoted includes of `umbrellas`.
function(difflut_public_headers root out)
  set(todo ${ARGN})
  set(seen "")
  while(todo)
    list(POP_FRONT todo file)
    if(file IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${file}")
    _difflut_quoted_includes("${file}" incs)
    foreach(inc IN LISTS incs)
      _difflut_resolve_include("${root}" "${file}" "${inc}" target)
      if(NOT target)
        message(FATAL_ERROR "difflut install: public header ${file} includes \"${inc}\", "
                            "which is not a file of the source tree")
      endif()
      list(APPEND todo "${target}")
    endforeach()
  endwhile()
  list(SORT seen)
  set(${out} "${seen}" PARENT_SCOPE)
endfunction()

# Writes the rewritten copies below `stage` (a build-tree folder) and installs them below
# `prefix`/include (recorded in install_manifest.txt like any installed file).
function(difflut_install_public_headers root stage prefix)
  difflut_public_headers("${root}" headers ${ARGN})
  file(REMOVE_RECURSE "${stage}")
  list(LENGTH headers count)
  foreach(file IN LISTS headers)
    _difflut_public_name("${root}" "${file}" name)
    file(READ "${file}" text)
    _difflut_quoted_includes("${file}" incs)
    list(REMOVE_DUPLICATES incs)
    foreach(inc IN LISTS incs)
      _difflut_resolve_include("${root}" "${file}" "${inc}" target)
      _difflut_public_name("${root}" "${target}" inc_name)
      string(REGEX REPLACE "(#[ \t]*include[ \t]*)\"${inc}\"" "\\1<${inc_name}>" text "${text}")
    endforeach()
    file(WRITE "${stage}/${name}" "${text}")
    get_filename_component(sub "${name}" DIRECTORY)
    file(INSTALL DESTINATION "${prefix}/include/${sub}" TYPE FILE FILES "${stage}/${name}")
  endforeach()
  message(STATUS "difflut: installed ${count} public headers (the umbrella headers' include closure)")
endfunction()
