# difflut_config_dependencies(<target> <out>): the find_dependency() lines difflutConfig.cmake needs
# for <target>, one per package whose imported targets <target> links publicly. Reading them off the
# target keeps the installed config in step with the link line: a CPU-only build asks for no CUDA
# toolkit, and a library linked only by the apps is never asked of a consumer.
function(difflut_config_dependencies target out)
  get_target_property(links ${target} INTERFACE_LINK_LIBRARIES)
  set(lines "")
  # package name <- pattern of the imported targets it provides
  foreach(entry "Threads=^Threads::" "CUDAToolkit=^CUDA::" "ZLIB=^ZLIB::" "yaml-cpp=^yaml-cpp"
                "nlohmann_json=^nlohmann_json::" "SQLite3=^SQLite::")
    string(REPLACE "=" ";" pair "${entry}")
    list(GET pair 0 package)
    list(GET pair 1 pattern)
    foreach(link IN LISTS links)
      if(link MATCHES "${pattern}")
        string(APPEND lines "find_dependency(${package})\n")
        break()
      endif()
    endforeach()
  endforeach()
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()
