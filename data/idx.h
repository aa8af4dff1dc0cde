// IDX reader (the MNIST / Fashion-MNIST format), plain or gzip-compressed, u8 data only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace difflut {

// Parses IDX bytes (big-endian header: 0x00 0x00 0x08 <ndims>, ndims u32 extents, then the u8
// payload) into a u8 tensor of those extents. `expected_ndims` > 0 pins the magic (0x00000803 for
// images, 0x00000801 for labels). `what` names the file in errors, which state the byte offset or
// record and what was expected vs found.
Tensor parse_idx_u8(const std::vector<uint8_t>& bytes, const std::string& what,
                    int expected_ndims = 0);

// Reads an IDX file, gunzipping it when its content is gzip (needs zlib; see file_io.h).
Tensor read_idx_u8(const std::string& path, int expected_ndims = 0);

// Images (IDX, 3 dims [N, H, W]) and labels (IDX, 1 dim [N]) as a Dataset with u8 features
// [N, H, W] and i64 labels. Checks that the counts agree, that every label is < num_classes and,
// when `expected_image_shape` is given (e.g. {28, 28}), the image extents.
Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         int num_classes, const std::string& name,
                         const Shape& expected_image_shape = {});

}  // namespace difflut
