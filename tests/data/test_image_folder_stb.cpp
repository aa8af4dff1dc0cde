// Image-folder reader on PNG/BMP/JPEG files written here with stb_image_write: labels from sorted
// class folders, exact pixels for lossless formats, channel conversion, and the errors for corrupt
// files and mismatched sizes.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#if __has_include(<stb/stb_image_write.h>)
#include <stb/stb_image_write.h>
#else
#include <stb_image_write.h>
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <cmath>
#include <filesystem>

#include "data/image_folder.h"
#include "data_files.h"
#include "test_util.h"

using namespace difflut;
namespace fs = std::filesystem;

namespace {
// w x h x c interleaved pixels: value = seed + 3 * pixel + 50 * channel (mod 256).
std::vector<uint8_t> pixels(int w, int h, int c, int seed) {
  std::vector<uint8_t> v(static_cast<size_t>(w * h * c));
  for (int p = 0; p < w * h; ++p) {
    for (int ch = 0; ch < c; ++ch) v[p * c + ch] = static_cast<uint8_t>(seed + 3 * p + 50 * ch);
  }
  return v;
}

void png(const std::string& path, int w, int h, int c, int seed) {
  REQUIRE(stbi_write_png(path.c_str(), w, h, c, pixels(w, h, c, seed).data(), w * c) != 0);
}
void bmp(const std::string& path, int w, int h, int c, int seed) {
  REQUIRE(stbi_write_bmp(path.c_str(), w, h, c, pixels(w, h, c, seed).data()) != 0);
}
void jpg(const std::string& path, int w, int h, int c, const std::vector<uint8_t>& px) {
  REQUIRE(stbi_write_jpg(path.c_str(), w, h, c, px.data(), 100) != 0);
}

// Interleaved HWC -> planar CHW, the layout the reader returns.
std::vector<uint8_t> planar(const std::vector<uint8_t>& hwc, int w, int h, int c) {
  std::vector<uint8_t> out(hwc.size());
  for (int p = 0; p < w * h; ++p) {
    for (int ch = 0; ch < c; ++ch) out[ch * w * h + p] = hwc[p * c + ch];
  }
  return out;
}
}  // namespace

TEST_CASE("image folder: classes in name order, files in name order, lossless pixels exact") {
  const std::string root = test::temp_dir("imgf-basic");
  for (const char* cls : {"zebra", "ant", "mole"}) fs::create_directories(root + "/" + cls);
  png(root + "/zebra/b.png", 4, 3, 3, 1);
  bmp(root + "/zebra/a.BMP", 4, 3, 3, 2);  // extensions match case-insensitively
  png(root + "/ant/x.png", 4, 3, 3, 3);
  bmp(root + "/mole/m.bmp", 4, 3, 3, 4);
  test::write_text(root + "/mole/notes.txt", "not an image");  // ignored
  Dataset ds = read_image_folder(root);
  CHECK(ds.class_names == std::vector<std::string>{"ant", "mole", "zebra"});
  CHECK(ds.num_classes == 3);
  CHECK(ds.features.shape() == Shape{4, 3, 3, 4});  // [N, C, H, W]
  CHECK(ds.labels.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 2});
  const std::vector<uint8_t> x = ds.features.to_vector<uint8_t>();
  const int seeds[] = {3, 4, 2, 1};  // ant/x, mole/m, zebra/a, zebra/b
  for (int i = 0; i < 4; ++i) {
    const std::vector<uint8_t> want = planar(pixels(4, 3, 3, seeds[i]), 4, 3, 3);
    CHECK(std::vector<uint8_t>(x.begin() + i * 36, x.begin() + (i + 1) * 36) == want);
  }
  ds.validate();
}

