// Tensor construction, copies between devices, dtype conversion and fills.
#include "tensor/tensor.h"

#include <cstring>

#include "tensor/allocator.h"
#include "tensor/cuda_utils.h"
#include "tensor/random.h"
#include "tensor/random_fill.h"

namespace difflut {

Storage::Storage(Device d, size_t nbytes) : data(allocate(d, nbytes)), bytes(nbytes), device(d) {}
Storage::~Storage() { deallocate(device, data, bytes); }

Device parse_device(std::string_view s, std::string_view what) {
  if (s == "cpu") return Device::cpu;
  if (s == "cuda" || s == "gpu") return Device::cuda;
  DIFFLUT_FAIL(what, ": expected 'cpu' or 'cuda', found '", s, "'");
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    DIFFLUT_CHECK(d >= 0, "tensor.empty: negative extent in shape ", shape_str(shape));
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  // shape_numel checks its own product; the byte count can still overflow (2^62 f64 elements).
  size_t bytes = 0;
  DIFFLUT_CHECK(
      !__builtin_mul_overflow(static_cast<size_t>(shape_numel(shape)), dtype_size(dtype), &bytes),
      "tensor.empty: ", shape_str(shape), " of ", dtype_name(dtype),
      " needs more bytes than an address can hold");
  t.storage_ = std::make_shared<Storage>(device, bytes);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return empty(shape, dtype, device).zero_();
}
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}
Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
  DIFFLUT_CHECK(n >= 0, "tensor.arange: expected n >= 0, found ", n);
  Tensor host = empty({n}, dtype, Device::cpu);
  DIFFLUT_DISPATCH_ALL(dtype, "arange", [&] {
    scalar_t* p = host.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<scalar_t>(i);
  });
  return host.to(device);
}

namespace {
Tensor random_tensor(const Shape& shape, Generator& gen, DType dtype, Device device,
                     RandomKind kind, int64_t low, int64_t high) {
  // Normals go through log/cos, whose last bit differs between the host's libm and CUDA's, so a
  // CUDA normal draw is made on the host and copied: bit-identical to the CPU draw, and only used
  // for initialisation. Uniform and integer draws are exact integer/scaling math on either device.
  const Device fill_on = kind == RandomKind::normal ? Device::cpu : device;
  Tensor t = Tensor::empty(shape, dtype, fill_on);
  uint64_t start = gen.advance(static_cast<uint64_t>(t.numel()));
  if (fill_on == Device::cpu) {
    random_fill_cpu(t, kind, start, gen.seed(), low, high);
  } else {
    random_fill_cuda(t, kind, start, gen.seed(), low, high);
  }
  return t.to(device);
}
}  // namespace

Tensor Tensor::rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  DIFFLUT_CHECK(is_floating(dtype), "tensor.rand: expected a floating dtype, found ",
                dtype_name(dtype));
  return random_tensor(shape, gen, dtype, device, RandomKind::uniform, 0, 0);
}
Tensor Tensor::randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  DIFFLUT_CHECK(is_floating(dtype), "tensor.randn: expected a floating dtype, found ",
                dtype_name(dtype));
  return random_tensor(shape, gen, dtype, device, RandomKind::normal, 0, 0);
}
Tensor Tensor::randint(const Shape& shape, int64_t low, int64_t high, Generator& gen, DType dtype,
                       Device device) {
  DIFFLUT_CHECK(high > low, "tensor.randint: expected low < high, found [", low, ", ", high, ")");
  return random_tensor(shape, gen, dtype, device, RandomKind::integer, low, high);
}

