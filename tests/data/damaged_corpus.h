// Damaged-input corpus for the dataset readers: each case is a set of files written into a fresh
// folder, the reader call to run on it and the exact error message expected. run_case() checks
// that the reader throws difflut::Error (not another exception, not a crash, not a result) with
// that message, and that no file in the folder was created, changed or removed.
#pragma once
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data_files.h"
#include "test_util.h"

namespace difflut::test {

struct CorpusFile {
  std::string rel;  // path inside the case folder; "dir/" suffix makes an empty folder
  std::vector<uint8_t> bytes;
};

struct DamagedCase {
  std::string name;  // what is damaged
  std::vector<CorpusFile> files;
  std::function<void(const std::string& dir)> read;  // the reader call
  // The whole message. "{dir}" stands for the case folder, "{n}" for any decimal number (for
  // counts that depend on zlib's progress, not on the input's damage).
  std::string expected;
};

inline std::vector<uint8_t> bytes_of(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// True when `msg` equals `pattern` with each "{n}" matching one run of digits.
inline bool matches_pattern(const std::string& msg, const std::string& pattern) {
  size_t m = 0, p = 0;
  while (p < pattern.size()) {
    if (pattern.compare(p, 3, "{n}") == 0) {
      const size_t start = m;
      while (m < msg.size() && msg[m] >= '0' && msg[m] <= '9') ++m;
      if (m == start) return false;
      p += 3;
      continue;
    }
    if (m >= msg.size() || msg[m] != pattern[p]) return false;
    ++m;
    ++p;
  }
  return m == msg.size();
}

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// Every entry under `dir`: relative path -> contents (folders map to "<dir>"), plus size and
// modification time, so a rewrite with the same bytes is seen too.
inline std::map<std::string, std::string> snapshot(const std::string& dir) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> out;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    struct stat st {};
    ::stat(e.path().c_str(), &st);
    std::string key = std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                      ":" + std::to_string(st.st_size) + ":";
    if (e.is_directory()) {
      out[rel] = key + "<dir>";
    } else {
      std::ifstream in(e.path(), std::ios::binary);
      out[rel] = key + std::string(std::istreambuf_iterator<char>(in), {});
    }
  }
  return out;
}

inline void write_case_files(const std::string& dir, const std::vector<CorpusFile>& files) {
  namespace fs = std::filesystem;
  for (const CorpusFile& f : files) {
    const fs::path p = fs::path(dir) / f.rel;
    if (!f.rel.empty() && f.rel.back() == '/') {
      fs::create_directories(p);
      continue;
    }
    fs::create_directories(p.parent_path());
    write_bytes(p.string(), f.bytes);
  }
}

// Runs one case in a fresh folder; returns the message it got (for the caller's own checks).
inline std::string run_case(const DamagedCase& c) {
  std::string tag = "corpus";
  for (char ch : c.name) tag += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '-';
  const std::string dir = temp_dir(tag.substr(0, 60));
  write_case_files(dir, c.files);
  const auto before = snapshot(dir);
  std::string msg;
  bool difflut_error = false;
  try {
    c.read(dir);
    msg = "(no error: the damaged input was accepted)";
  } catch (const Error& e) {
    difflut_error = true;
    msg = e.what();
  } catch (const std::exception& e) {
    msg = std::string("(wrong exception class: ") + e.what() + ")";
  }
  INFO("case: " << c.name);
  CHECK_MESSAGE(difflut_error, msg);
  const std::string expected = replace_all(c.expected, "{dir}", dir);
  CHECK_MESSAGE(matches_pattern(msg, expected), "expected: " << expected << "\n   found: " << msg);
  CHECK_MESSAGE(snapshot(dir) == before, "files in " << dir << " changed");
  return msg;
}

}  // namespace difflut::test
