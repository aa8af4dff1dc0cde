// Thermometer and level-code encoders: threshold fitting on the host and the graph-facing encode
// (thermometer op, level_code op).
#include "encoders/thermometer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "encoders/encoder_ops.h"
#include "encoders/normal_quantile.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {

constexpr const char* kKnownKinds =
    "thermometer (= uniform), uniform, gaussian, distributive, binary, gray, onehot, "
    "sign_magnitude, logarithmic";

// Where one feature's values live: data[first + n * stride], n = 0..count-1.
struct Column {
  int64_t first, stride, count;
};

// Order statistics sorted[k] for increasing ks, by successive nth_element on a scratch copy (O(n)
// per statistic instead of a full sort). After nth_element at k everything beyond k is >= sorted[k]
// and is exactly the multiset sorted[k+1..], so the next selection can start at k + 1.
template <class T>
void order_statistics(std::vector<T>& v, const std::vector<int64_t>& ks, double* out) {
  int64_t begin = 0;
  int64_t prev = -1;
  for (size_t i = 0; i < ks.size(); ++i) {
    const int64_t k = ks[i];
    if (k != prev) {
      std::nth_element(v.begin() + begin, v.begin() + k, v.end());
      begin = k + 1;
      prev = k;
    }
    out[i] = static_cast<double>(v[static_cast<size_t>(k)]);
  }
}

// Thresholds (double, nb per column) for one column of the data under `kind`.
template <class T>
void column_thresholds(const T* data, Column c, ThermometerKind kind, int nb,
                       const std::vector<double>& z, std::vector<T>& scratch, double* out) {
  LevelCode code;
  if (is_level_code(kind, &code)) {
    std::vector<double> v(static_cast<size_t>(c.count));
    for (int64_t n = 0; n < c.count; ++n) v[static_cast<size_t>(n)] = static_cast<double>(data[c.first + n * c.stride]);
    fit_level_thresholds(code, nb, v, out);
    return;
  }
  switch (kind) {
    case ThermometerKind::uniform: {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (int64_t n = 0; n < c.count; ++n) {
        const double v = static_cast<double>(data[c.first + n * c.stride]);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      for (int i = 1; i <= nb; ++i) out[i - 1] = lo + i * (hi - lo) / (nb + 1);
      return;
    }
    case ThermometerKind::gaussian: {
      // Two passes (mean, then squared deviations) in double, in a fixed order.
      double sum = 0.0;
      for (int64_t n = 0; n < c.count; ++n) sum += static_cast<double>(data[c.first + n * c.stride]);
      const double mu = sum / static_cast<double>(c.count);
      double ss = 0.0;
      for (int64_t n = 0; n < c.count; ++n) {
        const double d = static_cast<double>(data[c.first + n * c.stride]) - mu;
        ss += d * d;
      }
      const double sigma = std::sqrt(ss / static_cast<double>(c.count - 1));
      for (int i = 0; i < nb; ++i) out[i] = mu + sigma * z[static_cast<size_t>(i)];
      return;
    }
    case ThermometerKind::distributive: {
      scratch.resize(static_cast<size_t>(c.count));
      for (int64_t n = 0; n < c.count; ++n) scratch[static_cast<size_t>(n)] = data[c.first + n * c.stride];
      // floor(N i / (b + 1)) in integers: the same index torch_dwn computes as int(N * i / (b + 1)).
      std::vector<int64_t> ks(static_cast<size_t>(nb));
      for (int i = 1; i <= nb; ++i) ks[static_cast<size_t>(i - 1)] = c.count * i / (nb + 1);
      order_statistics(scratch, ks, out);
      return;
    }
    default: return;  // level codes: handled above
  }
}

template <class T>
std::vector<double> fit_thresholds(const T* data, int64_t N, int64_t F, ThermometerKind kind,
                                   int nb, bool feature_wise) {
  for (int64_t j = 0; j < N * F; ++j)
    DIFFLUT_CHECK(std::isfinite(static_cast<double>(data[j])),
                  "thermometer encoder: fit expects finite data, found ", data[j], " at row ",
                  j / F, ", feature ", j % F);
  std::vector<double> z;
  if (kind == ThermometerKind::gaussian) {
    for (int i = 1; i <= nb; ++i) z.push_back(inverse_normal_cdf(static_cast<double>(i) / (nb + 1)));
  }
  const int64_t nt = thresholds_per_feature(kind, nb);
  std::vector<double> out(static_cast<size_t>(F * nt));
  if (!feature_wise) {
    std::vector<T> scratch;
    column_thresholds(data, Column{0, 1, N * F}, kind, nb, z, scratch, out.data());
    for (int64_t f = 1; f < F; ++f) std::copy(out.begin(), out.begin() + nt, out.begin() + f * nt);
    return out;
  }
  // Features are independent and each writes only its own row, so the result does not depend on
  // how parallel_for splits them.
  parallel_for(0, F, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> scratch;
    for (int64_t f = lo; f < hi; ++f)
      column_thresholds(data, Column{f, F, N}, kind, nb, z, scratch, out.data() + f * nt);
  });
  return out;
}

