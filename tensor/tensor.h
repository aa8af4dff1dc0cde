// Tensor: a contiguous, typed, device-resident array with shared storage. Views (reshape, a slice of
// a flat parameter buffer) share the storage and carry a byte offset; there are no strides.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/shape.h"

namespace difflut {

class Generator;

// One allocation from the caching allocator; freed back to it when the last Tensor lets go.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::cpu;
  Storage(Device d, size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor {
 public:
  Tensor() = default;

  // --- factories -------------------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu);
  // 0, 1, ..., n-1
  static Tensor arange(int64_t n, DType dtype = DType::i64, Device device = Device::cpu);
  // Uniform in [0, 1), standard normal, and uniform integers in [low, high), all drawn from the
  // counter-based generator: the same seed gives the same numbers on the CPU and on the GPU.
  static Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32,
                     Device device = Device::cpu);
  static Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32,
                      Device device = Device::cpu);
  static Tensor randint(const Shape& shape, int64_t low, int64_t high, Generator& gen,
                        DType dtype = DType::i64, Device device = Device::cpu);
  // Copies host values into a new tensor of the given shape (numel must match).
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            Device device = Device::cpu);
  // A view of `bytes_offset` into existing storage (used for flat parameter buffers).
  static Tensor view_of(std::shared_ptr<Storage> storage, size_t bytes_offset, const Shape& shape,
                        DType dtype);

  // --- metadata --------------------------------------------------------------------------------
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  // Extent of dimension d; negative d counts from the end.
  int64_t size(int64_t d) const;
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device : Device::cpu; }
  bool is_cuda() const { return device() == Device::cuda; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  size_t offset_bytes() const { return offset_; }
  std::string describe() const;  // e.g. "f32[32, 784] on cpu"

  // --- raw access (typed access checks the dtype) -----------------------------------------------
  void* raw() { return static_cast<char*>(storage_->data) + offset_; }
  const void* raw() const { return static_cast<const char*>(storage_->data) + offset_; }
  template <class T>
  T* data();
  template <class T>
  const T* data() const;

  // --- copies and conversions -------------------------------------------------------------------
  Tensor to(Device device) const;  // a copy on `device` (a shared view if already there)
  Tensor to(DType dtype) const;    // a converted copy (a shared view if already that dtype)
  Tensor clone() const;            // a deep copy on the same device
  Tensor reshape(const Shape& shape) const;  // a view; one extent may be -1
  template <class T>
  std::vector<T> to_vector() const;  // copies to host
  template <class T>
  T item() const;  // the single element of a one-element tensor
  double item_as_double() const;

  // --- in-place fills (outside the graph) ------------------------------------------------------
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  // same shape and dtype; any devices

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
};

// Throws unless a and b have equal shapes (op names the caller in the message).
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);
void check_dtype(const char* op, const Tensor& t, DType expected, const char* what);

// Device kernels behind fill_/to(dtype); defined in tensor_cuda.cu in CUDA builds.
void fill_cuda(Tensor& t, double value);
void cast_cuda(const Tensor& src, Tensor& dst);

// ------------------------------------------------------------------------------------------------
template <class T>
T* Tensor::data() {
  DIFFLUT_CHECK(defined(), "tensor: data() on an undefined tensor");
  DIFFLUT_CHECK(dtype_ == dtype_of<T>, "tensor: data<", dtype_name(dtype_of<T>), ">() on a ",
                describe());
  return static_cast<T*>(raw());
}
template <class T>
const T* Tensor::data() const {
  DIFFLUT_CHECK(defined(), "tensor: data() on an undefined tensor");
  DIFFLUT_CHECK(dtype_ == dtype_of<T>, "tensor: data<", dtype_name(dtype_of<T>), ">() on a ",
                describe());
  return static_cast<const T*>(raw());
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  DIFFLUT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
                "tensor.from_vector: ", values.size(), " values do not fill shape ",
                shape_str(shape));
  Tensor host = empty(shape, dtype_of<T>, Device::cpu);
  if (!values.empty()) std::memcpy(host.raw(), values.data(), values.size() * sizeof(T));
  return device == Device::cpu ? host : host.to(device);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = to(Device::cpu);
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}

template <class T>
T Tensor::item() const {
  DIFFLUT_CHECK(numel() == 1, "tensor.item: expected one element, found ", describe());
  return to_vector<T>()[0];
}

}  // namespace difflut
