# The installed-package test (ctest -L install): builds DiffLUT as the documented CPU-only package
# (DIFFLUT_CUDA=OFF, DIFFLUT_PORTABLE=ON, no apps/tests/benchmarks), installs it into a prefix
# under WORK, checks the installed tree, then builds tests/install/consumer against it (the README
# quick start extracted from README.md, a custom node, a train-and-export program), runs all three,
# and checks that the CPU-only binaries need neither libcublas nor libcudart.
#
#   cmake -DSOURCE=<repo> -DWORK=<scratch dir> [-DLAUNCHER=ccache] [-DMINIMAL=ON] -P run_install_test.cmake
cmake_minimum_required(VERSION 3.25)
foreach(v SOURCE WORK)
  if(NOT ${v})
    message(FATAL_ERROR "run_install_test.cmake: -D${v}= is required")
  endif()
endforeach()
set(lib_build "${WORK}/library")
set(prefix "${WORK}/prefix")
set(consumer_build "${WORK}/consumer")
file(REMOVE_RECURSE "${prefix}" "${consumer_build}")

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${step} failed (exit ${rc}):\n${out}")
  endif()
  message(STATUS "install test: ${step}: ok")
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

# ---- the package ---------------------------------------------------------------------------------
set(minimal OFF)  # the same optional libraries as the build running the test
if(MINIMAL)
  set(minimal ON)
endif()
set(launcher "")
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run("configure the CPU-only package" ${CMAKE_COMMAND} -S "${SOURCE}" -B "${lib_build}"
    -DCMAKE_BUILD_TYPE=Release -DDIFFLUT_CUDA=OFF -DDIFFLUT_PORTABLE=ON -DDIFFLUT_BUILD_APPS=OFF
    -DDIFFLUT_BUILD_TESTS=OFF -DDIFFLUT_BUILD_BENCH=OFF -DDIFFLUT_MINIMAL=${minimal} ${launcher})
run("build it" ${CMAKE_COMMAND} --build "${lib_build}" -j2)
run("install it" ${CMAKE_COMMAND} --install "${lib_build}" --prefix "${prefix}")

# ---- the installed tree --------------------------------------------------------------------------
file(GLOB_RECURSE headers LIST_DIRECTORIES false RELATIVE "${prefix}/include" "${prefix}/include/*")
list(LENGTH headers count)
foreach(h IN LISTS headers)
  if(NOT h MATCHES "^difflut/")
    message(FATAL_ERROR "install test: ${prefix}/include/${h} is reachable outside <difflut/...>")
  endif()
  file(STRINGS "${prefix}/include/${h}" quoted REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  if(quoted)
    message(FATAL_ERROR "install test: ${h} still has a quoted include: ${quoted}")
  endif()
endforeach()
foreach(h difflut/difflut.h difflut/hdl.h difflut/tensor/tensor.h)
  if(NOT h IN_LIST headers)
    message(FATAL_ERROR "install test: ${h} is not installed")
  endif()
endforeach()
# Kernel internals stay private (the umbrella headers do not reach them).
foreach(h IN LISTS headers)
  if(h MATCHES "_(cpu|cuda)\\.h$|/bitslice_kernels|/cuda_utils\\.h$|/cublas")
    message(FATAL_ERROR "install test: kernel internal ${h} was installed")
  endif()
endforeach()
file(READ "${prefix}/lib/cmake/difflut/difflutConfig.cmake" config)
if(config MATCHES "CUDAToolkit")
  message(FATAL_ERROR "install test: the CPU-only difflutConfig.cmake asks for the CUDA toolkit")
endif()
message(STATUS "install test: ${count} headers, all under <difflut/...>, none with a quoted include")

# ---- the consumer --------------------------------------------------------------------------------
# README.md's first ```cpp block, verbatim.
file(READ "${SOURCE}/README.md" readme)
string(FIND "${readme}" "```cpp\n" start)
if(start LESS 0)
  message(FATAL_ERROR "install test: README.md has no ```cpp block")
endif()
math(EXPR start "${start} + 7")
string(SUBSTRING "${readme}" ${start} -1 rest)
string(FIND "${rest}" "\n```" stop)
math(EXPR stop "${stop} + 1")
string(SUBSTRING "${rest}" 0 ${stop} quick_start)
file(MAKE_DIRECTORY "${consumer_build}")
file(WRITE "${consumer_build}/quick_start.cpp" "${quick_start}")

# Without nvcc on PATH: a CPU-only consumer must not need the CUDA toolkit to configure.
set(ENV{PATH} "/usr/bin:/bin")
set(ENV{CUDACXX} "")
run("configure the consumer" ${CMAKE_COMMAND} -S "${SOURCE}/tests/install/consumer"
    -B "${consumer_build}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}"
    "-DQUICK_START=${consumer_build}/quick_start.cpp" ${launcher})
run("build the consumer" ${CMAKE_COMMAND} --build "${consumer_build}" -j2)

run("run the README quick start" "${consumer_build}/quick_start")
message("${run_output}")
if(NOT run_output MATCHES "output f32\\[32, 128\\]")
  message(FATAL_ERROR "install test: the quick start printed no [32, 128] output:\n${run_output}")
endif()
run("run the custom node" "${consumer_build}/custom_node")
message("${run_output}")
run("run train and export" "${consumer_build}/train_export" "${WORK}/verilog")
message("${run_output}")

# ---- no CUDA libraries at run time -----------------------------------------------------------------
foreach(exe quick_start custom_node train_export)
  run("readelf ${exe}" readelf -d "${consumer_build}/${exe}")
  set(needed "${run_output}")
  run("ldd ${exe}" ldd "${consumer_build}/${exe}")
  if("${needed}${run_output}" MATCHES "libcublas|libcudart|libcuda\\.")
    message(FATAL_ERROR "install test: ${exe} needs a CUDA library:\n${needed}\n${run_output}")
  endif()
endforeach()
message(STATUS "install test: the consumer binaries need no CUDA library (readelf -d, ldd)")
