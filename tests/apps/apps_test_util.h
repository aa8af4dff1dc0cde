// Helpers for the apps suite: where the shipped configs are, writing and reading small files.
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/config/config_compose.h"
#include "tensor/error.h"
#include "test_util.h"

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

// The whole file as bytes ("" if it cannot be read).
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The non-empty lines of `text`.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// A program's exit status, standard output and standard error, kept apart.
struct RunOutput {
  int rc = -1;
  std::string out, err;
  std::string last_line() const {
    const auto l = lines_of(out);
    return l.empty() ? std::string() : l.back();
  }
};

// Runs `exe args` (args: shell words, already quoted where needed) with no standard input; the
// outputs go through files in a fresh temp_dir named after `tag`.
inline RunOutput run_program(const std::string& exe, const std::string& args,
                             const std::string& tag) {
  const std::string dir = temp_dir(tag);
  const std::string cmd =
      str_cat("'", exe, "' ", args, " >'", dir, "/out' 2>'", dir, "/err' </dev/null");
  const int status = std::system(cmd.c_str());
  RunOutput r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(dir + "/out");
  r.err = read_text(dir + "/err");
  return r;
}

}  // namespace difflut::test
