// PNG / BMP / JPEG files in memory for the image tests (written with stb_image_write; defined in
// test_damaged_images_stb.cpp, so only builds with stb link them).
#pragma once
#include <cstdint>
#include <vector>

namespace difflut::test {

// A w x h image with c channels whose pixels follow a pattern set by `seed`.
std::vector<uint8_t> png_bytes(int w, int h, int c, int seed);
std::vector<uint8_t> bmp_bytes(int w, int h, int c, int seed);
std::vector<uint8_t> jpg_bytes(int w, int h, int c, int seed);

}  // namespace difflut::test
