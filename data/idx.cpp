// IDX reader (see idx.h). The format: http://yann.lecun.com/exdb/mnist/ (bottom of the page).
#include "data/idx.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "data/file_io.h"

namespace difflut {

namespace {
std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}
uint32_t read_be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}
}  // namespace

Tensor parse_idx_u8(const std::vector<uint8_t>& bytes, const std::string& what,
                    int expected_ndims) {
  DIFFLUT_CHECK(bytes.size() >= 4, what, ": expected an IDX header of at least 4 bytes, found ",
                bytes.size(), " bytes (truncated?)");
  const uint32_t magic = read_be32(bytes.data());
  const int ndims = bytes[3];
  if (expected_ndims > 0) {
    const uint32_t want = 0x00000800u | static_cast<uint32_t>(expected_ndims);
    DIFFLUT_CHECK(magic == want, what, ": bad magic ", hex32(magic), ", expected ", hex32(want),
                  " (IDX u8 data with ", expected_ndims, " dimension",
                  expected_ndims > 1 ? "s)" : ")");
  } else {
    DIFFLUT_CHECK(bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08 && ndims >= 1, what,
                  ": bad magic ", hex32(magic),
                  ", expected 0x000008NN (IDX u8 data, NN >= 1 dims)");
  }
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  DIFFLUT_CHECK(bytes.size() >= header, what, ": expected an IDX header of ", header,
                " bytes (", ndims, " dimensions), found ", bytes.size(), " bytes (truncated?)");
  Shape shape(static_cast<size_t>(ndims));
  // Extents are u32; a product above 2^40 bytes cannot be a real data set and would overflow.
  uint64_t payload = 1;
  for (int d = 0; d < ndims; ++d) {
    shape[d] = read_be32(bytes.data() + 4 + 4 * d);
    payload *= static_cast<uint64_t>(shape[d]);
    DIFFLUT_CHECK(payload < (uint64_t{1} << 40), what, ": dimension ", d, " of the IDX header (",
                  shape[d], ") gives an implausible size ", shape_str(shape));
  }
  const uint64_t expected = header + payload;
  if (bytes.size() < expected) {
    const uint64_t per_record = ndims > 1 ? payload / std::max<uint64_t>(shape[0], 1) : 1;
    const uint64_t complete = per_record ? (bytes.size() - header) / per_record : 0;
    DIFFLUT_FAIL(what, ": expected ", expected, " bytes of IDX data, found ", bytes.size(),
                 " (truncated? header says ", shape_str(shape), "; the data ends in record ",
                 complete, " of ", shape[0], ")");
  }
  DIFFLUT_CHECK(bytes.size() == expected, what, ": expected ", expected,
                " bytes of IDX data, found ", bytes.size(), " (", bytes.size() - expected,
                " unexpected trailing bytes after the ", shape_str(shape), " payload)");
  Tensor t = Tensor::empty(shape, DType::u8);
  if (payload) std::memcpy(t.raw(), bytes.data() + header, payload);
  return t;
}

Tensor read_idx_u8(const std::string& path, int expected_ndims) {
  return parse_idx_u8(read_file_maybe_gz(path), path, expected_ndims);
}

Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         int num_classes, const std::string& name,
                         const Shape& expected_image_shape) {
  Tensor images = read_idx_u8(images_path, 3);
  Tensor labels_u8 = read_idx_u8(labels_path, 1);
  if (!expected_image_shape.empty()) {
    const Shape got(images.shape().begin() + 1, images.shape().end());
    DIFFLUT_CHECK(got == expected_image_shape, images_path, ": expected images of ",
                  shape_str(expected_image_shape), ", found ", shape_str(got));
  }
  DIFFLUT_CHECK(images.size(0) == labels_u8.size(0), name, ": ", images_path, " holds ",
                images.size(0), " images but ", labels_path, " holds ", labels_u8.size(0),
                " labels");
  Dataset ds;
  ds.features = images;
  ds.labels = Tensor::empty({labels_u8.numel()}, DType::i64);
  ds.num_classes = num_classes;
  ds.name = name;
  const uint8_t* src = labels_u8.data<uint8_t>();
  int64_t* dst = ds.labels.data<int64_t>();
  for (int64_t i = 0; i < labels_u8.numel(); ++i) {
    DIFFLUT_CHECK(src[i] < num_classes, labels_path, ": record ", i, " has label ",
                  static_cast<int>(src[i]), ", expected 0..", num_classes - 1);
    dst[i] = src[i];
  }
  return ds;
}

}  // namespace difflut
