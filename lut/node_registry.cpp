// The node-type registry (a process-wide list guarded by a mutex, created with its built-ins on
// first use) and the NodeType default methods.
#include "lut/node_registry.h"

#include <limits>
#include <mutex>

#include "lut/node_ops.h"
#include "lut/nodes/node_types.h"

namespace difflut {

namespace {
struct Registry {
  std::mutex mu;
  std::vector<std::shared_ptr<NodeType>> types;  // built-ins first, then registration order
  size_t num_builtins = 0;
  Registry() {
    types.push_back(dwn_node_type());
    for (auto& t : builtin_node_types()) types.push_back(std::move(t));
    num_builtins = types.size();
  }
};

Registry& registry() {
  static Registry r;  // built on first use (thread-safe), with the built-ins
  return r;
}

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_'))
      return false;
  return true;
}

std::string known_list(const Registry& r) {
  std::string s;
  for (const auto& t : r.types) s += (s.empty() ? "" : ", ") + t->name();
  return s;
}
}  // namespace

void NodeType::forward_eval(const Tensor& x, const Tensor& params, int k, Tensor& out) const {
  const Tensor tt = truth_table(params, k);
  const int64_t B = x.size(0), N = params.size(0), K = int64_t{1} << k;
  DIFFLUT_CHECK(tt.dtype() == DType::u8 && tt.shape() == Shape({N, K}), name(),
                ".truth_table: expected u8[", N, ", ", K, "], found ", tt.describe());
  const uint8_t* t = tt.data<uint8_t>();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "custom_lut", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* o = out.data<scalar_t>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j) {
        unsigned a = 0;
        for (int l = 0; l < k; ++l)
          a |= static_cast<unsigned>(xp[(b * N + j) * k + l] >= scalar_t(0.5)) << l;
        o[b * N + j] = t[j * K + a] ? scalar_t(1) : scalar_t(0);
      }
  });
}

double NodeType::regularization(const Tensor&, int) const { return 0.0; }

Var NodeType::apply(Var x, Var params, int k, bool training) const {
  return custom_lut(x, params, std::const_pointer_cast<NodeType>(shared_from_this()), k, training);
}

Var NodeType::corner_values(Var params, int k) const {
  DIFFLUT_CHECK(params.defined(), name(), ".corner_values: params is an undefined Var");
  DIFFLUT_CHECK(k >= 1 && k <= 8, name(), ".corner_values: k must be in [1, 8], found ", k);
  const int64_t N = params.size(0), K = int64_t{1} << k;
  std::vector<double> x(static_cast<size_t>(K * N * k));
  for (int64_t a = 0; a < K; ++a)
    for (int64_t j = 0; j < N; ++j)
      for (int l = 0; l < k; ++l)
        x[static_cast<size_t>((a * N + j) * k + l)] = double((a >> l) & 1);
  const Tensor corners = Tensor::from_vector(x, {K, N * k}).to(params.dtype()).to(params.device());
  return apply(params.graph->input(corners, name() + "_corners"), params, k, /*training=*/true);
}

std::pair<double, double> NodeType::param_clamp() const {
  return {-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
}
void NodeType::regularization_backward(const Tensor&, int, double, Tensor&) const {}

void register_node_type(std::shared_ptr<NodeType> type) {
  DIFFLUT_CHECK(type != nullptr, "register_node_type: expected a node type, found null");
  const std::string n = type->name();
  DIFFLUT_CHECK(valid_name(n),
                "register_node_type: expected a name of letters, digits and '_', "
                "found '",
                n, "'");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& t : r.types)
    DIFFLUT_CHECK(t->name() != n, "register_node_type: node type '", n,
                  "' is already registered (known: ", known_list(r), ")");
  r.types.push_back(std::move(type));
}

std::shared_ptr<NodeType> find_node_type(const std::string& name, const std::string& what) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& t : r.types)
    if (t->name() == name) return t;
  DIFFLUT_FAIL(what, "='", name, "' is not a registered node type (known: ", known_list(r), ")");
}

std::vector<std::string> registered_node_types() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& t : r.types) names.push_back(t->name());
  return names;
}

bool unregister_node_type(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (size_t i = 0; i < r.types.size(); ++i) {
    if (r.types[i]->name() != name) continue;
    DIFFLUT_CHECK(i >= r.num_builtins, "unregister_node_type: '", name,
                  "' is a built-in node type and cannot be removed");
    r.types.erase(r.types.begin() + static_cast<std::ptrdiff_t>(i));
    return true;
  }
  return false;
}

}  // namespace difflut
