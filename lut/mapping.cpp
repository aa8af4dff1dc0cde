// Host constructors of random and cyclic mappings (see mapping.h).
#include "lut/mapping.h"

#include <algorithm>
#include <vector>

namespace difflut {

Tensor random_mapping(int64_t num_inputs, int64_t num_slots, Generator& gen) {
  DIFFLUT_CHECK(num_inputs >= 1, "random_mapping: expected num_inputs >= 1, found ", num_inputs);
  DIFFLUT_CHECK(num_slots >= 0, "random_mapping: expected num_slots >= 0, found ", num_slots);
  std::vector<int64_t> idx;
  idx.reserve(static_cast<size_t>(num_slots));
  while (static_cast<int64_t>(idx.size()) < num_slots) {
    const std::vector<int64_t> perm = gen.permutation(num_inputs);
    const int64_t take =
        std::min<int64_t>(num_inputs, num_slots - static_cast<int64_t>(idx.size()));
    idx.insert(idx.end(), perm.begin(), perm.begin() + take);
  }
  return Tensor::from_vector(idx, {num_slots});
}

Tensor cyclic_mapping(int64_t num_inputs, int64_t num_slots, int64_t inputs_per_node,
                      int64_t stride) {
  DIFFLUT_CHECK(num_inputs >= 1, "cyclic_mapping: expected num_inputs >= 1, found ", num_inputs);
  DIFFLUT_CHECK(inputs_per_node >= 1, "cyclic_mapping: expected inputs_per_node >= 1, found ",
                inputs_per_node);
  DIFFLUT_CHECK(num_slots >= 0 && num_slots % inputs_per_node == 0,
                "cyclic_mapping: expected num_slots a non-negative multiple of inputs_per_node = ",
                inputs_per_node, ", found ", num_slots);
  DIFFLUT_CHECK(stride >= 1, "cyclic_mapping: expected stride >= 1, found ", stride);
  std::vector<int64_t> idx(static_cast<size_t>(num_slots));
  for (int64_t s = 0; s < num_slots; ++s) {
    const int64_t j = s / inputs_per_node, l = s % inputs_per_node;
    // (j*stride) mod F first keeps the product small for huge layers.
    idx[static_cast<size_t>(s)] =
        ((j % num_inputs) * (stride % num_inputs) % num_inputs + l) % num_inputs;
  }
  return Tensor::from_vector(idx, {num_slots});
}

}  // namespace difflut
