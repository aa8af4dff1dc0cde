// The lowering pass: slice the tape between input and output, lower live nodes through the table,
// name stages uniquely, append the argmax head; plus the stage-by-stage check against the graph.
#include "hdl/lower.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "hdl/circuit_sim.h"

namespace difflut::hdl {

InputEncoding InputEncoding::u8_unit() {
  InputEncoding e;
  e.width = 8;
  e.decode.resize(256);
  for (int v = 0; v < 256; ++v) e.decode[static_cast<size_t>(v)] = static_cast<float>(v) / 255.0f;
  return e;
}

double FixedPoint::value(uint32_t code) const {
  return std::ldexp(static_cast<double>(static_cast<int64_t>(code) - offset), -frac_bits);
}

uint32_t FixedPoint::code_of(double v) const {
  const double c = std::floor(std::ldexp(v, frac_bits) + 0.5) + static_cast<double>(offset);
  const double top = static_cast<double>((int64_t{1} << width) - 1);
  return static_cast<uint32_t>(std::min(std::max(c, 0.0), top));
}

std::string FixedPoint::describe() const {
  // A negative offset reads "(code + 1)", not "(code - -1)".
  return str_cat(width, "-bit offset-binary fixed point, value = (code ", offset < 0 ? "+ " : "- ",
                 offset < 0 ? -offset : offset, ") / 2^", frac_bits);
}

InputEncoding InputEncoding::fixed_point(const FixedPoint& format) {
  DIFFLUT_CHECK(format.width >= 2 && format.width <= 16,
                "hdl: expected a fixed-point input of 2 to 16 bits (1 bit is the encoded-bits ",
                "input), found ", format.width);
  InputEncoding e;
  e.width = format.width;
  e.decode.resize(size_t{1} << format.width);
  for (size_t c = 0; c < e.decode.size(); ++c)
    e.decode[c] = static_cast<float>(format.value(static_cast<uint32_t>(c)));
  return e;
}

InputEncoding InputEncoding::bits() {
  InputEncoding e;
  e.width = 1;
  e.decode = {0.0, 1.0};
  return e;
}

// --- table ----------------------------------------------------------------------------------------

namespace {
std::map<std::string, LowerFn>& table_storage() {
  static std::map<std::string, LowerFn> t;
  return t;
}
std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}
// Fills the built-in rows once (explicit calls, no static-initialiser registration).
std::map<std::string, LowerFn>& lowering_table() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_encoder_lowerings();
    register_mapping_lowerings();
    register_lut_lowerings();
    register_head_lowerings();
    register_conv_lowerings();
  });
  return table_storage();
}
}  // namespace

void register_lowering(const std::string& op_name, LowerFn fn) {
  // Built-ins call this from inside lowering_table's call_once, so it must not re-enter it.
  std::lock_guard<std::mutex> lock(table_mutex());
  table_storage()[op_name] = std::move(fn);
}

const LowerFn* find_lowering(const std::string& op_name) {
  auto& t = lowering_table();
  std::lock_guard<std::mutex> lock(table_mutex());
  auto it = t.find(op_name);
  return it == t.end() ? nullptr : &it->second;
}

std::vector<std::string> lowered_ops() {
  auto& t = lowering_table();
  std::lock_guard<std::mutex> lock(table_mutex());
  std::vector<std::string> names;
  for (const auto& kv : t) names.push_back(kv.first);
  return names;
}

// --- context --------------------------------------------------------------------------------------

std::string LowerContext::where(int node_id) const {
  const Node& n = node(node_id);
  return str_cat("hdl: node '", n.name, "' (op ", op_name(n.op), ")");
}

int64_t LowerContext::batch() const {
  return graph_.node(circuit_.stages.front().node_id).value.size(0);
}

int64_t LowerContext::rows_per_sample(int node_id, size_t i) const {
  const Node& n = node(node_id);
  DIFFLUT_CHECK(i < n.inputs.size(), where(node_id), ": expected an input ", i);
  const Tensor& v = node(n.inputs[i]).value;
  const int64_t B = batch();
  DIFFLUT_CHECK(v.dim() >= 1 && B >= 1 && v.size(0) % B == 0, where(node_id), ": input ", i, " is ",
                v.describe(), ", expected a multiple of the batch ", B, " rows");
  return v.size(0) / B;
}

int LowerContext::stage_or_const(int node_id, size_t i) const {
  const Node& n = node(node_id);
  DIFFLUT_CHECK(i < n.inputs.size(), where(node_id), ": expected an input ", i, ", found ",
                n.inputs.size(), " inputs");
  return stage_of_[static_cast<size_t>(n.inputs[i])];
}

