// Dataset helpers: validation, row selection and conversion of stored features to f32.
#include "data/dataset.h"

#include <cstring>

#include "tensor/parallel.h"

namespace difflut {

Shape Dataset::sample_shape() const {
  DIFFLUT_CHECK(features.defined() && features.dim() >= 1, "dataset '", name,
                "': features are not defined");
  return Shape(features.shape().begin() + 1, features.shape().end());
}

int64_t Dataset::feature_dim() const { return shape_numel(sample_shape()); }

void Dataset::validate() const {
  DIFFLUT_CHECK(features.defined() && labels.defined(), "dataset '", name,
                "': features and labels must both be defined");
  DIFFLUT_CHECK(features.device() == Device::cpu && labels.device() == Device::cpu, "dataset '",
                name, "': expected host tensors, found features ", features.describe(),
                " and labels ", labels.describe());
  DIFFLUT_CHECK(labels.dtype() == DType::i64 && labels.dim() == 1, "dataset '", name,
                "': expected labels i64[N], found ", labels.describe());
  DIFFLUT_CHECK(features.dim() >= 1 && features.size(0) == labels.size(0), "dataset '", name,
                "': features ", features.describe(), " and labels ", labels.describe(),
                " disagree on the number of samples");
  DIFFLUT_CHECK(num_classes > 0, "dataset '", name, "': expected num_classes > 0, found ",
                num_classes);
  DIFFLUT_CHECK(class_names.empty() || static_cast<int>(class_names.size()) == num_classes,
                "dataset '", name, "': ", class_names.size(), " class names for ", num_classes,
                " classes");
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i) {
    DIFFLUT_CHECK(y[i] >= 0 && y[i] < num_classes, "dataset '", name, "': label ", y[i],
                  " of sample ", i, " is outside [0, ", num_classes, ")");
  }
}

Dataset select_rows(const Dataset& ds, const std::vector<int64_t>& indices,
                    const std::string& suffix) {
  DIFFLUT_CHECK(ds.features.defined() && ds.labels.defined(), "dataset '", ds.name,
                "': select_rows on an empty dataset");
  const int64_t n = ds.size();
  Shape shape = ds.features.shape();
  shape[0] = static_cast<int64_t>(indices.size());
  Dataset out;
  out.num_classes = ds.num_classes;
  out.name = ds.name + suffix;
  out.class_names = ds.class_names;
  out.note = ds.note;
  Tensor src = ds.features.to(Device::cpu);
  Tensor src_labels = ds.labels.to(Device::cpu);
  out.features = Tensor::empty(shape, src.dtype());
  out.labels = Tensor::empty({shape[0]}, DType::i64);
  const size_t row_bytes = static_cast<size_t>(ds.feature_dim()) * dtype_size(src.dtype());
  const char* from = static_cast<const char*>(src.raw());
  char* to = static_cast<char*>(out.features.raw());
  const int64_t* y = src_labels.data<int64_t>();
  int64_t* oy = out.labels.data<int64_t>();
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t i = indices[k];
    DIFFLUT_CHECK(i >= 0 && i < n, "dataset '", ds.name, "': row index ", i, " is outside [0, ", n,
                  ")");
    if (row_bytes) {
      std::memcpy(to + k * row_bytes, from + static_cast<size_t>(i) * row_bytes, row_bytes);
    }
    oy[k] = y[i];
  }
  return out;
}

namespace {
template <class T>
void gather_rows(const T* src, const int64_t* rows, int64_t count, int64_t f, float divisor,
                 float* out) {
  // Rows are independent, so a static split over rows is deterministic.
  parallel_for(0, count, 256, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const T* s = src + (rows ? rows[k] : k) * f;
      float* o = out + k * f;
      for (int64_t j = 0; j < f; ++j) o[j] = static_cast<float>(s[j]) / divisor;
    }
  });
}
}  // namespace

void gather_features_f32(const Tensor& features, const int64_t* rows, int64_t count, float* out) {
  DIFFLUT_CHECK(features.device() == Device::cpu,
                "gather_features_f32: expected host features, found ", features.describe());
  DIFFLUT_CHECK(features.dim() >= 1, "gather_features_f32: expected features [N, ...], found ",
                features.describe());
  const int64_t f = shape_numel(Shape(features.shape().begin() + 1, features.shape().end()));
  switch (features.dtype()) {
    case DType::u8: gather_rows(features.data<uint8_t>(), rows, count, f, 255.0f, out); break;
    case DType::f32: gather_rows(features.data<float>(), rows, count, f, 1.0f, out); break;
    case DType::f64: gather_rows(features.data<double>(), rows, count, f, 1.0f, out); break;
    case DType::i32: gather_rows(features.data<int32_t>(), rows, count, f, 1.0f, out); break;
    case DType::i64: gather_rows(features.data<int64_t>(), rows, count, f, 1.0f, out); break;
  }
}

Tensor Dataset::features_f32() const {
  DIFFLUT_CHECK(features.defined(), "dataset '", name, "': features are not defined");
  const int64_t n = features.size(0);
  const int64_t f = feature_dim();
  Tensor host = features.to(Device::cpu);
  if (host.dtype() == DType::f32) return host.reshape({n, f});
  Tensor out = Tensor::empty({n, f}, DType::f32);
  gather_features_f32(host, nullptr, n, out.data<float>());
  return out;
}

}  // namespace difflut
