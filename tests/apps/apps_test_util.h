// Helpers for the apps suite: where the shipped configs are, writing small files.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/config_compose.h"

namespace difflut::test {

// The repository's configs/: $DIFFLUT_SOURCE_DIR/configs under CTest, else found upward from the
// test executable (the same search difflut-train does).
inline std::string shipped_config_dir() {
  if (const char* src = std::getenv("DIFFLUT_SOURCE_DIR"); src && *src)
    return (std::filesystem::path(src) / "configs").string();
  return app::resolve_config_dir(std::nullopt);
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

}  // namespace difflut::test
