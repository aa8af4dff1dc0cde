// DataLoader, validation splits and subsets (see loader.h).
#include "data/loader.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

#include "tensor/random.h"

namespace difflut {

namespace {
// Epoch e draws its permutation from counters [e * 2^40, ...): disjoint streams for any N < 2^40,
// so epoch orders are independent of each other and of how many epochs ran before.
constexpr int kEpochStreamShift = 40;
// Epochs are < 2^23, so their streams lie below 2^63; splits and subsets use streams above it and
// never coincide with an epoch order.
constexpr uint64_t kSplitStream = uint64_t{1} << 63;
constexpr uint64_t kSubsetStream = kSplitStream + (uint64_t{1} << kEpochStreamShift);
// Key offset of the augmentation draws (the golden-ratio constant: any fixed odd value works).
constexpr uint64_t kAugmentKey = 0x9e3779b97f4a7c15ULL;

std::vector<int64_t> permutation_at(uint64_t seed, uint64_t offset, int64_t n) {
  Generator gen(seed);
  gen.set_state(seed, offset);
  return gen.permutation(n);
}
}  // namespace

DataLoader::DataLoader(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed,
                       bool drop_last, Device device)
    : batch_size_(batch_size), shuffle_(shuffle), seed_(seed), drop_last_(drop_last),
      device_(device) {
  DIFFLUT_CHECK(batch_size > 0, "DataLoader: expected batch_size > 0, found ", batch_size);
  DIFFLUT_CHECK(device == Device::cpu || cuda_available(),
                "DataLoader: device cuda requested, but no usable GPU was found (",
                cuda_compiled() ? "CUDA kernels compiled" : "built without CUDA", ")");
  dataset.validate();
  // No epoch over nothing: a loss and accuracy over zero samples would read as a result.
  DIFFLUT_CHECK(dataset.size() > 0, "DataLoader: dataset '", dataset.name,
                "' has no samples, expected at least one");
  DIFFLUT_CHECK(dataset.size() < (int64_t{1} << kEpochStreamShift), "DataLoader: dataset '",
                dataset.name, "' has too many samples (", dataset.size(), ")");
  features_ = dataset.features;
  labels_ = dataset.labels;
  n_ = dataset.size();
  f_ = dataset.feature_dim();
  sample_shape_ = dataset.sample_shape();
  name_ = dataset.name;
  make_order(0);
}

int64_t DataLoader::num_batches() const {
  return drop_last_ ? n_ / batch_size_ : (n_ + batch_size_ - 1) / batch_size_;
}

void DataLoader::make_order(int64_t epoch) {
  DIFFLUT_CHECK(epoch >= 0 && epoch < (int64_t{1} << 23), "DataLoader: epoch ", epoch,
                " is outside [0, 2^23)");
  epoch_ = epoch;
  if (shuffle_) {
    order_ = permutation_at(seed_, static_cast<uint64_t>(epoch) << kEpochStreamShift, n_);
  } else {
    order_.resize(static_cast<size_t>(n_));
    std::iota(order_.begin(), order_.end(), int64_t{0});
  }
}

void DataLoader::set_epoch(int64_t epoch) {
  make_order(epoch);
  next_epoch_ = epoch;
}

void DataLoader::set_augment(const AugmentOptions& options) {
  DIFFLUT_CHECK(options.max_shift >= 0, "DataLoader '", name_,
                "': expected an augmentation shift of at least 0 pixels, found ",
                options.max_shift);
  if (!options.enabled()) {  // nothing more to check: any dataset can go unaugmented
    augment_ = options;
    return;
  }
  const ImageGeometry g = augment_geometry(options, sample_shape_, "DataLoader '" + name_ + "'");
  // Four counters per sample inside the epoch's 2^40-counter block.
  DIFFLUT_CHECK(n_ < (int64_t{1} << 38), "DataLoader: dataset '", name_, "' has too many samples (",
                n_, ") to augment");
  augment_ = options;
  geometry_ = g;
}

DataLoader::Iterator DataLoader::begin() {
  if (epoch_ != next_epoch_) make_order(next_epoch_);
  ++next_epoch_;
  return Iterator(this, 0);
}

Batch DataLoader::batch(int64_t i) const {
  DIFFLUT_CHECK(i >= 0 && i < num_batches(), "DataLoader: batch ", i, " is outside [0, ",
                num_batches(), ")");
  const int64_t start = i * batch_size_;
  const int64_t b = std::min(batch_size_, n_ - start);
  const int64_t* rows = order_.data() + start;
  Batch out;
  Tensor x = Tensor::empty({b, f_}, DType::f32);
  gather_features_f32(features_, rows, b, x.data<float>());
  if (augment_.enabled()) {
    // Its own key (the seed mixed with a constant), so augmentation draws never share a Philox
    // stream with the epoch orders, splits and subsets drawn from the seed itself.
    augment_rows(x.data<float>(), b, geometry_, augment_, seed_ ^ kAugmentKey,
                 static_cast<uint64_t>(epoch_) << kEpochStreamShift, start);
  }
  Tensor y = Tensor::empty({b}, DType::i64);
  const int64_t* labels = labels_.data<int64_t>();
  int64_t* yd = y.data<int64_t>();
  for (int64_t k = 0; k < b; ++k) yd[k] = labels[rows[k]];
  out.features = device_ == Device::cpu ? x : x.to(device_);
  out.labels = device_ == Device::cpu ? y : y.to(device_);
  return out;
}

std::pair<Dataset, Dataset> split_validation_count(const Dataset& dataset, int64_t count,
                                                   uint64_t seed) {
  const int64_t n = dataset.size();
  DIFFLUT_CHECK(count >= 1 && count < n, "split_validation: dataset '", dataset.name, "' has ", n,
                " samples; expected a validation count in [1, ", n - 1, "], found ", count);
  std::vector<int64_t> perm = permutation_at(seed, kSplitStream, n);
  std::vector<int64_t> val(perm.begin(), perm.begin() + count);
  std::vector<int64_t> train(perm.begin() + count, perm.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  return {select_rows(dataset, train, "[train split]"), select_rows(dataset, val, "[val split]")};
}

std::pair<Dataset, Dataset> split_validation(const Dataset& dataset, double fraction,
                                             uint64_t seed) {
  DIFFLUT_CHECK(fraction > 0.0 && fraction < 1.0,
                "split_validation: expected a fraction in (0, 1), found ", fraction);
  const int64_t n = dataset.size();
  const int64_t count = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(n)));
  return split_validation_count(dataset, std::min(count, n - 1), seed);
}

