// Shared test helpers: GPU skipping, tensor comparisons, dataset locations.
#pragma once
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

// GPU cases call this first: without a usable GPU the case is skipped with a message, not failed.
#define DIFFLUT_REQUIRE_GPU()                                                     \
  do {                                                                            \
    if (!::difflut::cuda_available()) {                                           \
      MESSAGE((::std::string("skipped: no usable GPU (CUDA kernels compiled: ") + \
               (::difflut::cuda_compiled() ? "yes)" : "no)")));                   \
      return;                                                                     \
    }                                                                             \
  } while (0)

namespace difflut::test {

// Max |a - b| over all elements (compared in f64 on the host); shapes must match.
double max_abs_diff(const Tensor& a, const Tensor& b);
// CHECKs that a and b have equal shapes and every |a - b| <= atol + rtol * |b|.
void check_close(const Tensor& a, const Tensor& b, double atol = 1e-5, double rtol = 1e-5);
// CHECKs bitwise equality (same dtype, shape and bytes).
void check_equal(const Tensor& a, const Tensor& b);

// Dataset roots: $DIFFLUT_DATA_ROOT, else ../shared/data beside the checkout (set by CMake).
std::string data_root();
// Fashion-MNIST directory: $DIFFLUT_FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir();
// An f64 CPU tensor from values, and a tensor's values as f64 (hand-computed test cases).
Tensor f64(const std::vector<double>& values, const Shape& shape);
std::vector<double> vals(const Tensor& t);
// Values uniform in [lo, hi), drawn in f64 from `gen`, as a CPU tensor of `dt`.
Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi, DType dt);
// CHECKs every element of t against `expected` (relative tolerance `tol`), reporting the first few.
void check_vals(const Tensor& t, const std::vector<double>& expected, double tol = 1e-12);

// Runs a shell command, capturing stdout and stderr together.
struct CommandResult {
  int exit_code = -1;
  std::string output;
  std::string last_line() const;  // the last non-empty line of output
};
CommandResult run_command(const std::string& command);
// Path of a built executable: $DIFFLUT_BINARY_DIR/<name> (set by CTest), else <name> in the
// build directory that holds this test executable (<build>/tests/test_x).
std::string built_program(const std::string& name);

// A fresh empty temporary directory for one test.
std::string temp_dir(const std::string& tag);

// Random bits {0, 1} as an f32 CPU tensor [B, F], drawn from Generator(seed).
Tensor random_bits(int64_t B, int64_t F, uint64_t seed);
// A toy classification set: features x [n, F] uniform in [0, 1], labels y [n] i64 uniform in
// [0, C); class c lifts its block of features (f * C / F == c) into [0.5, 1].
void toy_data(int64_t n, int64_t F, int C, uint64_t seed, Tensor& x, Tensor& y);

}  // namespace difflut::test