std::string bool_name(bool b) { return b ? "true" : "false"; }

const std::string& state_entry(const EncoderState& s, const std::string& key) {
  auto it = s.metadata.find(key);
  DIFFLUT_CHECK(it != s.metadata.end(), "thermometer encoder state: missing metadata '", key, "'");
  return it->second;
}

}  // namespace

std::string thermometer_kind_name(ThermometerKind kind) {
  switch (kind) {
    case ThermometerKind::uniform: return "uniform";
    case ThermometerKind::gaussian: return "gaussian";
    case ThermometerKind::distributive: return "distributive";
    default: break;
  }
  LevelCode code;
  return is_level_code(kind, &code) ? level_code_name(code) : "?";
}

bool is_level_code(ThermometerKind kind, LevelCode* code) {
  LevelCode c;
  switch (kind) {
    case ThermometerKind::binary: c = LevelCode::binary; break;
    case ThermometerKind::gray: c = LevelCode::gray; break;
    case ThermometerKind::onehot: c = LevelCode::onehot; break;
    case ThermometerKind::sign_magnitude: c = LevelCode::sign_magnitude; break;
    case ThermometerKind::logarithmic: c = LevelCode::logarithmic; break;
    default: return false;
  }
  if (code) *code = c;
  return true;
}

int64_t thresholds_per_feature(ThermometerKind kind, int num_bits) {
  LevelCode code;
  return is_level_code(kind, &code) ? level_count(code, num_bits) - 1 : num_bits;
}

ThermometerKind parse_thermometer_kind(const std::string& name) {
  if (name == "thermometer" || name == "uniform") return ThermometerKind::uniform;
  if (name == "gaussian") return ThermometerKind::gaussian;
  if (name == "distributive") return ThermometerKind::distributive;
  LevelCode code;
  if (find_level_code(name, &code))
    for (ThermometerKind k : {ThermometerKind::binary, ThermometerKind::gray, ThermometerKind::onehot,
                              ThermometerKind::sign_magnitude, ThermometerKind::logarithmic})
      if (thermometer_kind_name(k) == name) return k;
  DIFFLUT_FAIL("thermometer encoder: '", name, "' is not a thermometer kind (known: ", kKnownKinds,
               ")");
}

ThermometerEncoder::ThermometerEncoder(ThermometerKind kind, int num_bits, bool feature_wise)
    : kind_(kind), num_bits_(num_bits), feature_wise_(feature_wise) {
  DIFFLUT_CHECK(num_bits >= 1, "thermometer encoder: expected num_bits >= 1, found ", num_bits);
  LevelCode code;
  if (is_level_code(kind, &code)) check_level_code_bits(code, num_bits);
}

ThermometerEncoder::ThermometerEncoder(const std::string& kind_name, int num_bits, bool feature_wise)
    : ThermometerEncoder(parse_thermometer_kind(kind_name), num_bits, feature_wise) {}

ThermometerEncoder& ThermometerEncoder::fit(const Tensor& data) {
  DIFFLUT_CHECK(data.defined(), "thermometer encoder: fit on an undefined tensor");
  DIFFLUT_CHECK(data.dim() == 2, "thermometer encoder: fit expects data [N, F], found ",
                data.describe());
  const int64_t N = data.size(0), F = data.size(1);
  DIFFLUT_CHECK(N >= 1 && F >= 1, "thermometer encoder: fit expects non-empty data [N, F], found ",
                data.describe());
  DIFFLUT_CHECK(kind_ != ThermometerKind::gaussian || (feature_wise_ ? N : N * F) >= 2,
                "thermometer encoder: gaussian fit needs at least 2 values per standard deviation "
                "(sigma uses N - 1), found ", data.describe());
  const Tensor host = data.to(Device::cpu);
  std::vector<double> t = DIFFLUT_DISPATCH_FLOAT(data.dtype(), "thermometer encoder: fit", [&] {
    return fit_thresholds(host.data<scalar_t>(), N, F, kind_, num_bits_, feature_wise_);
  });
  std::vector<float> tf(t.begin(), t.end());
  set_thresholds(Tensor::from_vector(tf, {F, num_thresholds()}));
  return *this;
}

void ThermometerEncoder::set_thresholds(Tensor t) {
  thresholds_ = std::move(t);
  cache_ = {};
  code_cache_ = {};
  cache_[0] = thresholds_;
}

void ThermometerEncoder::check_fitted(const char* what) const {
  DIFFLUT_CHECK(fitted(), "thermometer encoder (", kind_name(), ", ", num_bits_, " bits): ", what,
                " before fit(); call fit(data) or load a fitted state first");
}

const Tensor& ThermometerEncoder::thresholds() const {
  check_fitted("thresholds()");
  return thresholds_;
}

int64_t ThermometerEncoder::num_features() const {
  check_fitted("num_features()");
  return thresholds_.size(0);
}

int64_t ThermometerEncoder::output_features() const {
  check_fitted("output_features()");
  return thresholds_.size(0) * num_bits_;
}

