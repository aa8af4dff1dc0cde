// Image-folder reader: root/<class>/*.png|jpg|jpeg|bmp, one class per sub-folder (sorted by name).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace difflut {

// Channel handling: keep each file's channels (all files must then agree), or convert every image
// to 1-channel luminance or 3-channel RGB (alpha dropped).
enum class ImageColor { keep, gray, rgb };

struct ImageFolderOptions {
  ImageColor color = ImageColor::keep;
};

// Reads every image under root/<class>/ into u8 features [N, C, H, W] (channel planes, like
// CIFAR-10) and i64 labels = the index of the class folder in name order; files are taken in name
// order within a class and extensions match case-insensitively (other files are ignored). All
// images must have the same size and (after conversion) channel count: a mismatch names the file
// and both sizes. Unreadable images name the file and the decoder's reason. Needs stb_image
// (DIFFLUT_WITH_STB); without it this throws an Error saying so.
Dataset read_image_folder(const std::string& root, const ImageFolderOptions& options = {});

// One decoded image, pixels interleaved [height, width, channels].
struct DecodedImage {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// True when this build can decode images (stb_image is built in).
bool image_decoding_supported();

// The largest image (width x height) the reader decodes: 8192 x 8192. A header declaring more is
// refused before any pixel memory is allocated.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// Decodes a PNG/JPEG/BMP file; `desired_channels` 0 keeps the file's channels, 1..4 converts.
// Throws difflut::Error naming the file and stb_image's reason, and for an empty file, a header
// declaring more than kMaxImagePixels, or a truncated PNG (no IEND chunk), JPEG (no end-of-image
// marker) or uncompressed BMP (fewer pixel bytes than its header declares); stb_image would decode
// a cut JPEG or BMP with the missing part filled in. JPEG Huffman tables declaring more than 256
// codes are refused before stb_image reads them (its copy in Debian 2022-09 overflows on them).
DecodedImage decode_image_file(const std::string& path, int desired_channels = 0);

}  // namespace difflut
