// Dataset: features and labels of a classification data set held on the host, as the readers
// produce them (u8 images as stored, or f32 tabular features), plus row selection and conversion.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace difflut {

struct Dataset {
  // u8 [N, ...] as stored (e.g. [N, 28, 28] or [N, 3, 32, 32]), or f32/f64 [N, F] for tables.
  Tensor features;
  // i64 [N], each in [0, num_classes).
  Tensor labels;
  int num_classes = 0;
  std::string name;                      // e.g. "fashionmnist/train"
  std::vector<std::string> class_names;  // empty or num_classes entries
  // Anything a user must know when reporting results on this set (e.g. a partial test set).
  std::string note;

  int64_t size() const { return labels.defined() ? labels.numel() : 0; }
  // Shape of one sample (features.shape() without the leading N).
  Shape sample_shape() const;
  // Number of feature values per sample (product of sample_shape()).
  int64_t feature_dim() const;
  // f32 [N, F]: u8 features scaled to [0, 1] by 1/255, float features converted as given.
  Tensor features_f32() const;
  // Throws difflut::Error unless features/labels are defined on the host with matching N, labels
  // are i64 and every label is in [0, num_classes); the message names the dataset and the record.
  void validate() const;
};

// Rows `indices` of `ds` in that order (features and labels copied); name gets `suffix` appended.
Dataset select_rows(const Dataset& ds, const std::vector<int64_t>& indices,
                    const std::string& suffix = "");

// Writes rows `rows[0..count)` of `features` (host, any dtype, [N, ...]) to `out` as f32
// [count, F], u8 scaled by 1/255; rows == nullptr means rows 0..count-1. Indices must be valid.
void gather_features_f32(const Tensor& features, const int64_t* rows, int64_t count, float* out);

}  // namespace difflut
