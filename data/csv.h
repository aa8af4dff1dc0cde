// CSV reader for tabular classification data: numeric feature columns plus one label column.
#pragma once
#include <string>

#include "data/dataset.h"

namespace difflut {

struct CsvOptions {
  bool has_header = true;  // first line names the columns
  int label_column = -1;   // column index of the label; negative counts from the end
  std::string label_name;  // header name of the label column; overrides label_column
  char delimiter = ',';
  // Labels must make at most this many classes: a numeric label >= max_classes, or more distinct
  // label strings, is an error naming the row (a label column holding ids or measurements would
  // otherwise build a model with millions of outputs).
  int64_t max_classes = 10000;
};

// Reads `path` (gunzipped when gzip and zlib is built in) into f32 features [N, F] (every column
// but the label, in file order) and i64 labels. Labels that are all non-negative integers are used
// as given (num_classes = max + 1); otherwise each distinct label string becomes a class, indexed
// in sorted order (class_names holds them); either way at most options.max_classes classes.
// Blank lines are skipped; fields may be wrapped in double quotes (RFC 4180 within one line: the
// delimiter may appear inside, "" is a quote; a quoted field cannot span lines). Errors name the
// file, line and column: non-numeric or empty feature fields, ragged rows, unclosed or stray
// quotes, an unknown label column, too many classes.
Dataset read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace difflut
