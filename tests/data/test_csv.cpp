// CSV reader: features and labels by index or header name, string labels mapped to sorted
// indices, and errors that name the file, line and column.
#include "data/csv.h"
#include "data_files.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("csv: numeric features and an integer label column (last by default)") {
  const std::string dir = test::temp_dir("csv-good");
  test::write_text(dir + "/t.csv", "a,b,c,label\n1,2.5,-3,2\n\n4e-1, 5 ,6,0\r\n7,8,9,1\n");
  Dataset ds = read_csv(dir + "/t.csv");
  CHECK(ds.features.shape() == Shape{3, 3});
  CHECK(ds.features.dtype() == DType::f32);
  CHECK(ds.features.to_vector<float>() == std::vector<float>{1, 2.5f, -3, 0.4f, 5, 6, 7, 8, 9});
  CHECK(ds.labels.to_vector<int64_t>() == std::vector<int64_t>{2, 0, 1});
  CHECK(ds.num_classes == 3);
  CHECK(ds.class_names.empty());
  ds.validate();
  // features_f32 keeps float features as given (no 1/255 scaling).
  CHECK(ds.features_f32().to_vector<float>()[1] == 2.5f);
}

TEST_CASE("csv: label column by header name or index; no header row") {
  const std::string dir = test::temp_dir("csv-col");
  test::write_text(dir + "/h.csv", "class,x0,x1\n1,0.5,0.25\n0,1,2\n");
  CsvOptions by_name;
  by_name.label_name = "class";
  Dataset a = read_csv(dir + "/h.csv", by_name);
  CHECK(a.labels.to_vector<int64_t>() == std::vector<int64_t>{1, 0});
  CHECK(a.features.to_vector<float>() == std::vector<float>{0.5f, 0.25f, 1, 2});
  CsvOptions by_index;
  by_index.label_column = 0;
  test::check_equal(read_csv(dir + "/h.csv", by_index).features, a.features);
  test::write_text(dir + "/n.csv", "0.5;3;1\n1;4;0\n");
  CsvOptions no_header;
  no_header.has_header = false;
  no_header.delimiter = ';';
  no_header.label_column = 1;
  Dataset c = read_csv(dir + "/n.csv", no_header);
  CHECK(c.labels.to_vector<int64_t>() == std::vector<int64_t>{3, 4});
  CHECK(c.num_classes == 5);
  CHECK(c.features.to_vector<float>() == std::vector<float>{0.5f, 1, 1, 0});
}

TEST_CASE("csv: string labels map to indices in sorted order") {
  const std::string dir = test::temp_dir("csv-str");
  test::write_text(dir + "/s.csv", "x,y\n1,\"w\"\n2,t\n3,z\n4,t\n5,g\n");
  Dataset ds = read_csv(dir + "/s.csv");
  CHECK(ds.class_names == std::vector<std::string>{"g", "t", "w", "z"});
  CHECK(ds.labels.to_vector<int64_t>() == std::vector<int64_t>{2, 1, 3, 1, 0});
  CHECK(ds.num_classes == 4);
  // Integral floats are class indices, as pandas writes integer columns.
  test::write_text(dir + "/f.csv", "x,y\n1,2.0\n2,0.0\n");
  CHECK(read_csv(dir + "/f.csv").labels.to_vector<int64_t>() == std::vector<int64_t>{2, 0});
}

TEST_CASE("csv: a non-numeric field names file, line, column and the header name") {
  const std::string dir = test::temp_dir("csv-bad");
  test::write_text(dir + "/b.csv", "a,b,label\n1,2,0\n3,abc,1\n");
  CHECK_THROWS_WITH_AS(read_csv(dir + "/b.csv"),
                       test::has("b.csv:3: column 2 ('b'): expected a finite number, "
                                 "found 'abc'"),
                       Error);
  test::write_text(dir + "/e.csv", "1,,0\n");
  CsvOptions no_header;
  no_header.has_header = false;
  CHECK_THROWS_WITH_AS(read_csv(dir + "/e.csv", no_header),
                       test::has("e.csv:1: column 2: expected a finite number, found ''"), Error);
  test::write_text(dir + "/nan.csv", "a,l\nnan,0\n");
  CHECK_THROWS_WITH_AS(read_csv(dir + "/nan.csv"), test::has("found 'nan'"), Error);
}

TEST_CASE("csv: ragged rows, unknown label columns and empty files are errors") {
  const std::string dir = test::temp_dir("csv-ragged");
  test::write_text(dir + "/r.csv", "a,b,label\n1,2,0\n\n3,1\n");
  CHECK_THROWS_WITH_AS(read_csv(dir + "/r.csv"),
                       test::has("r.csv:4: expected 3 fields (as in line 1), found 2"), Error);
  CsvOptions named;
  named.label_name = "target";
  CHECK_THROWS_WITH_AS(read_csv(dir + "/r.csv", named),
                       test::has("no column named 'target' (columns: a, b, label)"), Error);
  CsvOptions far;
  far.label_column = 7;
  CHECK_THROWS_WITH_AS(read_csv(dir + "/r.csv", far),
                       test::has("label column 7 is outside the 3 columns"), Error);
  test::write_text(dir + "/h.csv", "a,b\n");
  CHECK_THROWS_WITH_AS(read_csv(dir + "/h.csv"),
                       test::has("h.csv: expected at least one data row, found none"), Error);
  test::write_text(dir + "/l.csv", "a,b\n1,x\n2,\n");
  CHECK_THROWS_WITH_AS(read_csv(dir + "/l.csv"),
                       test::has("l.csv:3: column 2: expected a label, found an empty "
                                 "field"),
                       Error);
}
