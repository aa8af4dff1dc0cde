// Damaged-input corpus, image folders: missing or empty class folders, empty, cut and corrupt
// PNG / JPEG / BMP files, headers declaring huge images, mismatched sizes. Same checks as
// test_damaged_inputs.cpp: exact message, files untouched.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#if __has_include(<stb/stb_image_write.h>)
#include <stb/stb_image_write.h>
#else
#include <stb_image_write.h>
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include "damaged_corpus.h"
#include "data/image_folder.h"
#include "image_bytes.h"

using namespace difflut;
using test::DamagedCase;

namespace difflut::test {
namespace {
void append(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(ctx);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}
std::vector<uint8_t> image_pixels(int w, int h, int c, int seed) {
  std::vector<uint8_t> v(static_cast<size_t>(w * h * c));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(seed + 7 * i + i / 5);
  return v;
}
}  // namespace

std::vector<uint8_t> png_bytes(int w, int h, int c, int seed) {
  std::vector<uint8_t> out;
  REQUIRE(stbi_write_png_to_func(append, &out, w, h, c, image_pixels(w, h, c, seed).data(),
                                 w * c) != 0);
  return out;
}
std::vector<uint8_t> bmp_bytes(int w, int h, int c, int seed) {
  std::vector<uint8_t> out;
  REQUIRE(stbi_write_bmp_to_func(append, &out, w, h, c, image_pixels(w, h, c, seed).data()) != 0);
  return out;
}
std::vector<uint8_t> jpg_bytes(int w, int h, int c, int seed) {
  std::vector<uint8_t> out;
  REQUIRE(stbi_write_jpg_to_func(append, &out, w, h, c, image_pixels(w, h, c, seed).data(), 90) !=
          0);
  return out;
}
}  // namespace difflut::test

