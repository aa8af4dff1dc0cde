// CSV reader (see csv.h).
#include "data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <string_view>

#include "data/file_io.h"

namespace difflut {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Splits one line on `delim` (no embedded delimiters inside quotes: numeric data does not need
// them, and a label with a comma is rejected as a ragged row).
void split(std::string_view line, char delim, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  for (;;) {
    const size_t pos = line.find(delim, start);
    if (pos == std::string_view::npos) {
      out.push_back(trim(line.substr(start)));
      return;
    }
    out.push_back(trim(line.substr(start, pos - start)));
    start = pos + 1;
  }
}

bool parse_double(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(v);
}

// A class index: a non-negative integer, also written as an integral float ("3.0", as pandas
// exports integer columns with missing values).
bool parse_label_index(std::string_view s, int64_t& v) {
  double d = 0;
  if (!parse_double(s, d) || !(d >= 0) || d >= 2147483648.0 || d != std::floor(d)) return false;
  v = static_cast<int64_t>(d);
  return true;
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}
}  // namespace

Dataset read_csv(const std::string& path, const CsvOptions& options) {
  const std::vector<uint8_t> bytes = read_file_maybe_gz(path);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark

  std::vector<std::string_view> fields;
  std::vector<std::string> header;
  int64_t ncols = -1;
  int64_t label_col = -1;
  int64_t ncols_line = 0;  // the line that fixed the column count
  std::vector<float> values;
  std::vector<std::string> label_text;
  std::vector<int64_t> label_line;

  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (blank(line)) continue;
    split(line, options.delimiter, fields);
    if (ncols < 0) {
      ncols = static_cast<int64_t>(fields.size());
      ncols_line = line_no;
      DIFFLUT_CHECK(ncols >= 2, path, ":", line_no, ": expected at least 2 columns (features and a "
                    "label) separated by '", options.delimiter, "', found ", ncols);
      if (!options.label_name.empty()) {
        DIFFLUT_CHECK(options.has_header, path, ": label column '", options.label_name,
                      "' given by name, but the file has no header row");
        auto it = std::find(fields.begin(), fields.end(), std::string_view(options.label_name));
        if (it == fields.end()) {
          std::string known;
          for (std::string_view f : fields) known += (known.empty() ? "" : ", ") + std::string(f);
          DIFFLUT_FAIL(path, ":", line_no, ": no column named '", options.label_name,
                       "' (columns: ", known, ")");
        }
        label_col = it - fields.begin();
      } else {
        label_col = options.label_column < 0 ? ncols + options.label_column : options.label_column;
        DIFFLUT_CHECK(label_col >= 0 && label_col < ncols, path, ": label column ",
                      options.label_column, " is outside the ", ncols, " columns of line ",
                      line_no);
      }
      if (options.has_header) {
        for (std::string_view f : fields) header.emplace_back(f);
        continue;
      }
    }
    DIFFLUT_CHECK(static_cast<int64_t>(fields.size()) == ncols, path, ":", line_no,
                  ": expected ", ncols, " fields (as in line ", ncols_line, "), found ",
                  fields.size(), " (ragged row)");
    for (int64_t c = 0; c < ncols; ++c) {
      if (c == label_col) continue;
      double v = 0;
      if (!parse_double(fields[c], v)) {
        DIFFLUT_FAIL(path, ":", line_no, ": column ", c + 1,
                     header.empty() ? "" : " ('" + header[c] + "')",
                     ": expected a finite number, found '", std::string(fields[c]), "'");
      }
      values.push_back(static_cast<float>(v));
    }
    label_text.emplace_back(fields[label_col]);
    label_line.push_back(line_no);
  }
  DIFFLUT_CHECK(!label_text.empty(), path, ": expected at least one data row, found none");

  const int64_t n = static_cast<int64_t>(label_text.size());
  Dataset ds;
  ds.name = path;
  ds.features = Tensor::from_vector(values, {n, ncols - 1});
  ds.labels = Tensor::empty({n}, DType::i64);
  int64_t* y = ds.labels.data<int64_t>();
  bool numeric = true;
  int64_t max_label = -1;
  for (int64_t i = 0; i < n && numeric; ++i) {
    numeric = parse_label_index(label_text[i], y[i]);
    if (numeric) max_label = std::max(max_label, y[i]);
  }
  if (numeric) {
    ds.num_classes = static_cast<int>(max_label + 1);
  } else {
    std::map<std::string, int64_t> classes;
    for (int64_t i = 0; i < n; ++i) {
      DIFFLUT_CHECK(!label_text[i].empty(), path, ":", label_line[i], ": column ", label_col + 1,
                    ": expected a label, found an empty field");
      classes.emplace(label_text[i], 0);
    }
    int64_t k = 0;
    for (auto& [name, index] : classes) {
      index = k++;
      ds.class_names.push_back(name);
    }
    for (int64_t i = 0; i < n; ++i) y[i] = classes.at(label_text[i]);
    ds.num_classes = static_cast<int>(classes.size());
  }
  return ds;
}

}  // namespace difflut