TEST_CASE("image folder: JPEG decodes close to the source; gray conversion of gray is exact") {
  const std::string root = test::temp_dir("imgf-jpeg");
  fs::create_directories(root + "/c0");
  fs::create_directories(root + "/c1");
  // Smooth gray RGB content so quality-100 JPEG stays within a few levels.
  std::vector<uint8_t> px(16 * 16 * 3);
  for (int p = 0; p < 256; ++p) {
    for (int ch = 0; ch < 3; ++ch) px[p * 3 + ch] = static_cast<uint8_t>(60 + (p % 16) * 4);
  }
  jpg(root + "/c0/a.jpg", 16, 16, 3, px);
  jpg(root + "/c1/b.jpeg", 16, 16, 3, px);
  Dataset rgb = read_image_folder(root);
  CHECK(rgb.features.shape() == Shape{2, 3, 16, 16});
  const std::vector<uint8_t> x = rgb.features.to_vector<uint8_t>();
  const std::vector<uint8_t> want = planar(px, 16, 16, 3);
  int worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(x[i] - want[i]));
  CHECK(worst <= 4);
  // Lossless gray source: PNG with r = g = b converts to exactly that gray level.
  const std::string groot = test::temp_dir("imgf-gray");
  fs::create_directories(groot + "/only");
  std::vector<uint8_t> gray_rgb(5 * 2 * 3);
  for (int p = 0; p < 10; ++p) {
    for (int ch = 0; ch < 3; ++ch) gray_rgb[p * 3 + ch] = static_cast<uint8_t>(p * 25);
  }
  REQUIRE(stbi_write_png((groot + "/only/g.png").c_str(), 5, 2, 3, gray_rgb.data(), 15) != 0);
  Dataset g = read_image_folder(groot, {ImageColor::gray});
  CHECK(g.features.shape() == Shape{1, 1, 2, 5});
  std::vector<uint8_t> levels;
  for (int p = 0; p < 10; ++p) levels.push_back(static_cast<uint8_t>(p * 25));
  CHECK(g.features.to_vector<uint8_t>() == levels);
}

TEST_CASE("image folder: mixed channel counts fail by default and convert on request") {
  const std::string root = test::temp_dir("imgf-channels");
  fs::create_directories(root + "/a");
  png(root + "/a/1.png", 3, 3, 1, 9);
  png(root + "/a/2.png", 3, 3, 3, 9);
  CHECK_THROWS_WITH_AS(read_image_folder(root),
                       test::has(root +
                                 "/a/2.png: image is 3x3x3 (width x height x "
                                 "channels), expected 3x3x1 as in " +
                                 root + "/a/1.png"),
                       Error);
  CHECK_THROWS_WITH_AS(read_image_folder(root), test::has("ImageColor::rgb"), Error);
  Dataset ds = read_image_folder(root, {ImageColor::rgb});
  CHECK(ds.features.shape() == Shape{2, 3, 3, 3});
  // The 1-channel image became R = G = B = its gray value.
  const std::vector<uint8_t> x = ds.features.to_vector<uint8_t>();
  const std::vector<uint8_t> g = pixels(3, 3, 1, 9);
  for (int ch = 0; ch < 3; ++ch) {
    CHECK(std::vector<uint8_t>(x.begin() + ch * 9, x.begin() + ch * 9 + 9) == g);
  }
}

TEST_CASE("image folder: mismatched image sizes name the file and both sizes") {
  const std::string root = test::temp_dir("imgf-sizes");
  fs::create_directories(root + "/a");
  fs::create_directories(root + "/b");
  png(root + "/a/1.png", 8, 8, 3, 0);
  png(root + "/b/2.png", 8, 6, 3, 0);
  CHECK_THROWS_WITH_AS(read_image_folder(root),
                       test::has(root +
                                 "/b/2.png: image is 8x6x3 (width x height x "
                                 "channels), expected 8x8x3 as in " +
                                 root + "/a/1.png"),
                       Error);
}

TEST_CASE("image folder: a corrupt image names the file and stb_image's reason") {
  const std::string root = test::temp_dir("imgf-corrupt");
  fs::create_directories(root + "/a");
  png(root + "/a/good.png", 4, 4, 1, 0);
  // A PNG signature followed by garbage.
  test::write_bytes(root + "/a/junk.png",
                    {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5, 6, 7});
  CHECK_THROWS_WITH_AS(read_image_folder(root),
                       test::has(root + "/a/junk.png: cannot decode image: "), Error);
  // A file that is not an image format stb knows.
  test::write_text(root + "/a/junk.png", "hello, not an image");
  CHECK_THROWS_WITH_AS(decode_image_file(root + "/a/junk.png"),
                       test::has("junk.png: cannot decode image: "), Error);
}

TEST_CASE("image folder: missing root, no class folders and empty classes are errors") {
  const std::string root = test::temp_dir("imgf-empty");
  CHECK_THROWS_WITH_AS(read_image_folder(root + "/nope"), test::has("found no such directory"),
                       Error);
  CHECK_THROWS_WITH_AS(read_image_folder(root),
                       test::has("expected one sub-folder per class, found none"), Error);
  fs::create_directories(root + "/cats");
  CHECK_THROWS_WITH_AS(read_image_folder(root),
                       test::has(root + "/cats: expected images of class 'cats'"), Error);
}