namespace {
std::vector<uint8_t> cut(std::vector<uint8_t> b, size_t n) {
  b.resize(n);
  return b;
}
// A PNG whose IHDR declares w x h (stb_image does not check chunk CRCs).
std::vector<uint8_t> png_declaring(uint32_t w, uint32_t h) {
  std::vector<uint8_t> b = test::png_bytes(4, 4, 1, 0);
  for (int s = 0; s < 4; ++s) {
    b[16 + s] = static_cast<uint8_t>(w >> (24 - 8 * s));
    b[20 + s] = static_cast<uint8_t>(h >> (24 - 8 * s));
  }
  return b;
}
// The JPEG with every count of its first Huffman table set to 255 (stb_image would write 4080
// code lengths into a 257-entry array).
std::vector<uint8_t> huge_dht(std::vector<uint8_t> b) {
  for (size_t i = 2; i + 1 < b.size(); ++i) {
    if (b[i] == 0xFF && b[i + 1] == 0xC4) {
      for (size_t k = 0; k < 16; ++k) b.at(i + 5 + k) = 0xFF;
      return b;
    }
  }
  FAIL("no DHT segment in the test JPEG");
  return b;
}
auto folder(ImageColor color = ImageColor::keep) {
  return [color](const std::string& dir) {
    ImageFolderOptions o;
    o.color = color;
    read_image_folder(dir + "/root", o);
  };
}

std::vector<DamagedCase> image_cases() {
  const std::vector<uint8_t> png = test::png_bytes(6, 5, 3, 1);
  const std::vector<uint8_t> jpg = test::jpg_bytes(16, 16, 3, 2);
  const std::vector<uint8_t> bmp = test::bmp_bytes(6, 5, 3, 3);
  std::vector<uint8_t> bad_signature = png;
  bad_signature[1] = 'Q';
  return {
      {"images: no root folder",
       {},
       folder(),
       "{dir}/root: expected an image folder (root/<class>/<image>), found no such directory"},
      {"images: root is a file",
       {{"root", png}},
       folder(),
       "{dir}/root: expected an image folder (root/<class>/<image>), found no such directory"},
      {"images: no class folders",
       {{"root/a.png", png}},
       folder(),
       "{dir}/root: expected one sub-folder per class, found none"},
      {"images: a class without images",
       {{"root/cat/a.png", png}, {"root/dog/notes.txt", {1}}},
       folder(),
       "{dir}/root/dog: expected images of class 'dog' (.png, .jpg, .jpeg, .bmp), found none"},
      {"images: empty file",
       {{"root/cat/a.png", {}}},
       folder(),
       "{dir}/root/cat/a.png: cannot decode image: the file is empty"},
      {"images: text named .png",
       {{"root/cat/a.png", test::bytes_of("hello")}},
       folder(),
       "{dir}/root/cat/a.png: cannot decode image: {UNKNOWN}"},
      {"images: PNG signature damaged",
       {{"root/cat/a.png", bad_signature}},
       folder(),
       "{dir}/root/cat/a.png: cannot decode image: {UNKNOWN}"},
      {"images: PNG cut after the header",
       {{"root/cat/a.png", cut(png, 40)}},
       folder(),
       "{dir}/root/cat/a.png: truncated image: the data ends at byte 40 before the IEND chunk"},
      {"images: PNG cut in the image data",
       {{"root/cat/a.png", cut(png, 45)}},
       folder(),
       "{dir}/root/cat/a.png: truncated image: the chunk at byte 33 needs {n} bytes, found 45"},
      {"images: PNG cut before the end chunk",
       {{"root/cat/a.png", cut(png, png.size() - 12)}},
       folder(),
       "{dir}/root/cat/a.png: truncated image: the data ends at byte {n} before the IEND chunk"},
      {"images: PNG declaring 16384 x 16384",
       {{"root/cat/a.png", png_declaring(16384, 16384)}},
       folder(),
       "{dir}/root/cat/a.png: image header declares 16384x16384 pixels, expected at most "
       "67108864 pixels"},
      {"images: PNG declaring 100000 x 100000 (stb's own limit)",
       {{"root/cat/a.png", png_declaring(100000, 100000)}},
       folder(),
       "{dir}/root/cat/a.png: cannot decode image: {UNKNOWN}"},
      {"images: JPEG cut in the scan",
       {{"root/cat/a.jpg", cut(jpg, jpg.size() - 40)}},
       folder(),
       "{dir}/root/cat/a.jpg: truncated image: the data ends at byte {n} before the end-of-image "
       "marker"},
      {"images: JPEG missing its end marker",
       {{"root/cat/a.jpg", cut(jpg, jpg.size() - 2)}},
       folder(),
       "{dir}/root/cat/a.jpg: truncated image: the data ends at byte {n} before the end-of-image "
       "marker"},
      {"images: JPEG cut in the headers",
       {{"root/cat/a.jpg", cut(jpg, 30)}},
       folder(),
       "{dir}/root/cat/a.jpg: truncated image: the data ends at byte 30 before the end-of-image "
       "marker"},
      {"images: JPEG Huffman table declaring 4080 codes",
       {{"root/cat/a.jpg", huge_dht(jpg)}},
       folder(),
       "{dir}/root/cat/a.jpg: corrupt JPEG: Huffman table at byte {n} declares 4080 codes, "
       "expected at most 256"},
      {"images: BMP cut in the pixels",
       {{"root/cat/a.bmp", cut(bmp, bmp.size() - 10)}},
       folder(),
       "{dir}/root/cat/a.bmp: truncated image: expected 154 bytes for 6x5 pixels at 24 bits, "
       "found 144"},
      {"images: BMP cut in the header",
       {{"root/cat/a.bmp", cut(bmp, 20)}},
       folder(),
       "{dir}/root/cat/a.bmp: cannot decode image: {UNKNOWN}"},
      {"images: sizes differ",
       {{"root/cat/a.png", png}, {"root/dog/b.png", test::png_bytes(5, 6, 3, 1)}},
       folder(),
       "{dir}/root/dog/b.png: image is 5x6x3 (width x height x channels), expected 6x5x3 as in "
       "{dir}/root/cat/a.png"},
      {"images: channels differ",
       {{"root/cat/a.png", png}, {"root/dog/b.png", test::png_bytes(6, 5, 1, 1)}},
       folder(),
       "{dir}/root/dog/b.png: image is 6x5x1 (width x height x channels), expected 6x5x3 as in "
       "{dir}/root/cat/a.png (pass ImageColor::gray or ImageColor::rgb to convert channels)"},
  };
}
}  // namespace

TEST_CASE("damaged inputs: image folders are refused with exact messages, files untouched") {
  // stb_image's own reason where it refuses a file (its wording, not ours: kept in one place so a
  // changed stb version shows up as one clear diff).
  const std::map<std::string, std::string> stb_reason = {
      {"{UNKNOWN}", "Image not of any known type, or corrupt"}};
  for (DamagedCase c : image_cases()) {
    for (const auto& [key, reason] : stb_reason) {
      c.expected = test::replace_all(c.expected, key, reason);
    }
    test::run_case(c);
  }
}

TEST_CASE("image files: complete JPEG and BMP files pass the truncation checks") {
  const std::string dir = test::temp_dir("img-complete");
  test::write_bytes(dir + "/a.jpg", test::jpg_bytes(16, 16, 3, 2));
  test::write_bytes(dir + "/b.bmp", test::bmp_bytes(7, 3, 3, 1));
  test::write_bytes(dir + "/c.bmp", test::bmp_bytes(5, 4, 4, 1));
  CHECK(decode_image_file(dir + "/a.jpg").width == 16);
  CHECK(decode_image_file(dir + "/b.bmp").pixels.size() == 7 * 3 * 3);
  CHECK(decode_image_file(dir + "/c.bmp").channels == 4);
}
