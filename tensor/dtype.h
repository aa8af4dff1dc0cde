// Element types a Tensor can hold, their sizes and names, and a dispatch helper for kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tensor/error.h"

namespace difflut {

enum class DType : uint8_t { f32, f64, i32, i64, u8 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::f64;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::i32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::i64;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::u8;
};
template <class T>
constexpr DType dtype_of = DTypeOf<T>::value;

}  // namespace difflut

// One case of a dispatch switch: binds `alias` to `type` and runs the trailing lambda-body.
#define DIFFLUT_DISPATCH_CASE(dt, type, alias, ...) \
  case ::difflut::DType::dt: {                      \
    using alias = type;                             \
    return __VA_ARGS__();                           \
  }

// Runs the trailing lambda-body with `scalar_t` bound to float or double; other dtypes throw.
#define DIFFLUT_DISPATCH_FLOAT(dtype, opname, ...)                               \
  [&] {                                                                          \
    switch (dtype) {                                                             \
      DIFFLUT_DISPATCH_CASE(f32, float, scalar_t, __VA_ARGS__)                   \
      DIFFLUT_DISPATCH_CASE(f64, double, scalar_t, __VA_ARGS__)                  \
      default:                                                                   \
        DIFFLUT_FAIL(opname, ": expected a floating dtype (f32 or f64), found ", \
                     ::difflut::dtype_name(dtype));                              \
    }                                                                            \
  }()

// Same for every dtype.
#define DIFFLUT_DISPATCH_ALL(dtype, opname, ...)                 \
  [&] {                                                          \
    switch (dtype) {                                             \
      DIFFLUT_DISPATCH_CASE(f32, float, scalar_t, __VA_ARGS__)   \
      DIFFLUT_DISPATCH_CASE(f64, double, scalar_t, __VA_ARGS__)  \
      DIFFLUT_DISPATCH_CASE(i32, int32_t, scalar_t, __VA_ARGS__) \
      DIFFLUT_DISPATCH_CASE(i64, int64_t, scalar_t, __VA_ARGS__) \
      DIFFLUT_DISPATCH_CASE(u8, uint8_t, scalar_t, __VA_ARGS__)  \
    }                                                            \
    DIFFLUT_FAIL(opname, ": unknown dtype");                     \
  }()

// Integer index dtypes (i32, i64) bound to `index_t`.
#define DIFFLUT_DISPATCH_INDEX(dtype, opname, ...)                             \
  [&] {                                                                        \
    switch (dtype) {                                                           \
      DIFFLUT_DISPATCH_CASE(i32, int32_t, index_t, __VA_ARGS__)                \
      DIFFLUT_DISPATCH_CASE(i64, int64_t, index_t, __VA_ARGS__)                \
      default:                                                                 \
        DIFFLUT_FAIL(opname, ": expected an index dtype (i32 or i64), found ", \
                     ::difflut::dtype_name(dtype));                            \
    }                                                                          \
  }()
