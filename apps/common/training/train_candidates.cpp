// Training step 2b, the first layer's candidates drawn from label information (see
// train_candidates.h).
#include "common/training/train_candidates.h"

#include <algorithm>
#include <cmath>

#include "lut/sparse_mapping.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace difflut::app {

namespace {
// Key of the candidate-prior stream, seeded with the run's seed: apart from the model's (the seed
// itself) and the refresh's (its own key). The loader's augmentation uses this key too, but on
// seed + 2, so within a run the streams differ. (Kept as first measured: docs/RESULTS.md's label_mi
// runs drew with it.)
constexpr uint64_t kPriorKey = 0x9e3779b97f4a7c15ULL;
// Encoded bytes a chunk of rows may take (rows x encoded bits x 4), about 16 MB whatever the width.
constexpr int64_t kChunkBytes = int64_t{16} << 20;
// Information below this (in bits) is rounding, not information: such a bit is never drawn.
constexpr double kNoInformation = 1e-12;

double entropy_bits(double p) {
  if (p <= 0 || p >= 1) return 0;
  return -(p * std::log2(p) + (1 - p) * std::log2(1 - p));
}
}  // namespace

std::vector<double> input_label_information(const ThermometerEncoder& encoder,
                                            const Dataset& train) {
  train.validate();
  const int64_t N = train.size(), F = train.feature_dim(), K = train.num_classes;
  const int64_t B = encoder.output_features();
  DIFFLUT_CHECK(encoder.num_features() == F, "input_label_information: expected ",
                encoder.num_features(), " features (the encoder's), found ", F);
  DIFFLUT_CHECK(N > 0, "input_label_information: expected training samples, found none");
  const std::vector<int64_t> labels = train.labels.to_vector<int64_t>();
  // ones[c * B + i]: samples of class c whose bit i is on.
  std::vector<int64_t> ones(static_cast<size_t>(K * B), 0), per_class(static_cast<size_t>(K), 0);
  const int64_t chunk = std::max<int64_t>(1, kChunkBytes / (4 * std::max(B, F)));
  std::vector<float> rows;
  std::vector<int64_t> idx;
  for (int64_t r0 = 0; r0 < N; r0 += chunk) {
    const int64_t n = std::min(chunk, N - r0);
    rows.resize(static_cast<size_t>(n * F));
    idx.resize(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) idx[static_cast<size_t>(j)] = r0 + j;
    gather_features_f32(train.features, idx.data(), n, rows.data());
    const std::vector<float> bits =
        encoder.encode(Tensor::from_vector(rows, {n, F})).to_vector<float>();
    DIFFLUT_CHECK(static_cast<int64_t>(bits.size()) == n * B, "input_label_information: expected ",
                  n * B, " encoded bits, found ", bits.size());
    for (int64_t j = 0; j < n; ++j) {
      const int64_t c = labels[static_cast<size_t>(r0 + j)];
      ++per_class[static_cast<size_t>(c)];
      int64_t* o = ones.data() + c * B;
      const float* b = bits.data() + j * B;
      for (int64_t i = 0; i < B; ++i) o[i] += b[i] > 0.5f;
    }
  }
  std::vector<double> info(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) {
    int64_t all = 0;
    double within = 0;
    for (int64_t c = 0; c < K; ++c) {
      const int64_t nc = per_class[static_cast<size_t>(c)],
                    oc = ones[static_cast<size_t>(c * B + i)];
      all += oc;
      if (nc > 0)
        within += static_cast<double>(nc) / static_cast<double>(N) *
                  entropy_bits(static_cast<double>(oc) / static_cast<double>(nc));
    }
    // Rounding can leave a tiny value of either sign for a bit independent of the label: 0.
    const double v = entropy_bits(static_cast<double>(all) / static_cast<double>(N)) - within;
    info[static_cast<size_t>(i)] = v < kNoInformation ? 0.0 : v;
  }
  return info;
}

int64_t draw_informed_candidates(LUTNetwork& model, const Dataset& train, uint64_t seed) {
  const char* key = "config key 'model.params.sparse_candidate_prior'";
  DIFFLUT_CHECK(model.num_conv_layers() == 0, key, ": expected a first LUT layer fed by the ",
                "encoder, found convolutional layers before it; set it to uniform");
  DIFFLUT_CHECK(model.num_layers() > 0, key, ": expected a model with LUT layers, found none");
  LUTLayer& first = model.layer(0);
  DIFFLUT_CHECK(first.mapping_kind() == MappingKind::sparse && first.options().sparse_groups == 0,
                key, ": expected a sparse first layer of drawn candidates ",
                "(model.params.layer_type=sparse), found ",
                first.mapping_kind() == MappingKind::sparse
                    ? std::string("grouped")
                    : mapping_kind_name(first.mapping_kind()),
                "; set it to uniform");
  const std::vector<double> info = input_label_information(model.encoder(), train);
  DIFFLUT_CHECK(static_cast<int64_t>(info.size()) == first.input_size(), key,
                ": expected the first layer to read the encoder's ", info.size(),
                " bits, found a layer of ", first.input_size(), " inputs");
  const Tensor& old = first.mapping_candidates();
  const int64_t S = old.size(0), C = old.size(1);
  const auto informative = std::count_if(info.begin(), info.end(), [](double v) { return v > 0; });
  DIFFLUT_CHECK(informative >= C, key, ": expected at least ", C,
                " encoded inputs (model.params.sparse_candidates) that carry information about ",
                "the label, found ", informative, " of ", info.size(), "; set it to uniform");
  Generator gen(seed ^ kPriorKey);
  first.set_mapping_candidates(weighted_mapping_candidates(info, S, C, gen));
  return informative;
}

}  // namespace difflut::app