Tensor Tensor::view_of(std::shared_ptr<Storage> storage, size_t bytes_offset, const Shape& shape,
                       DType dtype) {
  DIFFLUT_ASSERT(storage);
  DIFFLUT_ASSERT(bytes_offset + shape_numel(shape) * dtype_size(dtype) <= storage->bytes);
  Tensor t;
  t.storage_ = std::move(storage);
  t.offset_ = bytes_offset;
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

int64_t Tensor::size(int64_t d) const {
  int64_t nd = dim();
  if (d < 0) d += nd;
  DIFFLUT_CHECK(d >= 0 && d < nd, "tensor.size: dimension ", d, " out of range for ", describe());
  return shape_[static_cast<size_t>(d)];
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return str_cat(dtype_name(dtype_), shape_str(shape_), " on ", device_name(device()));
}

Tensor Tensor::to(Device target) const {
  DIFFLUT_CHECK(defined(), "tensor.to: undefined tensor");
  if (target == device()) return *this;
  Tensor out = empty(shape_, dtype_, target);
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType target) const {
  DIFFLUT_CHECK(defined(), "tensor.to: undefined tensor");
  if (target == dtype_) return *this;
  Tensor out = empty(shape_, target, device());
  if (device() == Device::cuda) {
    cast_cuda(*this, out);
    return out;
  }
  const int64_t n = numel();
  DIFFLUT_DISPATCH_ALL(dtype_, "to(dtype)", [&] {
    using src_t = scalar_t;
    const src_t* src = data<src_t>();
    DIFFLUT_DISPATCH_ALL(target, "to(dtype)", [&] {
      scalar_t* dst = out.data<scalar_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<scalar_t>(src[i]);
    });
  });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      DIFFLUT_CHECK(infer_at < 0, "reshape: more than one -1 in ", shape_str(shape));
      infer_at = static_cast<int64_t>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer_at >= 0) {
    DIFFLUT_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape ", describe(), " to ",
                  shape_str(shape));
    s[static_cast<size_t>(infer_at)] = numel() / known;
  }
  DIFFLUT_CHECK(shape_numel(s) == numel(), "reshape: cannot reshape ", describe(), " (", numel(),
                " elements) to ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

double Tensor::item_as_double() const {
  DIFFLUT_CHECK(numel() == 1, "tensor.item: expected one element, found ", describe());
  Tensor host = to(Device::cpu);
  return DIFFLUT_DISPATCH_ALL(dtype_, "item",
                              [&] { return static_cast<double>(host.data<scalar_t>()[0]); });
}

Tensor& Tensor::zero_() {
  if (device() == Device::cpu) {
    std::memset(raw(), 0, nbytes());
  } else {
    cuda_memset_zero(raw(), nbytes());
  }
  return *this;
}

Tensor& Tensor::fill_(double value) {
  if (device() == Device::cuda) {
    fill_cuda(*this, value);
    return *this;
  }
  const int64_t n = numel();
  DIFFLUT_DISPATCH_ALL(dtype_, "fill", [&] {
    scalar_t* p = data<scalar_t>();
    const scalar_t v = static_cast<scalar_t>(value);
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  DIFFLUT_CHECK(src.numel() == numel() && src.dtype() == dtype_, "tensor.copy_: cannot copy ",
                src.describe(), " into ", describe());
  const size_t n = nbytes();
  if (device() == Device::cpu && src.device() == Device::cpu) {
    if (n) std::memmove(raw(), src.raw(), n);
  } else if (device() == Device::cpu) {
    cuda_memcpy_d2h(raw(), src.raw(), n);
  } else if (src.device() == Device::cpu) {
    cuda_memcpy_h2d(raw(), src.raw(), n);
  } else {
    cuda_memcpy_d2d(raw(), src.raw(), n);
  }
  return *this;
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  DIFFLUT_CHECK(a.shape() == b.shape(), op, ": expected equal shapes, found ", a.describe(),
                " and ", b.describe());
}
void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  DIFFLUT_CHECK(a.device() == b.device(), op, ": expected both operands on one device, found ",
                a.describe(), " and ", b.describe());
}
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  DIFFLUT_CHECK(a.dtype() == b.dtype(), op, ": expected equal dtypes, found ", a.describe(),
                " and ", b.describe());
}
void check_dtype(const char* op, const Tensor& t, DType expected, const char* what) {
  DIFFLUT_CHECK(t.dtype() == expected, op, ": expected ", what, " of dtype ", dtype_name(expected),
                ", found ", t.describe());
}


}  // namespace difflut