const Tensor& ThermometerEncoder::thresholds_on(Device device, DType dtype) const {
  const size_t slot = static_cast<size_t>(device) * 2 + (dtype == DType::f64 ? 1 : 0);
  Tensor& c = cache_[slot];
  if (!c.defined()) c = thresholds_.to(dtype).to(device);
  return c;
}

Var ThermometerEncoder::encode(Graph& g, Var x) const {
  check_fitted("encode");
  DIFFLUT_CHECK(x.graph == &g, "thermometer encoder: x belongs to another graph");
  const DType dt = x.dtype();
  DIFFLUT_CHECK(is_floating(dt), "thermometer encoder: expected x [B, F] of dtype f32 or f64, found ",
                x.value().describe());
  Attrs attrs;
  attrs.tensors = {thresholds_on(x.device(), dt)};
  LevelCode code;
  if (!is_level_code(kind_, &code)) return g.apply(thermometer_op(), {x}, std::move(attrs));
  std::array<Tensor, 2>& c = code_cache_[static_cast<size_t>(x.device()) * 2 + (dt == DType::f64 ? 1 : 0)];
  if (!c[0].defined()) {
    auto as_tensor = [&](const std::vector<uint8_t>& v, Shape shape) {
      return Tensor::from_vector(std::vector<double>(v.begin(), v.end()), std::move(shape)).to(dt).to(x.device());
    };
    c[0] = as_tensor(level_strict(code, num_bits_), {num_thresholds()});
    c[1] = as_tensor(level_table(code, num_bits_), {num_thresholds() + 1, num_bits_});
  }
  attrs.tensors.push_back(c[0]);
  attrs.tensors.push_back(c[1]);
  return g.apply(level_code_op(), {x}, std::move(attrs));
}

Tensor ThermometerEncoder::encode(const Tensor& x) const {
  DIFFLUT_CHECK(x.defined(), "thermometer encoder: encode of an undefined tensor");
  NoGradGuard no_grad;
  Graph g;
  return encode(g, g.input(x, "x")).value();
}

EncoderState ThermometerEncoder::to_state() const {
  check_fitted("to_state()");
  EncoderState s;
  s.tensors["thresholds"] = thresholds_.clone();
  s.metadata["encoder"] = "thermometer";
  s.metadata["kind"] = kind_name();
  s.metadata["num_bits"] = std::to_string(num_bits_);
  s.metadata["feature_wise"] = bool_name(feature_wise_);
  return s;
}

ThermometerEncoder ThermometerEncoder::from_state(const EncoderState& s) {
  const std::string& enc = state_entry(s, "encoder");
  DIFFLUT_CHECK(enc == "thermometer", "thermometer encoder state: expected encoder 'thermometer', found '",
                enc, "'");
  const ThermometerKind kind = parse_thermometer_kind(state_entry(s, "kind"));
  const std::string& bits_s = state_entry(s, "num_bits");
  size_t used = 0;
  int bits = 0;
  try {
    bits = std::stoi(bits_s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  DIFFLUT_CHECK(used == bits_s.size() && used > 0 && bits >= 1,
                "thermometer encoder state: expected num_bits to be a positive integer, found '",
                bits_s, "'");
  const std::string& fw = state_entry(s, "feature_wise");
  DIFFLUT_CHECK(fw == "true" || fw == "false",
                "thermometer encoder state: expected feature_wise 'true' or 'false', found '", fw,
                "'");
  auto it = s.tensors.find("thresholds");
  DIFFLUT_CHECK(it != s.tensors.end() && it->second.defined(),
                "thermometer encoder state: missing tensor 'thresholds'");
  const Tensor& t = it->second;
  const ThermometerEncoder checked(kind, bits);  // refuses num_bits the kind cannot take
  const int64_t nt = checked.num_thresholds();
  DIFFLUT_CHECK(t.dim() == 2 && t.size(0) >= 1 && t.size(1) == nt && is_floating(t.dtype()),
                "thermometer encoder state: expected thresholds f32 [F, ", nt, "], found ",
                t.describe());
  ThermometerEncoder e(kind, bits, fw == "true");
  Tensor host = t.to(Device::cpu).to(DType::f32).clone();
  if (is_level_code(kind)) {
    // A level is the count of boundaries passed, so they must be finite and ascending per feature
    // (hdl/ relies on it too); a corrupt file is refused here, not mis-encoded later.
    const std::vector<float> v = host.to_vector<float>();
    for (int64_t f = 0; f < host.size(0); ++f)
      for (int64_t k = 0; k < nt; ++k) {
        const float a = v[static_cast<size_t>(f * nt + k)];
        DIFFLUT_CHECK(std::isfinite(a) && (k == 0 || v[static_cast<size_t>(f * nt + k - 1)] <= a),
                      "thermometer encoder state (", thermometer_kind_name(kind), "): expected finite ascending "
                      "thresholds per feature, found feature ", f, " threshold ", k, " = ", a,
                      k > 0 ? str_cat(" after ", v[static_cast<size_t>(f * nt + k - 1)]) : std::string());
      }
  }
  e.set_thresholds(std::move(host));
  return e;
}

}  // namespace difflut
