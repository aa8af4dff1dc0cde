// IDX reader (see idx.h). The format: http://yann.lecun.com/exdb/mnist/ (bottom of the page).
#include "data/idx.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

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

namespace {
struct IdxHeader {
  Shape shape;
  size_t header_bytes = 0;  // 4 + 4 * ndims
  uint64_t payload = 0;     // product of the extents (u8 data: one byte each)
};

// Checks the magic and the extents in the first `size` bytes; nullopt when they are fewer than
// the header (its length is known from byte 3). The same checks serve whole files and a gzip
// stream that is still being inflated, so a bad header stops decompression early.
std::optional<IdxHeader> parse_idx_header(const uint8_t* bytes, size_t size,
                                          const std::string& what, int expected_ndims) {
  if (size < 4) return std::nullopt;
  const uint32_t magic = read_be32(bytes);
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
  IdxHeader h;
  h.header_bytes = 4 + 4 * static_cast<size_t>(ndims);
  if (size < h.header_bytes) return std::nullopt;
  h.shape.resize(static_cast<size_t>(ndims));
  // Extents are u32; a product of 2^40 bytes or more cannot be a real data set. The bound is
  // checked before each multiply, so the product can never wrap (three extents of 2^20, 2^19 and
  // 2^25 multiply to exactly 2^64, which would wrap to an empty payload).
  constexpr uint64_t kMaxPayload = uint64_t{1} << 40;
  h.payload = 1;
  for (int d = 0; d < ndims; ++d) {
    const uint32_t extent = read_be32(bytes + 4 + 4 * d);
    h.shape[d] = extent;
    DIFFLUT_CHECK(extent == 0 || h.payload < kMaxPayload / extent, what, ": dimension ", d,
                  " of the IDX header (", extent, ") gives an implausible size ",
                  shape_str(h.shape));
    h.payload *= extent;
  }
  return h;
}
}  // namespace

Tensor parse_idx_u8(const std::vector<uint8_t>& bytes, const std::string& what,
                    int expected_ndims) {
  DIFFLUT_CHECK(bytes.size() >= 4, what, ": expected an IDX header of at least 4 bytes, found ",
                bytes.size(), " bytes (truncated?)");
  const std::optional<IdxHeader> h =
      parse_idx_header(bytes.data(), bytes.size(), what, expected_ndims);
  if (!h) {
    const size_t ndims = bytes[3];
    DIFFLUT_FAIL(what, ": expected an IDX header of ", 4 + 4 * ndims, " bytes (", ndims,
                 " dimensions), found ", bytes.size(), " bytes (truncated?)");
  }
  const Shape& shape = h->shape;
  const uint64_t payload = h->payload;
  const uint64_t expected = h->header_bytes + payload;
  if (bytes.size() < expected) {
    const uint64_t per_record =
        shape.size() > 1 ? payload / std::max<uint64_t>(static_cast<uint64_t>(shape[0]), 1) : 1;
    const uint64_t complete = per_record ? (bytes.size() - h->header_bytes) / per_record : 0;
    DIFFLUT_FAIL(what, ": expected ", expected, " bytes of IDX data, found ", bytes.size(),
                 " (truncated? header says ", shape_str(shape), "; the data ends in record ",
                 complete, " of ", shape[0], ")");
  }
  DIFFLUT_CHECK(bytes.size() == expected, what, ": expected ", expected,
                " bytes of IDX data, found ", bytes.size(), " (", bytes.size() - expected,
                " unexpected trailing bytes after the ", shape_str(shape), " payload)");
  Tensor t = Tensor::empty(shape, DType::u8);
  if (payload) std::memcpy(t.raw(), bytes.data() + h->header_bytes, payload);
  return t;
}

Tensor read_idx_u8(const std::string& path, int expected_ndims) {
  // A gzip file may only decompress to the size its IDX header declares (see file_io.h).
  const DeclaredSizeFn declared = [&](const uint8_t* data,
                                      size_t size) -> std::optional<DeclaredSize> {
    const std::optional<IdxHeader> h = parse_idx_header(data, size, path, expected_ndims);
    if (!h) return std::nullopt;
    return DeclaredSize{h->header_bytes + h->payload,
                        "the IDX header (" + shape_str(h->shape) + ")"};
  };
  return parse_idx_u8(read_file_maybe_gz(path, declared), path, expected_ndims);
}

Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         int num_classes, const std::string& name,
                         const Shape& expected_image_shape) {
  Tensor images = read_idx_u8(images_path, 3);
  Tensor labels_u8 = read_idx_u8(labels_path, 1);
  // An empty file of either kind is a damaged download, not a data set: training on nothing or
  // testing on nothing would report a meaningless accuracy.
  DIFFLUT_CHECK(images.size(0) > 0, images_path, ": expected at least one image, found an IDX ",
                "header declaring 0 records (", shape_str(images.shape()), ")");
  DIFFLUT_CHECK(images.numel() > 0, images_path, ": expected images of non-zero size, found ",
                "an IDX header declaring ", shape_str(images.shape()));
  DIFFLUT_CHECK(labels_u8.size(0) > 0, labels_path, ": expected at least one label, found an ",
                "IDX header declaring 0 records");
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
