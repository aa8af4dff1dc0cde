// safetensors: round trips, a fixture assembled byte by byte from the format spec, exact writer
// output, corrupt inputs with clear errors, atomic writes, module parameter files, and the
// opt-in content checksum that refuses a file with any changed data or metadata byte.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "autograd/io/mini_json.h"
#include "autograd/io/safetensors.h"
#include "autograd/nn/module.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
namespace fs = std::filesystem;

namespace {

std::string bytes_of(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += static_cast<char>(b);
  return s;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A header with an 8-byte little-endian length prefix and no data section yet.
std::string with_length(const std::string& header) {
  std::string s;
  for (int b = 0; b < 8; ++b) s += static_cast<char>((header.size() >> (8 * b)) & 0xFF);
  return s + header;
}

std::string error_of(const std::string& image) {
  try {
    parse_safetensors(image, "fixture.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("round trip of every dtype, empty and 0-d tensors, and metadata") {
  const std::string dir = test::temp_dir("st-roundtrip");
  Generator gen(1);
  NamedTensors in = {
      {"f32", Tensor::randn({3, 4}, gen)},
      {"f64", Tensor::randn({2, 1, 3}, gen, DType::f64)},
      {"i32", Tensor::from_vector<int32_t>({-1, 0, 2147483647, -2147483647 - 1}, {2, 2})},
      {"i64", Tensor::from_vector<int64_t>({INT64_MIN, 5, INT64_MAX}, {3})},
      {"u8", Tensor::from_vector<uint8_t>({0, 1, 128, 255, 7}, {5})},
      {"empty", Tensor::zeros({0, 3})},
      {"scalar", Tensor::full({}, 2.5, DType::f64)},
      {"name with \"quotes\" and \\ and \xc3\xa9", Tensor::ones({1})},
  };
  Metadata meta = {{"format", "pt"}, {"note", "line\nbreak \"quoted\""}};
  save_safetensors(dir + "/a.safetensors", in, meta);
  SafetensorsContents out = load_safetensors(dir + "/a.safetensors");
  CHECK(out.metadata == meta);
  REQUIRE(out.tensors.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO(in[i].first);
    CHECK(out.tensors[i].first == in[i].first);  // data order = the order written
    test::check_equal(out.tensors[i].second, in[i].second);
  }
  // The data section starts 8-byte aligned.
  const std::string raw = read_file(dir + "/a.safetensors");
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(raw[static_cast<size_t>(b)])) << (8 * b);
  CHECK((8 + n) % 8 == 0);
}

TEST_CASE("a file assembled byte by byte from the spec reads back exact values") {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("n":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}})";
  REQUIRE(header.size() == 139);
  std::string file = bytes_of({0x8B, 0, 0, 0, 0, 0, 0, 0});  // 139, little-endian u64
  file += header;
  file += bytes_of({0x00, 0x00, 0xC0, 0x3F});  // 1.5f
  file += bytes_of({0x00, 0x00, 0x00, 0xC0});  // -2.0f
  file += bytes_of({0xF9, 0xFF, 0xFF, 0xFF});  // int32 -7
  const std::string dir = test::temp_dir("st-fixture");
  write_file(dir + "/f.safetensors", file);
  SafetensorsContents c = load_safetensors(dir + "/f.safetensors");
  CHECK(c.metadata == Metadata{{"format", "pt"}});
  REQUIRE(c.tensors.size() == 2);
  CHECK(c.tensors[0].first == "w");
  CHECK(c.tensors[0].second.shape() == Shape{2});
  CHECK(c.tensors[0].second.to_vector<float>() == std::vector<float>{1.5f, -2.0f});
  CHECK(c.tensors[1].first == "n");
  CHECK(c.tensors[1].second.to_vector<int32_t>() == std::vector<int32_t>{-7});
}

TEST_CASE("the writer emits exactly the bytes the spec prescribes, header padded with spaces") {
  const std::string got = serialize_safetensors({{"x", Tensor::full({1}, 1.0)}});
  std::string expected = bytes_of({0x38, 0, 0, 0, 0, 0, 0, 0});  // 56 = 54 + 2 spaces
  expected += R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expected += "  ";
  expected += bytes_of({0x00, 0x00, 0x80, 0x3F});  // 1.0f
  CHECK(got == expected);
}

TEST_CASE("corrupt files fail with errors naming the file and what was expected") {
  const std::string good = serialize_safetensors({{"a", Tensor::full({2}, 1.0)}});
  SUBCASE("shorter than the length prefix") {
    CHECK(error_of(good.substr(0, 5)).find("expected at least 8") != std::string::npos);
    CHECK(error_of(good.substr(0, 5)).find("fixture.safetensors") != std::string::npos);
  }
  SUBCASE("truncated data section") {
    const std::string e = error_of(good.substr(0, good.size() - 3));
    CHECK(e.find("out of range") != std::string::npos);
    CHECK(e.find("\"a\"") != std::string::npos);
  }
  SUBCASE("header length past the end of the file") {
    std::string bad = good;
    bad[1] = 0x10;  // +4096
    const std::string e = error_of(bad);
    CHECK(e.find("runs past the end") != std::string::npos);
    CHECK(e.find(std::to_string(good.size())) != std::string::npos);
  }
  SUBCASE("bad JSON") {
    const std::string e = error_of(with_length(R"({"a":{"dtype":"F32",,}})"));
    CHECK(e.find("invalid JSON at byte 20") != std::string::npos);
    CHECK(error_of(with_length(R"({"a":1} x)")).find("end of JSON") != std::string::npos);
    CHECK(error_of(with_length(R"({"a":"unterminated)")).find("closing") != std::string::npos);
    CHECK(error_of(with_length(R"({"a":{},"a":{}})")).find("duplicate") != std::string::npos);
    CHECK(error_of(with_length("[1,2]")).find("start with '{'") != std::string::npos);
  }
  SUBCASE("offsets out of range, overlapping, with gaps, or not matching the shape") {
    auto img = [](const std::string& entries, size_t data_bytes) {
      return with_length(entries) + std::string(data_bytes, '\0');
    };
    CHECK(error_of(img(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8))
              .find("out of range") != std::string::npos);
    CHECK(error_of(img(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                       8))
              .find("overlap") != std::string::npos);
    CHECK(
        error_of(img(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)).find("gap") !=
        std::string::npos);
    CHECK(error_of(img(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8))
              .find("trailing") != std::string::npos);
    const std::string e =
        error_of(img(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
    CHECK(e.find("needs 3 x 4 bytes") != std::string::npos);
    CHECK(error_of(img(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0))
              .find("non-negative") != std::string::npos);
    CHECK(error_of(img(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4))
              .find("[begin, end]") != std::string::npos);
  }
  SUBCASE("unknown and unsupported dtypes") {
    const std::string e =
        error_of(with_length(R"({"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}})") + "x");
    CHECK(e.find("unknown dtype \"Q7\"") != std::string::npos);
    CHECK(e.find("F32, F64, I32, I64, U8") != std::string::npos);
    CHECK(error_of(with_length(R"({"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})") + "xx")
              .find("unsupported dtype") != std::string::npos);
  }
  SUBCASE("missing keys and non-string metadata") {
    CHECK(error_of(with_length(R"({"a":{"dtype":"F32","shape":[0]}})")).find("data_offsets") !=
          std::string::npos);
    CHECK(error_of(with_length(R"({"__metadata__":{"k":1}})")).find("metadata \"k\"") !=
          std::string::npos);
  }
  CHECK_THROWS_WITH_AS(load_safetensors("/nonexistent/x.safetensors"),
                       doctest::Contains("/nonexistent/x.safetensors"), Error);
}

TEST_CASE("the JSON reader decodes escapes and numbers per RFC 8259") {
  json::Value v = json::parse(
      R"( {"s":"a\"b\\c\/\n\u00e9\ud83d\ude00","n":[0,12,-3,1.5e3],"t":true,"z":null} )", "test");
  REQUIRE(v.is_object());
  CHECK(v.find("s")->text == "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80");
  uint64_t x = 0;
  CHECK(v.find("n")->items[1].as_uint64(x));
  CHECK(x == 12);
  CHECK_FALSE(v.find("n")->items[2].as_uint64(x));
  CHECK_FALSE(v.find("n")->items[3].as_uint64(x));
  CHECK(v.find("t")->boolean);
  CHECK(v.find("z")->kind == json::Value::Kind::null);
  CHECK_THROWS_AS(json::parse("01", "test"), Error);
  CHECK_THROWS_AS(json::parse("\"\\ud800\"", "test"), Error);
  CHECK_THROWS_AS(json::parse(std::string(100, '['), "test"), Error);
  std::string out;
  json::write_string(out, std::string("a\"\\\x01"));
  CHECK(out == "\"a\\\"\\\\\\u0001\"");
}

TEST_CASE("writes are atomic: the target is replaced and no temp file is left") {
  const std::string dir = test::temp_dir("st-atomic");
  const std::string path = dir + "/m.safetensors";
  save_safetensors(path, {{"a", Tensor::full({2}, 1.0)}});
  save_safetensors(path, {{"b", Tensor::full({3}, 2.0)}});
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    CHECK(e.path().filename() == "m.safetensors");
  }
  CHECK(files == 1);
  SafetensorsContents c = load_safetensors(path);
  REQUIRE(c.tensors.size() == 1);
  CHECK(c.tensors[0].first == "b");
  // A failed write (unwritable directory) leaves nothing behind and names the path.
  CHECK_THROWS_WITH_AS(save_safetensors(dir + "/no/such/dir/x.safetensors", {}),
                       doctest::Contains("no/such/dir"), Error);
  CHECK_THROWS_AS(save_safetensors(path, {{"a", Tensor::zeros({1})}, {"a", Tensor::zeros({1})}}),
                  Error);
}

namespace {
struct Net : Module {
  explicit Net(int64_t hidden) {
    auto l1 = std::make_shared<Module>();
    l1->register_parameter("weight", Tensor::full({3, hidden}, 0.5));
    l1->register_parameter("bias", Tensor::full({hidden}, -1.0));
    register_module("layer1", l1);
    register_parameter("table", Tensor::from_vector<int32_t>({1, 2, 3}, {3}));
  }
};
}  // namespace

TEST_CASE("save_parameters / load_parameters round trip by dotted name") {
  const std::string dir = test::temp_dir("st-params");
  Net a(4);
  a.parameter("layer1.weight").value.fill_(0.25);
  save_parameters(a, dir + "/p.safetensors", {{"epoch", "3"}});
  SafetensorsContents raw = load_safetensors(dir + "/p.safetensors");
  CHECK(find_tensor(raw.tensors, "layer1.weight") != nullptr);
  CHECK(find_tensor(raw.tensors, "layer1.bias") != nullptr);
  Net b(4);
  b.flatten();  // loading writes into the flat buffer views
  Metadata meta = load_parameters(b, dir + "/p.safetensors");
  CHECK(meta.at("epoch") == "3");
  test::check_equal(b.parameter("layer1.weight").value, a.parameter("layer1.weight").value);
  CHECK(b.flat_buffer()->is_bound(b.parameter("layer1.weight")));
}

TEST_CASE("load_parameters reports shape mismatches and missing or unknown names") {
  const std::string dir = test::temp_dir("st-params-bad");
  Net a(4);
  save_parameters(a, dir + "/p.safetensors");
  Net wide(5);
  const float before = wide.parameter("layer1.bias").value.to_vector<float>()[0];
  try {
    load_parameters(wide, dir + "/p.safetensors");
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("layer1.weight") != std::string::npos);
    CHECK(m.find("[3, 5]") != std::string::npos);
    CHECK(m.find("[3, 4]") != std::string::npos);
  }
  CHECK(wide.parameter("layer1.bias").value.to_vector<float>()[0] == before);  // nothing written

  save_safetensors(dir + "/q.safetensors", {{"layer1.weight", Tensor::zeros({3, 4})},
                                            {"layer1.bias", Tensor::zeros({4})},
                                            {"extra", Tensor::zeros({1})}});
  try {
    load_parameters(a, dir + "/q.safetensors");
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("missing from the file: 'table'") != std::string::npos);
    CHECK(m.find("'extra'") != std::string::npos);
  }
}

