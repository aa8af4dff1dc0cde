// Image-folder reader (see image_folder.h): directory scan and assembly; decoding lives in
// image_folder_stb.cpp, which minimal builds leave out.
#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace difflut {

#ifndef DIFFLUT_WITH_STB
bool image_decoding_supported() { return false; }

DecodedImage decode_image_file(const std::string& path, int) {
  DIFFLUT_FAIL(path,
               ": cannot decode images: this DiffLUT build has no stb_image "
               "(DIFFLUT_MINIMAL); use a full build (Debian package libstb-dev)");
}
#endif

namespace {
bool is_image_name(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

std::string size_str(const DecodedImage& img) {
  return std::to_string(img.width) + "x" + std::to_string(img.height) + "x" +
         std::to_string(img.channels) + " (width x height x channels)";
}
}  // namespace

Dataset read_image_folder(const std::string& root, const ImageFolderOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  DIFFLUT_CHECK(fs::is_directory(root, ec), root,
                ": expected an image folder (root/<class>/<image>), found no such directory");
  std::vector<fs::path> class_dirs;
  for (const fs::directory_entry& e : fs::directory_iterator(root)) {
    if (e.is_directory()) class_dirs.push_back(e.path());
  }
  DIFFLUT_CHECK(!class_dirs.empty(), root, ": expected one sub-folder per class, found none");
  std::sort(class_dirs.begin(), class_dirs.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

  std::vector<std::pair<fs::path, int64_t>> files;
  Dataset ds;
  for (size_t c = 0; c < class_dirs.size(); ++c) {
    std::vector<fs::path> images;
    for (const fs::directory_entry& e : fs::directory_iterator(class_dirs[c])) {
      if (e.is_regular_file() && is_image_name(e.path())) images.push_back(e.path());
    }
    DIFFLUT_CHECK(!images.empty(), class_dirs[c].string(), ": expected images of class '",
                  class_dirs[c].filename().string(), "' (.png, .jpg, .jpeg, .bmp), found none");
    std::sort(images.begin(), images.end());
    for (const fs::path& p : images) files.emplace_back(p, static_cast<int64_t>(c));
    ds.class_names.push_back(class_dirs[c].filename().string());
  }

  const int want_channels = options.color == ImageColor::gray  ? 1
                            : options.color == ImageColor::rgb ? 3
                                                               : 0;
  const int64_t n = static_cast<int64_t>(files.size());
  DecodedImage first = decode_image_file(files[0].first.string(), want_channels);
  const int64_t C = first.channels, H = first.height, W = first.width;
  ds.features = Tensor::empty({n, C, H, W}, DType::u8);
  ds.labels = Tensor::empty({n}, DType::i64);
  ds.num_classes = static_cast<int>(class_dirs.size());
  ds.name = fs::path(root).filename().string();
  if (ds.name.empty()) ds.name = fs::path(root).parent_path().filename().string();
  uint8_t* x = ds.features.data<uint8_t>();
  int64_t* y = ds.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const std::string path = files[i].first.string();
    DecodedImage img = i == 0 ? std::move(first) : decode_image_file(path, want_channels);
    DIFFLUT_CHECK(img.width == W && img.height == H && img.channels == C, path, ": image is ",
                  size_str(img), ", expected ", W, "x", H, "x", C, " as in ",
                  files[0].first.string(),
                  (options.color == ImageColor::keep && img.channels != C
                       ? " (pass ImageColor::gray or ImageColor::rgb to convert channels)"
                       : ""));
    // Interleaved HWC -> channel planes CHW.
    uint8_t* dst = x + i * C * H * W;
    for (int64_t p = 0; p < H * W; ++p) {
      for (int64_t ch = 0; ch < C; ++ch) dst[ch * H * W + p] = img.pixels[p * C + ch];
    }
    y[i] = files[i].second;
  }
  return ds;
}

}  // namespace difflut
