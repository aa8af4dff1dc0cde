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

namespace difflut {

bool image_decoding_supported() { return true; }

DecodedImage decode_image_file(const std::string& path, int desired_channels) {
  DIFFLUT_CHECK(desired_channels >= 0 && desired_channels <= 4, "decode_image_file: ", path,
                ": expected desired_channels in 0..4, found ", desired_channels);
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(
      stbi_load(path.c_str(), &w, &h, &c, desired_channels), &stbi_image_free);
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
