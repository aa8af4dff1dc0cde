// Random translations and horizontal flips of f32 image rows (see augment.h).
#include "data/augment.h"

#include <algorithm>
#include <vector>

#include "tensor/error.h"
#include "tensor/philox.h"

namespace difflut {

ImageGeometry augment_geometry(const AugmentOptions& options, const Shape& sample_shape,
                               const std::string& what) {
  DIFFLUT_CHECK(options.max_shift >= 0, what, ": expected a shift of at least 0 pixels, found ",
                options.max_shift);
  ImageGeometry g;
  if (sample_shape.size() == 2) {
    g.height = sample_shape[0];
    g.width = sample_shape[1];
  } else if (sample_shape.size() == 3) {
    g.channels = sample_shape[0];
    g.height = sample_shape[1];
    g.width = sample_shape[2];
  } else {
    DIFFLUT_FAIL(what, ": augmentation needs image samples [H, W] or [C, H, W], found ",
                 shape_str(sample_shape), " (tabular data cannot be shifted or flipped)");
  }
  DIFFLUT_CHECK(options.max_shift < g.height && options.max_shift < g.width, what,
                ": expected a shift below the image's height and width (", g.height, " x ", g.width,
                "), found ", options.max_shift);
  return g;
}

void augment_rows(float* x, int64_t count, const ImageGeometry& g, const AugmentOptions& options,
                  uint64_t seed, uint64_t stream, int64_t first_position) {
  if (!options.enabled()) return;
  const int64_t h = g.height, w = g.width, plane = h * w;
  const auto span = static_cast<uint64_t>(2 * options.max_shift + 1);
  std::vector<float> src(static_cast<size_t>(g.channels * plane));
  for (int64_t r = 0; r < count; ++r) {
    // Three draws per sample (x shift, y shift, flip); the fourth counter is spare, so the
    // stream layout need not change if an option is added.
    const uint64_t c0 = stream + 4 * static_cast<uint64_t>(first_position + r);
    const auto dx = static_cast<int64_t>(philox_below(c0, seed, span)) - options.max_shift;
    const auto dy = static_cast<int64_t>(philox_below(c0 + 1, seed, span)) - options.max_shift;
    const bool flip = options.hflip && philox_below(c0 + 2, seed, 2) == 1;
    if (dx == 0 && dy == 0 && !flip) continue;
    float* row = x + r * g.channels * plane;
    std::copy(row, row + g.channels * plane, src.begin());
    for (int64_t c = 0; c < g.channels; ++c) {
      const float* in = src.data() + c * plane;
      float* out = row + c * plane;
      for (int64_t i = 0; i < h; ++i) {
        const int64_t si = i - dy;  // output pixel (i, j) shows input pixel (i - dy, j - dx)
        for (int64_t j = 0; j < w; ++j) {
          const int64_t sj0 = j - dx;
          const int64_t sj = flip ? w - 1 - sj0 : sj0;
          const bool inside = si >= 0 && si < h && sj0 >= 0 && sj0 < w;
          out[i * w + j] = inside ? in[si * w + sj] : 0.0f;
        }
      }
    }
  }
}

}  // namespace difflut