std::pair<Dataset, Dataset> split_holdout(const Dataset& dataset, int64_t count) {
  const int64_t n = dataset.size();
  DIFFLUT_CHECK(count >= 1 && count < n, "split_holdout: dataset '", dataset.name, "' has ", n,
                " samples; expected a held-out count in [1, ", n - 1, "], found ", count);
  std::vector<int64_t> keep(static_cast<size_t>(n - count)), held(static_cast<size_t>(count));
  std::iota(keep.begin(), keep.end(), int64_t{0});
  std::iota(held.begin(), held.end(), n - count);
  std::pair<Dataset, Dataset> r{select_rows(dataset, keep), select_rows(dataset, held, "/holdout")};
  r.second.note = str_cat("held out: samples ", n - count, "..", n - 1, " of '", dataset.name,
                          "' (not the published test set)");
  return r;
}

Dataset subset(const Dataset& dataset, int64_t size, uint64_t seed) {
  DIFFLUT_CHECK(size > 0, "subset: expected a positive subset size, found ", size);
  const int64_t n = dataset.size();
  if (size > n) {
    // A documented clamp, but never a silent one: the run is not on the subset size asked for.
    std::cerr << "difflut: warning: subset size " << size << " is above the " << n
              << " samples of '" << dataset.name << "': using all " << n << "\n";
  }
  if (size >= n) return dataset;
  std::vector<int64_t> perm = permutation_at(seed, kSubsetStream, n);
  perm.resize(static_cast<size_t>(size));
  std::sort(perm.begin(), perm.end());
  return select_rows(dataset, perm, "[subset " + std::to_string(size) + "]");
}

}  // namespace difflut
