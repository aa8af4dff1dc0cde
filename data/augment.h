// Training-time image augmentation for the DataLoader: random translations (the image moves by up
// to max_shift pixels in each direction, uncovered pixels become 0) and random horizontal flips.
// Every draw comes from the loader's seed and the sample's position in its epoch, so an epoch's
// batches are the same whatever ran before it (resume stays exact) and across thread counts.
#pragma once
#include <cstdint>
#include <string>

#include "tensor/shape.h"

namespace difflut {

struct AugmentOptions {
  int max_shift = 0;   // pixels, each of x and y drawn uniformly from [-max_shift, max_shift]
  bool hflip = false;  // mirror left-right with probability 1/2
  bool enabled() const { return max_shift > 0 || hflip; }
};

// Image geometry of one sample: [H, W] (one channel) or [C, H, W]. Throws difflut::Error naming
// `what` unless `sample_shape` is an image shape the options fit (max_shift below H and W).
struct ImageGeometry {
  int64_t channels = 1, height = 0, width = 0;
};
ImageGeometry augment_geometry(const AugmentOptions& options, const Shape& sample_shape,
                               const std::string& what);

// Augments rows [0, count) of `x` (f32 [count, C*H*W], in place). Row r is the sample at position
// `first_position + r` of the epoch whose random stream starts at counter `stream`; its draws use
// the counters [stream + 4 * position, stream + 4 * position + 4) of `seed`.
void augment_rows(float* x, int64_t count, const ImageGeometry& geometry,
                  const AugmentOptions& options, uint64_t seed, uint64_t stream,
                  int64_t first_position);

}  // namespace difflut