int LowerContext::live_input(int node_id, size_t i) const {
  const int s = stage_or_const(node_id, i);
  DIFFLUT_CHECK(s >= 0, where(node_id), ": input ", i, " ('", node(node(node_id).inputs[i]).name,
                "') does not depend on the circuit input; expected the data path there");
  return s;
}

Tensor LowerContext::const_input(int node_id, size_t i) const {
  const int s = stage_or_const(node_id, i);
  const Node& in = node(node(node_id).inputs[i]);
  DIFFLUT_CHECK(s < 0, where(node_id), ": input ", i, " ('", in.name,
                "') depends on the circuit input; the lowering needs it to be a constant");
  return in.value.to(Device::cpu);
}

void LowerContext::require_bits(int node_id, int s, const char* role) const {
  const Stage& st = stage(s);
  const bool bits =
      st.width == 1 && st.decode.size() == 2 && st.decode[0] < 0.5 && st.decode[1] >= 0.5;
  DIFFLUT_CHECK(bits, where(node_id), ": ", role, " reads '",
                st.node_name.empty() ? st.name : st.node_name, "', which holds ", st.width,
                "-bit words, not bits; lower a binarising op "
                "(thermometer, threshold_ste) before it or export from the encoded bits");
  // A bit is read as x >= 0.5 (DESIGN.md §3), so {0 -> below, 1 -> at or above} is the identity.
}

int LowerContext::add_stage(int node_id, Stage stage) {
  const Node& n = node(node_id);
  stage.node_id = node_id;
  stage.node_name = n.name;
  stage.op = op_name(n.op);
  circuit_.stages.push_back(std::move(stage));
  return static_cast<int>(circuit_.stages.size() - 1);
}

int LowerContext::add_internal_stage(Stage stage) {
  stage.node_id = -1;
  circuit_.stages.push_back(std::move(stage));
  return static_cast<int>(circuit_.stages.size() - 1);
}

// --- the pass -------------------------------------------------------------------------------------

namespace {
int64_t row_size(const Tensor& v, const std::string& what) {
  DIFFLUT_CHECK(v.dim() >= 1 && v.size(0) >= 1, what,
                ": expected a value [B, ...] with B >= 1, found ", v.describe());
  return v.numel() / v.size(0);
}

// Gives every stage a unique Verilog name derived from its node name.
void name_stages(Circuit& c) {
  std::set<std::string> used = {"x", "y", "clk", "features", "scores", "class_idx", "bits"};
  for (Stage& s : c.stages) {
    std::string base = verilog_identifier(s.name.empty() ? s.node_name : s.name);
    std::string id = base;
    for (int i = 2; used.count(id); ++i) id = str_cat(base, "_", i);
    used.insert(id);
    s.name = id;
  }
}
}  // namespace

Circuit lower_graph(const Graph& graph, int input_node, int output_node,
                    const LowerOptions& options) {
  const int n_nodes = static_cast<int>(graph.size());
  DIFFLUT_CHECK(
      input_node >= 0 && input_node < n_nodes && output_node >= 0 && output_node < n_nodes,
      "hdl: expected input and output node ids in [0, ", n_nodes, "), found ", input_node, " and ",
      output_node);
  DIFFLUT_CHECK(input_node < output_node, "hdl: the output node ", output_node,
                " must come after the input node ", input_node, " on the tape");
  const InputEncoding& enc = options.input;
  DIFFLUT_CHECK(enc.width >= 1 && enc.width <= 16 && enc.decode.size() == (size_t{1} << enc.width),
                "hdl: expected an input encoding of width 1..16 with 2^width decode values, found "
                "width ",
                enc.width, " and ", enc.decode.size(), " values");

  // Which nodes does the output need?
  std::vector<char> needed(static_cast<size_t>(n_nodes), 0);
  needed[static_cast<size_t>(output_node)] = 1;
  for (int id = output_node; id > input_node; --id) {
    if (!needed[static_cast<size_t>(id)]) continue;
    for (int in : graph.node(id).inputs) needed[static_cast<size_t>(in)] = 1;
  }

  Circuit c;
  std::vector<int> stage_of(static_cast<size_t>(n_nodes), -1);
  {
    const Node& in = graph.node(input_node);
    Stage s;
    s.kind = StageKind::input;
    s.name = in.name;
    s.node_name = in.name;
    s.op = op_name(in.op);
    s.node_id = input_node;
    s.size = row_size(in.value, str_cat("hdl: input node '", in.name, "'"));
    s.width = enc.width;
    s.decode = enc.decode;
    c.stages.push_back(std::move(s));
    stage_of[static_cast<size_t>(input_node)] = 0;
  }
  if (options.input.width == 1) c.input_port = "bits";

  LowerContext ctx(graph, c, stage_of, options);
  for (int id = input_node + 1; id <= output_node; ++id) {
    if (!needed[static_cast<size_t>(id)]) continue;
    const Node& n = graph.node(id);
    bool live = false;
    for (int in : n.inputs) live = live || stage_of[static_cast<size_t>(in)] >= 0;
    if (!live) continue;  // a constant: read by the lowering of its consumer
    const LowerFn* fn = find_lowering(op_name(n.op));
    if (fn == nullptr) {
      std::string known;
      for (const std::string& op : lowered_ops()) known += (known.empty() ? "" : ", ") + op;
      DIFFLUT_FAIL(ctx.where(id), " has no Verilog lowering (ops with one: ", known, ")");
    }
    stage_of[static_cast<size_t>(id)] = (*fn)(ctx, id);
  }
  const int out_stage = stage_of[static_cast<size_t>(output_node)];
  DIFFLUT_CHECK(out_stage >= 0, "hdl: output node '", graph.node(output_node).name,
                "' does not depend on the input node '", graph.node(input_node).name, "'");

  // Output ports.
  const Stage& last = c.stages[static_cast<size_t>(out_stage)];
  if (last.kind == StageKind::argmax) {
    c.outputs.push_back({"scores", last.source});
    c.outputs.push_back({"class_idx", out_stage});
  } else if (last.kind == StageKind::popcount && options.append_argmax) {
    Stage a;
    a.kind = StageKind::argmax;
    a.name = last.name + "_argmax";
    a.source = out_stage;
    a.size = 1;
    a.width = bits_for(static_cast<uint64_t>(std::max<int64_t>(1, last.size) - 1));
    for (int64_t i = 0; i < last.size; ++i) a.decode.push_back(static_cast<double>(i));
    // Integer comparison equals the software's float comparison only if decode is strictly
    // increasing over the reachable codes; the popcount lowering checked it.
    c.stages.push_back(std::move(a));
    c.outputs.push_back({"scores", out_stage});
    c.outputs.push_back({"class_idx", static_cast<int>(c.stages.size() - 1)});
  } else {
    c.outputs.push_back({last.width == 1 ? "bits_out" : "words_out", out_stage});
  }
  name_stages(c);
  c.validate();
  return c;
}

