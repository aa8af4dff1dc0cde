// Shared test helpers (see test_util.h).
#include "test_util.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace difflut::test {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> va = a.to(DType::f64).to_vector<double>();
  std::vector<double> vb = b.to(DType::f64).to_vector<double>();
  double m = 0.0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::fabs(va[i] - vb[i]));
  return m;
}

void check_close(const Tensor& a, const Tensor& b, double atol, double rtol) {
  REQUIRE_MESSAGE(a.shape() == b.shape(), a.describe(), " vs ", b.describe());
  std::vector<double> va = a.to(DType::f64).to_vector<double>();
  std::vector<double> vb = b.to(DType::f64).to_vector<double>();
  int bad = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const bool ok = std::fabs(va[i] - vb[i]) <= atol + rtol * std::fabs(vb[i]) ||
                    (std::isnan(va[i]) && std::isnan(vb[i]));
    if (!ok && bad++ < 5) CHECK_MESSAGE(ok, "element ", i, ": ", va[i], " vs ", vb[i]);
  }
  CHECK_MESSAGE(bad == 0, bad, " of ", va.size(), " elements differ");
}

void check_equal(const Tensor& a, const Tensor& b) {
  REQUIRE_MESSAGE(a.shape() == b.shape(), a.describe(), " vs ", b.describe());
  REQUIRE(a.dtype() == b.dtype());
  Tensor ha = a.to(Device::cpu), hb = b.to(Device::cpu);
  CHECK(std::memcmp(ha.raw(), hb.raw(), ha.nbytes()) == 0);
}

std::string data_root() {
  if (const char* v = std::getenv("DIFFLUT_DATA_ROOT")) return v;
  if (const char* v = std::getenv("DIFFLUT_DEFAULT_DATA_ROOT")) return v;
  return "../shared/data";
}

std::string fashion_mnist_dir() {
  if (const char* v = std::getenv("DIFFLUT_FASHION_MNIST_DIR")) return v;
  return "/usr/share/datasets/fashion-mnist";
}

Tensor f64(const std::vector<double>& values, const Shape& shape) {
  return Tensor::from_vector(values, shape);
}

std::vector<double> vals(const Tensor& t) { return t.to(DType::f64).to_vector<double>(); }

Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi, DType dt) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = lo + (hi - lo) * e;
  return Tensor::from_vector(v, shape).to(dt);
}

void check_vals(const Tensor& t, const std::vector<double>& expected, double tol) {
  const std::vector<double> v = vals(t);
  REQUIRE(v.size() == expected.size());
  int bad = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const bool ok = v[i] == doctest::Approx(expected[i]).epsilon(tol);
    if (!ok && bad++ < 5)
      CHECK_MESSAGE(ok, "element ", i, ": ", v[i], " vs expected ", expected[i]);
  }
  CHECK_MESSAGE(bad == 0, bad, " of ", v.size(), " elements differ");
}

std::string CommandResult::last_line() const {
  size_t end = output.find_last_not_of("\r\n ");
  if (end == std::string::npos) return "";
  size_t start = output.find_last_of('\n', end);
  return output.substr(start == std::string::npos ? 0 : start + 1,
                       end - (start == std::string::npos ? 0 : start + 1) + 1);
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "could not run: ", command);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string built_program(const std::string& name) {
  if (const char* v = std::getenv("DIFFLUT_BINARY_DIR"); v && *v)
    return std::string(v) + "/" + name;
  // Run by hand from anywhere: the suites live in <build>/tests/, the programs in <build>/.
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) return (self.parent_path().parent_path() / name).string();
  return "./" + name;
}

std::string temp_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  fs::path p =
      fs::temp_directory_path() / ("difflut-test-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

Tensor random_bits(int64_t B, int64_t F, uint64_t seed) {
  Generator g(seed);
  Tensor u = Tensor::rand({B, F}, g);
  float* p = u.data<float>();
  for (int64_t i = 0; i < u.numel(); ++i) p[i] = p[i] < 0.5f ? 0.f : 1.f;
  return u;
}

void toy_data(int64_t n, int64_t F, int C, uint64_t seed, Tensor& x, Tensor& y) {
  Generator g(seed);
  x = Tensor::rand({n, F}, g);
  y = Tensor::empty({n}, DType::i64);
  float* xp = x.data<float>();
  int64_t* yp = y.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    yp[i] = static_cast<int64_t>(g.below(static_cast<uint64_t>(C)));
    for (int64_t f = 0; f < F; ++f)
      if (f * C / F == yp[i]) xp[i * F + f] = 0.5f + 0.5f * xp[i * F + f];
  }
}

}  // namespace difflut::test
