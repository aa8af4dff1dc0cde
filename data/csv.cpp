// CSV reader (see csv.h).
#include "data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>

#include "data/file_io.h"

namespace difflut {

namespace {
// A field as it goes into an error message: control bytes escaped (\xNN) so the message stays
// one printable line, and long fields shortened.
std::string printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 60; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      static const char* kHex = "0123456789ABCDEF";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 60) out += "...";
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Splits one line on `delim` into fields, RFC 4180 style within the line: a field may be wrapped
// in double quotes (then it may hold the delimiter, and "" stands for one quote); spaces around a
// field are dropped. A quoted field must close on the same line and be followed only by the
// delimiter; a quote inside an unquoted field is an error. Those rules are what keeps a damaged
// file (an unclosed quote swallowing the rest of the line) from parsing into plausible fields.
void split(std::string_view line, char delim, const std::string& path, int64_t line_no,
           std::vector<std::string>& out) {
  out.clear();
  size_t i = 0;
  for (;;) {
    const size_t column = out.size() + 1;
    while (i < line.size() && line[i] != delim && is_space(line[i])) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      const size_t open = i++;
      for (;;) {
        DIFFLUT_CHECK(i < line.size(), path, ":", line_no, ": column ", column,
                      ": unclosed quote (the field opened at character ", open + 1,
                      " has no closing '\"' on this line)");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      while (i < line.size() && line[i] != delim && is_space(line[i])) ++i;
      DIFFLUT_CHECK(i == line.size() || line[i] == delim, path, ":", line_no, ": column ", column,
                    ": expected '", delim,
                    "' or the end of the line after the closing quote, "
                    "found '",
                    printable(line.substr(i, 1)), "'");
    } else {
      const size_t start = i;
      while (i < line.size() && line[i] != delim) ++i;
      std::string_view raw = line.substr(start, i - start);
      while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
      DIFFLUT_CHECK(raw.find('"') == std::string_view::npos, path, ":", line_no, ": column ",
                    column, ": stray '\"' inside the unquoted field '", printable(raw),
                    "' (quote the whole field and double inner quotes)");
      field = std::string(raw);
    }
    out.push_back(std::move(field));
    if (i == line.size()) return;
    ++i;  // the delimiter
  }
}

bool parse_double(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(v);
}

// A class index: a non-negative integer, also written as an integral float ("3.0", as pandas
// exports integer columns with missing values). Values too large for int64 are clamped: they are
// refused by the class-count bound anyway, with the row's own text in the message.
bool parse_label_index(std::string_view s, int64_t& v) {
  double d = 0;
  if (!parse_double(s, d) || !(d >= 0) || d != std::floor(d)) return false;
  v = d >= 9.0e18 ? int64_t{9000000000000000000} : static_cast<int64_t>(d);
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

  std::vector<std::string> fields;
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
    split(line, options.delimiter, path, line_no, fields);
    if (ncols < 0) {
      ncols = static_cast<int64_t>(fields.size());
      ncols_line = line_no;
      DIFFLUT_CHECK(ncols >= 2, path, ":", line_no,
                    ": expected at least 2 columns (features and a "
                    "label) separated by '",
                    options.delimiter, "', found ", ncols);
      if (!options.label_name.empty()) {
        DIFFLUT_CHECK(options.has_header, path, ": label column '", options.label_name,
                      "' given by name, but the file has no header row");
        auto it = std::find(fields.begin(), fields.end(), options.label_name);
        if (it == fields.end()) {
          std::string known;
          for (const std::string& f : fields) known += (known.empty() ? "" : ", ") + printable(f);
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
        header = fields;
        continue;
      }
    }
    DIFFLUT_CHECK(static_cast<int64_t>(fields.size()) == ncols, path, ":", line_no, ": expected ",
                  ncols, " fields (as in line ", ncols_line, "), found ", fields.size(),
                  " (ragged row)");
    for (int64_t c = 0; c < ncols; ++c) {
      if (c == label_col) continue;
      double v = 0;
      if (!parse_double(fields[c], v)) {
        DIFFLUT_FAIL(path, ":", line_no, ": column ", c + 1,
                     header.empty() ? "" : " ('" + printable(header[c]) + "')",
                     ": expected a finite number, found '", printable(fields[c]), "'");
      }
      // Features are stored as f32: a finite double beyond its range would become infinity.
      DIFFLUT_CHECK(std::fabs(v) <= std::numeric_limits<float>::max(), path, ":", line_no,
                    ": column ", c + 1, header.empty() ? "" : " ('" + printable(header[c]) + "')",
                    ": expected a number within the 32-bit float range (|x| <= 3.4e38), found '",
                    printable(fields[c]), "'");
      values.push_back(static_cast<float>(v));
    }
    label_text.push_back(std::move(fields[label_col]));
    label_line.push_back(line_no);
  }
  DIFFLUT_CHECK(!label_text.empty(), path, ": expected at least one data row, found none");

  const int64_t n = static_cast<int64_t>(label_text.size());
  Dataset ds;
  ds.name = path;
  ds.features = Tensor::from_vector(values, {n, ncols - 1});
  ds.labels = Tensor::empty({n}, DType::i64);
  int64_t* y = ds.labels.data<int64_t>();
  DIFFLUT_CHECK(options.max_classes > 0 && options.max_classes <= INT32_MAX, path,
                ": expected CsvOptions::max_classes in 1..", INT32_MAX, ", found ",
                options.max_classes);
  bool numeric = true;
  int64_t max_label = -1;
  for (int64_t i = 0; i < n && numeric; ++i) {
    numeric = parse_label_index(label_text[i], y[i]);
    if (numeric) max_label = std::max(max_label, y[i]);
  }
  if (numeric && max_label >= options.max_classes) {
    // The model gets one output per class up to the largest label: a stray large value (an id or
    // a measurement in the label column) would silently build a model with that many classes.
    const int64_t row =
        std::find_if(y, y + n, [&](int64_t v) { return v >= options.max_classes; }) - y;
    DIFFLUT_FAIL(path, ":", label_line[row], ": column ", label_col + 1,
                 ": expected a class index "
                 "below ",
                 options.max_classes, ", found label ", printable(label_text[row]),
                 " (CsvOptions::max_classes; is this the label column?)");
  }
  if (numeric) {
    ds.num_classes = static_cast<int>(max_label + 1);
  } else {
    std::map<std::string, int64_t> classes;
    for (int64_t i = 0; i < n; ++i) {
      DIFFLUT_CHECK(!label_text[i].empty(), path, ":", label_line[i], ": column ", label_col + 1,
                    ": expected a label, found an empty field");
      // Same bound for class names: a column of distinct values is not a label column.
      if (classes.emplace(label_text[i], 0).second &&
          static_cast<int64_t>(classes.size()) > options.max_classes) {
        DIFFLUT_FAIL(path, ":", label_line[i], ": column ", label_col + 1, ": label '",
                     printable(label_text[i]), "' is distinct label number ", classes.size(),
                     ", expected at most ", options.max_classes,
                     " classes (CsvOptions::max_classes; is this the label column?)");
      }
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
