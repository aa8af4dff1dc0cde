// Training step 1, the data (see train_data.h).
#include "common/training/train_data.h"

#include <tuple>
#include <utility>

#include "data/loader.h"
#include "data/registry.h"
#include "tensor/error.h"

namespace difflut::app {

TrainingData load_training_data(const DataSettings& s, double val_fraction, uint64_t seed) {
  TrainingData d;
  Dataset train_full = load_dataset(s.dataset, "train", s.data_root);
  if (s.holdout > 0) {
    // The last `holdout` training samples in file order are the test set (CIFAR-10: holdout=10000
    // is data_batch_5); the published test set is not read. Taken before subset_size, so a subset
    // never draws a held-out sample.
    DIFFLUT_CHECK(s.holdout < train_full.size(),
                  "config key 'dataloaders.holdout': expected fewer than the ", train_full.size(),
                  " training samples of '", s.dataset, "', found ", s.holdout);
    std::tie(train_full, d.test) = split_holdout(train_full, s.holdout);
  } else {
    d.test = load_dataset(s.dataset, "test", s.data_root);
  }
  // A subset larger than the dataset is an error, not a clamp: the run would be recorded (config,
  // database, sweep tables) as trained on a number of samples it never saw.
  DIFFLUT_CHECK(s.subset_size <= train_full.size(),
                "config key 'dataloaders.subset_size': ", "expected at most the ",
                train_full.size(), " training samples of '", s.dataset, "', found ", s.subset_size,
                " (set it to null for all of them)");
  if (s.subset_size > 0) train_full = subset(train_full, s.subset_size, seed);
  // An empty test set would report test_accuracy=0 for a completed run.
  DIFFLUT_CHECK(d.test.size() >= 1, "dataset '", s.dataset, "': expected test samples, found none");
  if (val_fraction > 0) {
    std::tie(d.train, d.val) = split_validation(train_full, val_fraction, seed + 1);
  } else {
    d.train = std::move(train_full);
  }
  DIFFLUT_CHECK(d.train.size() >= 1, "training set '", d.train.name, "' is empty");
  DIFFLUT_CHECK(d.test.feature_dim() == d.train.feature_dim(), "dataset '", s.dataset,
                "': train samples have ", d.train.feature_dim(), " features but test samples ",
                d.test.feature_dim());
  return d;
}

std::string describe_training_data(const TrainingData& d, const std::string& dataset) {
  return str_cat(dataset, ": ", d.train.size(), " train, ", d.val.size(), " validation, ",
                 d.test.size(), " test samples, ", d.train.feature_dim(), " features, ",
                 d.train.num_classes, " classes",
                 d.test.note.empty() ? "" : " (note: " + d.test.note + ")");
}

}  // namespace difflut::app
