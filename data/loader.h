// DataLoader: seeded, shuffled mini-batches of a Dataset on a requested device; validation splits
// and random subsets.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"

namespace difflut {

struct Batch {
  Tensor features;  // f32 [B, F]: u8 data scaled to [0, 1], float data as given
  Tensor labels;    // i64 [B]
};

// Iterates a dataset in mini-batches. With shuffle, epoch e visits the samples in the order
// Generator(seed) gives for its own counter stream e (offset e * 2^40), so the order of epoch e
// depends only on (seed, e, N): the same seed replays the same sequence of epochs, and skipping
// epochs (set_epoch) does not change later ones. Without shuffle the order is 0..N-1.
//
//   DataLoader loader(train, 32, /*shuffle=*/true, /*seed=*/1);
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (const Batch& b : loader) { ... }   // each range-for runs the next epoch
//
// The dataset's labels are checked on the host against num_classes once, at construction; an
// empty dataset is an Error.
// The loader keeps a reference to the dataset's tensors (shared storage), not a copy.
class DataLoader {
 public:
  DataLoader(const Dataset& dataset, int64_t batch_size, bool shuffle = true, uint64_t seed = 0,
             bool drop_last = false, Device device = Device::cpu);

  int64_t size() const { return n_; }  // samples per epoch before drop_last
  int64_t batch_size() const { return batch_size_; }
  int64_t num_batches() const;  // per epoch
  Device device() const { return device_; }

  // The epoch whose order order() and batch() use (0 after construction).
  int64_t epoch() const { return epoch_; }
  // The epoch the next begin() runs.
  int64_t next_epoch() const { return next_epoch_; }
  // Makes `epoch` current (order(), batch()) and the one the next begin() runs.
  void set_epoch(int64_t epoch);
  // Training-time augmentation of every batch from now on (augment.h): the draws depend on the
  // seed, the epoch and the position in it only. Throws unless the samples are images the
  // options fit. Default: none.
  void set_augment(const AugmentOptions& options);
  const AugmentOptions& augment() const { return augment_; }
  // Sample indices of the current epoch, in visiting order.
  const std::vector<int64_t>& order() const { return order_; }
  // Batch i of the current epoch (0 <= i < num_batches()).
  Batch batch(int64_t i) const;

  class Iterator {
   public:
    Iterator(const DataLoader* loader, int64_t i) : loader_(loader), i_(i) {}
    Batch operator*() const { return loader_->batch(i_); }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    const DataLoader* loader_;
    int64_t i_;
  };
  // Runs next_epoch(): makes it current and moves next_epoch() on by one, so each range-for over
  // the loader is the next epoch.
  Iterator begin();
  Iterator end() const { return Iterator(this, num_batches()); }

 private:
  void make_order(int64_t epoch);

  Tensor features_;  // host, as stored
  Tensor labels_;    // host i64
  int64_t n_ = 0;
  int64_t f_ = 0;
  int64_t batch_size_;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
  Device device_;
  int64_t epoch_ = 0;       // the epoch order_ holds
  int64_t next_epoch_ = 0;  // what begin() runs
  std::vector<int64_t> order_;
  AugmentOptions augment_;
  ImageGeometry geometry_;
  Shape sample_shape_;
  std::string name_;
};

// Splits `dataset` at random into (train, validation): `fraction` in (0, 1) of the samples
// (rounded, at least 1) go to validation. Both keep the original relative order; together they
// hold every sample exactly once. Same seed, same split.
std::pair<Dataset, Dataset> split_validation(const Dataset& dataset, double fraction,
                                             uint64_t seed);
// Same with an exact validation count in [1, N - 1].
std::pair<Dataset, Dataset> split_validation_count(const Dataset& dataset, int64_t count,
                                                   uint64_t seed);

// The last `count` samples in file order as a held-out test set, the rest for training:
// (train, held out), both in file order; count in [1, N - 1]. CIFAR-10's training batches with
// count 10000 give data_batch_5 as the held-out set. The held-out set's note says where it came from.
std::pair<Dataset, Dataset> split_holdout(const Dataset& dataset, int64_t count);

// A random subset of `size` samples (original relative order kept), for `subset_size` options.
// size >= N returns the whole dataset (size > N also prints a warning line to stderr saying so);
// size must be positive.
Dataset subset(const Dataset& dataset, int64_t size, uint64_t seed);

}  // namespace difflut
