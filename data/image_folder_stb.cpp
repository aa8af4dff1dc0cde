// Image decoding with stb_image (Debian libstb-dev); the one translation unit that compiles it.
#include "data/image_folder.h"

// Static linkage keeps stb's symbols private to this file, so programs that also link libstb or
// compile stb_image themselves do not clash with the DiffLUT library.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_FAILURE_USERMSG
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#else
#include <stb_image.h>
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <cstring>
#include <memory>

#include "data/file_io.h"

namespace difflut {

namespace {
// stb_image decodes a truncated JPEG or BMP "successfully": its readers return zeros past the end
// of the data, so the missing part of the image comes back grey or black. These checks find the
// end a complete file must have before decoding (PNG too: stb fails there, but with a misleading
// reason).

// The Huffman tables of one DHT segment, read the way stb_image reads them (table after table
// until the segment length is used up; bytes past the end of the file read as 0). stb_image
// (Debian's 2022-09 copy) writes a table's code lengths and values into fixed 256-entry arrays
// without checking the 16 declared counts, so a table declaring more than 256 codes overflows
// them: such files must never reach it. Returns the problem, or "".
std::string jpeg_dht_problem(const std::vector<uint8_t>& b, size_t seg, size_t len) {
  auto at = [&](size_t k) -> unsigned { return k < b.size() ? b[k] : 0u; };
  int64_t left = static_cast<int64_t>(len) - 2;
  size_t p = seg + 4;
  while (left > 0) {
    const unsigned q = at(p);
    unsigned n = 0;
    for (size_t k = 1; k <= 16; ++k) n += at(p + k);
    if ((q >> 4) > 1 || (q & 15) > 3) {
      return "corrupt JPEG: Huffman table at byte " + std::to_string(p) + " has class/id 0x" +
             "0123456789ABCDEF"[q >> 4] + "0123456789ABCDEF"[q & 15] + ", expected 0x00-0x13";
    }
    if (n > 256) {
      return "corrupt JPEG: Huffman table at byte " + std::to_string(p) + " declares " +
             std::to_string(n) + " codes, expected at most 256";
    }
    p += 17 + n;
    left -= 17 + static_cast<int64_t>(n);
  }
  if (left != 0) {
    return "corrupt JPEG: the Huffman tables of the segment at byte " + std::to_string(seg) +
           " overrun its length";
  }
  return "";
}

// A JPEG is a chain of marker segments; each scan's entropy-coded data runs until the next marker
// that is not a restart (FF D0..D7) or a stuffed FF 00. A complete file reaches EOI (FF D9).
// Every Huffman table segment on the way is checked (jpeg_dht_problem). Returns the whole reason,
// or "" when the structure is complete and safe to hand to stb_image.
std::string jpeg_problem(const std::vector<uint8_t>& b) {
  size_t i = 2;  // after SOI
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return "corrupt JPEG: expected a marker at byte " + std::to_string(i);
    const uint8_t m = b[i + 1];
    if (m == 0xFF) {  // fill byte before a marker
      ++i;
      continue;
    }
    if (m == 0xD9) return "";
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // markers without a length
      i += 2;
      continue;
    }
    const size_t len = static_cast<size_t>(b[i + 2]) << 8 | b[i + 3];
    if (len < 2) return "corrupt JPEG: bad segment length at byte " + std::to_string(i);
    if (m == 0xC4) {
      const std::string dht = jpeg_dht_problem(b, i, len);
      if (!dht.empty()) return dht;
    }
    i += 2 + len;
    if (m != 0xDA) continue;
    // Entropy-coded data after SOS.
    while (i + 1 < b.size() &&
           !(b[i] == 0xFF && b[i + 1] != 0x00 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7))) {
      ++i;
    }
  }
  if (i + 2 <= b.size() && b[i] == 0xFF && b[i + 1] == 0xD9) return "";
  return "truncated image: the data ends at byte " + std::to_string(b.size()) +
         " before the end-of-image marker";
}

// A PNG is the 8-byte signature and chunks (length, type, data, CRC) up to IEND. stb_image reports
// a cut file as an "unknown PNG chunk type"; this names the truncation instead.
std::string png_incomplete(const std::vector<uint8_t>& b) {
  size_t i = 8;
  while (i + 8 <= b.size()) {
    const uint64_t len = static_cast<uint64_t>(b[i]) << 24 | static_cast<uint64_t>(b[i + 1]) << 16 |
                         static_cast<uint64_t>(b[i + 2]) << 8 | b[i + 3];
    const bool iend = b[i + 4] == 'I' && b[i + 5] == 'E' && b[i + 6] == 'N' && b[i + 7] == 'D';
    const uint64_t end = i + 12 + len;
    if (end > b.size()) {
      return "the chunk at byte " + std::to_string(i) + " needs " + std::to_string(end) +
             " bytes, found " + std::to_string(b.size());
    }
    if (iend) return "";
    i = static_cast<size_t>(end);
  }
  return "the data ends at byte " + std::to_string(b.size()) + " before the IEND chunk";
}

uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint32_t>(b[at]) | static_cast<uint32_t>(b[at + 1]) << 8 |
         static_cast<uint32_t>(b[at + 2]) << 16 | static_cast<uint32_t>(b[at + 3]) << 24;
}

// An uncompressed BMP (BI_RGB or BI_BITFIELDS) holds |height| rows of 4-byte-aligned pixels from
// the pixel-data offset on. RLE-compressed files are left to the decoder.
std::string bmp_incomplete(const std::vector<uint8_t>& b) {
  if (b.size() < 34) return "the headers end at byte " + std::to_string(b.size());
  const uint64_t offset = le32(b, 10);
  const uint32_t dib = le32(b, 14);
  if (dib < 40) return "";  // OS/2 core header: rare, left to the decoder
  const int64_t width = static_cast<int32_t>(le32(b, 18));
  const int64_t height = static_cast<int32_t>(le32(b, 22));
  const uint64_t bpp = static_cast<uint64_t>(b[28]) | static_cast<uint64_t>(b[29]) << 8;
  const uint32_t compression = le32(b, 30);
  if (compression != 0 && compression != 3) return "";
  if (width <= 0 || height == 0 || bpp == 0) return "";  // the decoder names these
  const uint64_t row = (static_cast<uint64_t>(width) * bpp + 31) / 32 * 4;
  const uint64_t rows = static_cast<uint64_t>(height < 0 ? -height : height);
  const uint64_t need = offset + row * rows;
  if (b.size() >= need) return "";
  return "expected " + std::to_string(need) + " bytes for " + std::to_string(width) + "x" +
         std::to_string(rows) + " pixels at " + std::to_string(bpp) + " bits, found " +
         std::to_string(b.size());
}
}  // namespace

bool image_decoding_supported() { return true; }

DecodedImage decode_image_file(const std::string& path, int desired_channels) {
  DIFFLUT_CHECK(desired_channels >= 0 && desired_channels <= 4, "decode_image_file: ", path,
                ": expected desired_channels in 0..4, found ", desired_channels);
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  DIFFLUT_CHECK(!bytes.empty(), path, ": cannot decode image: the file is empty");
  DIFFLUT_CHECK(bytes.size() <= static_cast<size_t>(INT32_MAX), path, ": image file of ",
                bytes.size(), " bytes is too large to decode");
  const int len = static_cast<int>(bytes.size());
  // JPEG structure before stb_image sees any of it: stbi_info already builds the Huffman tables
  // that precede the frame header.
  if (bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) {
    const std::string problem = jpeg_problem(bytes);
    DIFFLUT_CHECK(problem.empty(), path, ": ", problem);
  }
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &c)) {
    const char* why = stbi_failure_reason();
    DIFFLUT_FAIL(path, ": cannot decode image: ", why ? why : "unknown stb_image error");
  }
  // The header's size decides the allocation: refuse absurd ones before decoding.
  DIFFLUT_CHECK(w > 0 && h > 0 && static_cast<int64_t>(w) * h <= kMaxImagePixels, path,
                ": image header declares ", w, "x", h, " pixels, expected at most ",
                kMaxImagePixels, " pixels");
  // Then the structure: a file whose header reads but whose data is cut gets "truncated image",
  // not whatever stb makes of the rest (for BMP: a picture with a filled-in part).
  std::string incomplete;
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0) {
    incomplete = png_incomplete(bytes);
  } else if (bytes.size() >= 2 && bytes[0] == 'B' && bytes[1] == 'M') {
    incomplete = bmp_incomplete(bytes);
  }
  DIFFLUT_CHECK(incomplete.empty(), path, ": truncated image: ", incomplete);
  std::unique_ptr<stbi_uc, void (*)(void*)> px(
      stbi_load_from_memory(bytes.data(), len, &w, &h, &c, desired_channels), &stbi_image_free);
  if (!px) {
    const char* why = stbi_failure_reason();
    DIFFLUT_FAIL(path, ": cannot decode image: ", why ? why : "unknown stb_image error");
  }
  DecodedImage img;
  img.width = w;
  img.height = h;
  img.channels = desired_channels ? desired_channels : c;
  const size_t n = static_cast<size_t>(w) * h * img.channels;
  img.pixels.assign(px.get(), px.get() + n);
  return img;
}

}  // namespace difflut