// --- checking -------------------------------------------------------------------------------------

std::vector<uint32_t> encode_exact(const Tensor& value, const std::vector<double>& decode,
                                   const std::string& what) {
  Tensor v = value.to(Device::cpu).to(DType::f64);
  const double* p = v.data<double>();
  std::unordered_map<double, uint32_t> code_of;
  for (size_t c = decode.size(); c-- > 0;) code_of[decode[c]] = static_cast<uint32_t>(c);
  std::vector<uint32_t> codes(static_cast<size_t>(v.numel()));
  for (int64_t i = 0; i < v.numel(); ++i) {
    auto it = code_of.find(p[i]);
    DIFFLUT_CHECK(it != code_of.end(), what, ": value ", p[i], " at flat index ", i,
                  " is not the decode of any circuit code");
    codes[static_cast<size_t>(i)] = it->second;
  }
  return codes;
}

std::vector<StageCheck> check_against_graph(const Circuit& circuit, const Graph& graph) {
  const Stage& in = circuit.input();
  const Tensor& xv = graph.node(in.node_id).value;
  const int64_t B = xv.size(0);
  const std::vector<uint32_t> codes =
      encode_exact(xv, in.decode, str_cat("hdl: input node '", in.node_name, "'"));
  CircuitSim sim(circuit);
  std::vector<StageCheck> out;
  std::vector<std::vector<uint32_t>> values;
  std::vector<Tensor> graph_values(circuit.stages.size());
  for (size_t s = 1; s < circuit.stages.size(); ++s) {
    const Stage& st = circuit.stages[s];
    if (st.node_id < 0) continue;
    graph_values[s] = graph.node(st.node_id).value.to(Device::cpu).to(DType::f64);
    StageCheck chk;
    chk.stage = static_cast<int>(s);
    chk.name = st.name;
    out.push_back(chk);
  }
  for (int64_t b = 0; b < B; ++b) {
    sim.run(codes.data() + b * in.size, values);
    for (StageCheck& chk : out) {
      const Stage& st = circuit.stages[static_cast<size_t>(chk.stage)];
      const Tensor& gv = graph_values[static_cast<size_t>(chk.stage)];
      const double* g = gv.data<double>() + b * st.size;
      const std::vector<uint32_t>& w = values[static_cast<size_t>(chk.stage)];
      for (int64_t m = 0; m < st.size; ++m) {
        const uint32_t code = w[static_cast<size_t>(m)];
        const bool ok = code < st.decode.size() && st.decode[code] == g[m];
        chk.mismatches += ok ? 0 : 1;
        ++chk.words;
      }
    }
  }
  return out;
}

}  // namespace difflut::hdl