TEST_CASE("a 'checksum' metadata entry makes the writer stamp and the reader verify the content") {
  Generator g(3);
  const NamedTensors t = {{"w", Tensor::randn({4, 5}, g)}, {"i", Tensor::full({3}, 7.0)}};
  const std::string image = serialize_safetensors(t, {{"format", "x"}, {kChecksumKey, ""}});
  const SafetensorsContents c = parse_safetensors(image, "fixture.safetensors");
  CHECK(c.metadata.at(kChecksumKey) == safetensors_checksum(c.tensors, c.metadata));
  CHECK(c.metadata.at(kChecksumKey).size() == 16);
  uint64_t n = 0;
  std::memcpy(&n, image.data(), 8);
  // Every byte of the data section, and a byte of a metadata value ("x").
  std::vector<size_t> offsets;
  for (size_t i = 8 + n; i < image.size(); ++i) offsets.push_back(i);
  offsets.push_back(image.find("\"x\"") + 1);
  for (size_t at : offsets) {
    CAPTURE(at);
    std::string bad = image;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    const std::string e = error_of(bad);
    CHECK(e.find("fixture.safetensors: expected checksum ") != std::string::npos);
    CHECK(e.find("the file is damaged") != std::string::npos);
  }
  // Without the entry nothing is stamped or checked (files of other writers, older files).
  const std::string plain = serialize_safetensors(t, {{"format", "x"}});
  std::string changed = plain;
  changed[changed.size() - 1] = static_cast<char>(changed.back() ^ 0x10);
  CHECK(parse_safetensors(changed, "plain").metadata.count(kChecksumKey) == 0);
  // Tensor order is part of the content.
  const NamedTensors swapped = {t[1], t[0]};
  CHECK(safetensors_checksum(swapped, {}) != safetensors_checksum(t, {}));
}
