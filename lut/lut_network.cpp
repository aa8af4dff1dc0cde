// LUTNetwork: encoder -> LUT layers -> GroupSum, prediction helpers, and its checkpoint format.
#include "lut/lut_network.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "autograd/io/mini_json.h"
#include "autograd/io/safetensors.h"
#include "autograd/ops.h"
#include "lut/model_memory.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "lut/one_hot_mapping.h"
#include "lut/sparse_mapping.h"

namespace difflut {

namespace {
constexpr const char* kFormat = "difflut.lut_network";
constexpr int kFormatVersion = 1;

std::string layer_name(size_t i) { return "layer" + std::to_string(i); }

DType parse_float_dtype(const std::string& name, const std::string& file) {
  if (name == "f32") return DType::f32;
  if (name == "f64") return DType::f64;
  DIFFLUT_FAIL(file, ": model metadata \"dtype\": expected f32 or f64, found '", name, "'");
}

// Shortest text that reads back to the same double.
std::string num(double v) {
  char buf[40];
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}
}  // namespace

// ---- the model ---------------------------------------------------------------------------------

LUTNetwork::LUTNetwork(const LUTNetworkConfig& config, ThermometerEncoder encoder, Generator& gen)
    : cfg_(config), encoder_(std::move(encoder)) {
  DIFFLUT_CHECK(encoder_.fitted(),
                "LUTNetwork: the encoder must be fitted before building the model");
  DIFFLUT_CHECK(cfg_.num_features >= 1 && encoder_.num_features() == cfg_.num_features,
                "LUTNetwork: expected an encoder fitted on ", cfg_.num_features,
                " features, found one fitted on ", encoder_.num_features());
  DIFFLUT_CHECK(cfg_.num_classes >= 1, "LUTNetwork: expected num_classes >= 1, found ",
                cfg_.num_classes);
  DIFFLUT_CHECK(!cfg_.hidden_sizes.empty(),
                "LUTNetwork: expected at least one LUT layer "
                "(hidden_sizes is empty)");
  DIFFLUT_CHECK(cfg_.tau > 0 && std::isfinite(cfg_.tau),
                "LUTNetwork: expected GroupSum tau > 0, found ", cfg_.tau);
  std::shared_ptr<NodeType> type = make_node_type(cfg_.node_type, cfg_.node_options, "node_type");
  for (size_t i = 0; i < cfg_.hidden_sizes.size(); ++i)
    DIFFLUT_CHECK(cfg_.hidden_sizes[i] >= 1, "LUTNetwork: expected every hidden size >= 1, found ",
                  cfg_.hidden_sizes[i], " for layer ", i);
  // Convolutional layers first (their draws come before the dense layers'), each reading the
  // previous one's [H, W, C] output; the first reads the encoder's bits per input channel.
  int64_t width = encoder_.output_features();
  if (!cfg_.conv.empty()) {
    DIFFLUT_CHECK(
        cfg_.image_shape.size() == 3 && cfg_.image_shape[0] >= 1 && cfg_.image_shape[1] >= 1 &&
            cfg_.image_shape[2] >= 1 &&
            cfg_.image_shape[0] * cfg_.image_shape[1] * cfg_.image_shape[2] == cfg_.num_features,
        "LUTNetwork: convolutional layers need image_shape [C, H, W] with C * H * W = ",
        cfg_.num_features, " features, found ", shape_str(cfg_.image_shape));
    BitImage image = BitImage::thermometer(cfg_.image_shape[0], cfg_.image_shape[1],
                                           cfg_.image_shape[2], encoder_.num_bits());
    for (size_t i = 0; i < cfg_.conv.size(); ++i) {
      const ConvLayerSpec& c = cfg_.conv[i];
      ConvLUTOptions o;
      o.input = image;
      o.out_channels = c.channels;
      o.kernel = c.kernel;
      o.stride = c.stride;
      o.padding = c.padding;
      o.tree_depth = c.tree_depth;
      o.k = c.k == 0 ? cfg_.k : c.k;
      o.pool = c.pool;
      o.field_candidates = c.field_candidates;
      o.field_tau = cfg_.learnable_tau;
      o.node_type = type;
      o.dtype = cfg_.dtype;
      o.device = cfg_.device;
      try {
        convs_.push_back(
            register_module("conv" + std::to_string(i), std::make_shared<ConvLUTLayer>(o, gen)));
      } catch (const Error& e) {
        DIFFLUT_FAIL("LUTNetwork: conv layer ", i, ": ", e.what());
      }
      image = convs_.back()->output();
    }
    width = image.size();
  }
  // A sparse mapping draws C distinct candidates per slot among the layer's inputs.
  for (size_t i = 0, w = static_cast<size_t>(width); i < cfg_.hidden_sizes.size();
       w = static_cast<size_t>(cfg_.hidden_sizes[i]), ++i)
    if ((i == 0 ? cfg_.first_mapping : cfg_.later_mapping) == MappingKind::sparse &&
        cfg_.sparse_groups == 0)
      DIFFLUT_CHECK(sparse_candidates_of_layer(cfg_, i) >= 1 &&
                        sparse_candidates_of_layer(cfg_, i) <= static_cast<int64_t>(w),
                    "LUTNetwork: expected ",
                    i > 0 && cfg_.later_sparse_candidates > 0 ? "later_" : "",
                    "sparse_candidates in [1, ", w, "] (the inputs of layer ", i,
                    ", whose mapping is sparse), found ", sparse_candidates_of_layer(cfg_, i));
  // Before the first allocation: a model that cannot fit is refused with the numbers at once,
  // rather than after filling memory for many seconds (or being killed by the OOM killer).
  check_lut_network_memory(cfg_, width, available_memory_bytes(cfg_.device));
  for (size_t i = 0; i < cfg_.hidden_sizes.size(); ++i) {
    LUTLayerOptions o;
    o.input_size = width;
    o.num_nodes = cfg_.hidden_sizes[i];
    o.k = cfg_.k;
    o.mapping = i == 0 ? cfg_.first_mapping : cfg_.later_mapping;
    o.node_type = type;
    o.learnable_tau = cfg_.learnable_tau;
    o.sparse_candidates = sparse_candidates_of_layer(cfg_, i);
    o.sparse_groups = cfg_.sparse_groups;
    o.sparse_group_overlap = cfg_.sparse_group_overlap;
    o.fused_update = cfg_.fused_update;
    o.flip_probability = cfg_.flip_probability;
    o.grad_stabilization = cfg_.grad_stabilization;
    o.dtype = cfg_.dtype;
    o.device = cfg_.device;
    layers_.push_back(register_module(layer_name(i), std::make_shared<LUTLayer>(o, gen)));
    width = o.num_nodes;
  }
}

Var LUTNetwork::regularization(Graph& g, LutRegularizer kind, double weight) {
  Var total;
  for (const auto& conv : convs_)
    for (int l = 0; l < conv->levels(); ++l) {
      Var r = node_regularizer(g.param(conv->level_params(l)), *conv->options().node_type,
                               conv->options().k, kind, weight);
      total = total.defined() ? add(total, r) : r;
    }
  for (const auto& layer : layers_) {
    Var r =
        node_regularizer(g.param(layer->node_params()), *layer->node_type(), cfg_.k, kind, weight);
    total = total.defined() ? add(total, r) : r;
  }
  return total;
}

Var LUTNetwork::node_regularization(Graph& g) {
  Var total;
  for (const auto& conv : convs_)
    for (int l = 0; l < conv->levels(); ++l) {
      Var r = custom_lut_reg(g.param(conv->level_params(l)), conv->options().node_type,
                             conv->options().k);
      total = total.defined() ? add(total, r) : r;
    }
  for (const auto& layer : layers_) {
    Var r = layer->node_regularization(g);
    total = total.defined() ? add(total, r) : r;
  }
  return total;
}

void LUTNetwork::set_augmentation_step(uint64_t step) {
  for (auto& l : layers_) l->set_augmentation_step(step);
}

bool LUTNetwork::has_node_regularization() const {
  for (const auto& layer : layers_)
    if (layer->node_type()->has_regularization()) return true;
  return false;
}

Var LUTNetwork::forward(Graph& g, Var x) {
  DIFFLUT_CHECK(x.graph == &g, "LUTNetwork: x belongs to another graph");
  DIFFLUT_CHECK(x.value().dim() == 2 && x.size(1) == cfg_.num_features,
                "LUTNetwork: expected features [B, ", cfg_.num_features, "], found ",
                x.value().describe());
  Var h = encoder_.encode(g, x);
  g.set_name(h, "encoder");
  for (const auto& conv : convs_) h = conv->forward(g, h);
  for (const auto& layer : layers_) h = layer->forward(g, h);
  Var out = group_sum(h, cfg_.num_classes, cfg_.tau);
  g.set_name(out, "groupsum");
  return out;
}

int64_t LUTNetwork::dense_input_width() const {
  return convs_.empty() ? encoder_.output_features() : convs_.back()->output().size();
}

LUTNetwork& LUTNetwork::to_device(Device device) {
  to(device);
  cfg_.device = device;
  return *this;
}

Tensor LUTNetwork::logits(const Tensor& features, int64_t batch_size) {
  DIFFLUT_CHECK(features.defined() && features.dim() == 2 && features.size(1) == cfg_.num_features,
                "LUTNetwork.logits: expected features [N, ", cfg_.num_features, "], found ",
                features.defined() ? features.describe() : std::string("undefined"));
  DIFFLUT_CHECK(batch_size >= 1, "LUTNetwork.logits: expected batch_size >= 1, found ", batch_size);
  // The graph keeps every activation of a batch until the next: encoder bits, then each layer's
  // mapped slots and node outputs. Batches are capped so that these stay near 512 MB (a 2 x 64,000
  // LUT6 model holds 3.6 MB per sample: 4096 samples would be 15 GB); the default model's 93 KB per
  // sample keeps batches of 4096. Batching does not change any sample's result.
  double per_sample = static_cast<double>(encoder_.output_features());
  for (const auto& c : convs_) {
    double levels = 0;
    for (int l = 0; l < c->levels(); ++l) levels += static_cast<double>(c->level_nodes(l));
    // A learnable field first gathers every position's whole window, then the slots from it.
    const double rows = static_cast<double>(c->slots()) +
                        (c->learnable_field() ? static_cast<double>(c->window()) : 0.0);
    per_sample += static_cast<double>(c->positions()) * (rows + levels) +
                  static_cast<double>(c->output().size());
  }
  for (const auto& l : layers_) per_sample += static_cast<double>(l->num_slots() + l->num_nodes());
  per_sample *= static_cast<double>(dtype_size(cfg_.dtype));
  batch_size =
      std::min<int64_t>(batch_size, std::max<int64_t>(1, static_cast<int64_t>(512e6 / per_sample)));
  const Device dev = layers_.front()->node_params().value.device();  // conv layers live there too
  const Tensor host = features.to(Device::cpu).to(cfg_.dtype);
  const int64_t N = host.size(0), F = host.size(1);
  Tensor out = Tensor::empty({N, cfg_.num_classes}, cfg_.dtype, Device::cpu);
  NoGradGuard no_grad;
  EvalScope eval(*this);
  Graph g;
  const size_t row_bytes = static_cast<size_t>(F) * dtype_size(cfg_.dtype);
  const size_t out_row_bytes = static_cast<size_t>(cfg_.num_classes) * dtype_size(cfg_.dtype);
  for (int64_t b0 = 0; b0 < N; b0 += batch_size) {
    const int64_t b = std::min(batch_size, N - b0);
    Tensor xb =
        Tensor::view_of(host.storage(), host.offset_bytes() + static_cast<size_t>(b0) * row_bytes,
                        {b, F}, cfg_.dtype);
    g.clear();
    Var y = forward(g, g.input(xb.to(dev), "x"));
    Tensor ob =
        Tensor::view_of(out.storage(), out.offset_bytes() + static_cast<size_t>(b0) * out_row_bytes,
                        {b, cfg_.num_classes}, cfg_.dtype);
    ob.copy_(y.value());
  }
  return out;
}

Tensor LUTNetwork::predict(const Tensor& features, int64_t batch_size) {
  Graph graph;  // the engine's argmax op: first index on ties
  return argmax(graph.input(logits(features, batch_size)), 1).value().to(Device::cpu);
}

double accuracy(const Tensor& predictions, const Tensor& labels) {
  DIFFLUT_CHECK(predictions.numel() == labels.numel(), "accuracy: ", predictions.numel(),
                " predictions for ", labels.numel(), " labels");
  if (labels.numel() == 0) return 0.0;
  const std::vector<int64_t> p = predictions.to(DType::i64).to_vector<int64_t>();
  const std::vector<int64_t> y = labels.to(DType::i64).to_vector<int64_t>();
  int64_t hit = 0;
  for (size_t i = 0; i < p.size(); ++i) hit += p[i] == y[i];
  return static_cast<double>(hit) / static_cast<double>(p.size());
}

// ---- checkpoints -------------------------------------------------------------------------------

std::string lut_network_model_json(const LUTNetwork& net) {
  const LUTNetworkConfig& c = net.config();
  const ThermometerEncoder& e = net.encoder();
  std::string s = "{";
  s += "\"format\": \"" + std::string(kFormat) +
       "\", \"version\": " + std::to_string(kFormatVersion);
  s += ", \"dtype\": \"" + std::string(dtype_name(c.dtype)) + "\"";
  s += ", \"num_features\": " + std::to_string(c.num_features);
  s += ", \"num_classes\": " + std::to_string(c.num_classes);
  s += ", \"node_type\": ";
  json::write_string(s, c.node_type);
  s += ", \"k\": " + std::to_string(c.k);
  s += ", \"node_options\": {\"degree\": " + std::to_string(c.node_options.degree) +
       ", \"hidden_width\": " + std::to_string(c.node_options.hidden_width) +
       ", \"depth\": " + std::to_string(c.node_options.depth) +
       ", \"skip_interval\": " + std::to_string(c.node_options.skip_interval) +
       ", \"temperature\": " + num(c.node_options.temperature) +
       ", \"max_amplitude\": " + num(c.node_options.max_amplitude) +
       ", \"signed_amplitudes\": " + (c.node_options.signed_amplitudes ? "true" : "false") + "}";
  s += ", \"encoder\": {\"type\": \"thermometer\", \"kind\": \"" + e.kind_name() +
       "\", \"num_bits\": " + std::to_string(e.num_bits()) +
       ", \"feature_wise\": " + (e.feature_wise() ? "true" : "false") +
       ", \"output_features\": " + std::to_string(e.output_features()) + "}";
  if (!c.conv.empty()) {
    s += ", \"image_shape\": [" + std::to_string(c.image_shape.at(0)) + ", " +
         std::to_string(c.image_shape.at(1)) + ", " + std::to_string(c.image_shape.at(2)) + "]";
    s += ", \"conv\": [";
    for (size_t i = 0; i < net.num_conv_layers(); ++i) {
      const ConvLUTOptions& o = net.conv_layer(i).options();
      s += (i ? ", " : "") + std::string("{\"name\": \"conv") + std::to_string(i) +
           "\", \"channels\": " + std::to_string(o.out_channels) +
           ", \"receptive_field\": " + std::to_string(o.kernel) +
           ", \"stride\": " + std::to_string(o.stride) +
           ", \"padding\": " + std::to_string(o.padding) +
           ", \"tree_depth\": " + std::to_string(o.tree_depth) + ", \"k\": " + std::to_string(o.k) +
           ", \"pool\": " + std::to_string(o.pool);
      if (o.field_candidates > 0)
        s += ", \"field_candidates\": " + std::to_string(o.field_candidates);
      s += "}";
    }
    s += "]";
  }
  s += ", \"layers\": [";
  for (size_t i = 0; i < net.num_layers(); ++i) {
    const LUTLayer& l = net.layer(i);
    if (i) s += ", ";
    s += "{\"name\": \"" + layer_name(i) + "\", \"input_size\": " + std::to_string(l.input_size()) +
         ", \"num_nodes\": " + std::to_string(l.num_nodes()) + ", \"k\": " + std::to_string(l.k()) +
         ", \"node_type\": ";
    json::write_string(s, l.node_type()->name());
    s += ", \"mapping\": \"" + mapping_kind_name(l.mapping_kind()) + "\"";
    s += ", \"learnable_tau\": " + num(l.options().learnable_tau);
    if (l.mapping_kind() == MappingKind::sparse)
      s += ", \"sparse_candidates\": " + std::to_string(l.mapping_candidates().size(1));
    if (l.mapping_kind() == MappingKind::sparse && l.options().sparse_groups > 0)
      s += ", \"sparse_groups\": " + std::to_string(l.options().sparse_groups) +
           ", \"sparse_group_overlap\": " + num(l.options().sparse_group_overlap);
    s += ", \"cyclic_stride\": " + std::to_string(l.options().cyclic_stride) + "}";
  }
  s += "]";
  s += ", \"groupsum\": {\"num_classes\": " + std::to_string(c.num_classes) +
       ", \"tau\": " + num(c.tau) + "}";
  s += "}";
  return s;
}

void save_lut_network(LUTNetwork& net, const std::string& path,
                      const LUTNetworkSaveOptions& options) {
  NamedTensors tensors;
  tensors.emplace_back("encoder.thresholds", net.encoder().thresholds());
  for (size_t i = 0; i < net.num_conv_layers(); ++i) {
    ConvLUTLayer& c = net.conv_layer(i);
    const std::string n = "conv" + std::to_string(i);
    // A learnable field is saved as its candidates and scores, and as the choice they make (what
    // the file's readers and the circuit use); loading checks the three agree.
    tensors.emplace_back(n + ".receptive_field", c.receptive_field());
    if (c.learnable_field()) {
      tensors.emplace_back(n + ".field_candidates", c.field_candidates());
      tensors.emplace_back(n + ".field_weights", c.field_weights().value);
    }
    for (int l = 0; l < c.levels(); ++l)
      tensors.emplace_back(n + ".params" + std::to_string(l), c.level_params(l).value);
  }
  std::vector<Tensor> mappings;
  for (size_t i = 0; i < net.num_layers(); ++i) {
    LUTLayer& l = net.layer(i);
    mappings.push_back(l.mapping_indices());
    tensors.emplace_back(layer_name(i) + ".params", l.node_params().value);
    // Sparse mappings always keep W and the candidates: they are small ([N*k, C]) and define it.
    const bool sparse = l.mapping_kind() == MappingKind::sparse;
    if (l.mapping_weights() && (options.mapping_weights || sparse))
      tensors.emplace_back(layer_name(i) + ".mapping_weights", l.mapping_weights()->value);
    if (sparse) tensors.emplace_back(layer_name(i) + ".mapping_candidates", l.mapping_candidates());
    tensors.emplace_back(layer_name(i) + ".mapping_indices", mappings.back().to(DType::i32));
  }
  const std::string model = lut_network_model_json(net);
  Metadata meta;
  meta["format"] = kFormat;
  meta["difflut.model"] = model;
  if (!options.config_yaml.empty()) meta["difflut.config"] = options.config_yaml;
  // A content checksum (filled in by the writer, verified by every load): a flipped byte in a table
  // or a threshold used to load and export as a silently different circuit.
  meta[kChecksumKey] = "";
  save_safetensors(path, tensors, meta);
  if (!options.write_json) return;

  // The readable sidecar: architecture, config, thresholds and mappings as arrays.
  std::string s = "{\n  \"model\": " + model + ",\n  \"config_yaml\": ";
  json::write_string(s, options.config_yaml);
  s += ",\n  \"mapping_weights_saved\": ";
  s += options.mapping_weights ? "true" : "false";
  const Tensor& th = net.encoder().thresholds();
  const int64_t F = th.size(0), nb = th.size(1);
  const float* tp = th.data<float>();
  s += ",\n  \"encoder_thresholds\": [";
  for (int64_t f = 0; f < F; ++f) {
    s += f ? ", [" : "[";
    for (int64_t b = 0; b < nb; ++b) s += (b ? ", " : "") + num(tp[f * nb + b]);
    s += "]";
  }
  s += "],\n  \"mappings\": {";
  for (size_t i = 0; i < mappings.size(); ++i) {
    s += (i ? ",\n    \"" : "\n    \"") + layer_name(i) + "\": [";
    const int64_t* m = mappings[i].data<int64_t>();
    for (int64_t j = 0; j < mappings[i].numel(); ++j) s += (j ? ", " : "") + std::to_string(m[j]);
    s += "]";
  }
  s += "\n  }\n}\n";
  std::filesystem::path jp(path);
  jp.replace_extension(".json");
  std::ofstream out(jp, std::ios::binary);
  DIFFLUT_CHECK(out.good(), "save_lut_network: cannot write '", jp.string(), "'");
  out << s;
  DIFFLUT_CHECK(out.good(), "save_lut_network: writing '", jp.string(), "' failed");
}

namespace {
// Typed reads from the architecture JSON; errors name the file and the field.
struct JsonReader {
  std::string file;
  const json::Value& member(const json::Value& obj, const char* key) const {
    const json::Value* v = obj.find(key);
    DIFFLUT_CHECK(v != nullptr, file, ": model metadata lacks \"", key, "\"");
    return *v;
  }
  int64_t integer(const json::Value& obj, const char* key) const {
    const json::Value& v = member(obj, key);
    uint64_t u = 0;
    DIFFLUT_CHECK(v.as_uint64(u) && u < (uint64_t{1} << 62), file, ": model metadata \"", key,
                  "\": expected a non-negative integer, found ", json::kind_name(v.kind), " '",
                  v.text, "'");
    return static_cast<int64_t>(u);
  }
  double number(const json::Value& obj, const char* key) const {
    const json::Value& v = member(obj, key);
    DIFFLUT_CHECK(v.is_number(), file, ": model metadata \"", key, "\": expected a number, found ",
                  json::kind_name(v.kind));
    const double x = std::strtod(v.text.c_str(), nullptr);
    DIFFLUT_CHECK(std::isfinite(x), file, ": model metadata \"", key,
                  "\": expected a finite number, found '", v.text, "'");
    return x;
  }
  // An integer in [lo, hi] (fields stored in an int, or with a meaningful range).
  int64_t bounded(const json::Value& obj, const char* key, int64_t lo, int64_t hi) const {
    const int64_t x = integer(obj, key);
    DIFFLUT_CHECK(x >= lo && x <= hi, file, ": model metadata \"", key,
                  "\": expected an integer in [", lo, ", ", hi, "], found ", x);
    return x;
  }
  std::string string(const json::Value& obj, const char* key) const {
    const json::Value& v = member(obj, key);
    DIFFLUT_CHECK(v.is_string(), file, ": model metadata \"", key, "\": expected a string, found ",
                  json::kind_name(v.kind));
    return v.text;
  }
  bool boolean(const json::Value& obj, const char* key) const {
    const json::Value& v = member(obj, key);
    DIFFLUT_CHECK(v.kind == json::Value::Kind::boolean, file, ": model metadata \"", key,
                  "\": expected true or false, found ", json::kind_name(v.kind));
    return v.boolean;
  }
};

const Tensor& need_tensor(const SafetensorsContents& c, const std::string& file,
                          const std::string& name, const Shape& shape) {
  const Tensor* t = find_tensor(c.tensors, name);
  DIFFLUT_CHECK(t != nullptr, file, ": missing tensor '", name, "'");
  DIFFLUT_CHECK(t->shape() == shape, file, ": tensor '", name, "' expected shape ",
                shape_str(shape), ", found ", t->describe());
  return *t;
}

void load_value(Parameter& p, const Tensor& src, const std::string& file, const std::string& name) {
  DIFFLUT_CHECK(src.dtype() == p.value.dtype(), file, ": tensor '", name, "' expected dtype ",
                dtype_name(p.value.dtype()), ", found ", dtype_name(src.dtype()));
  p.value.copy_(src);
}

// A sparse layer's candidates and W [N*k, C] from the file; the stored indices must be the choice
// they make (a difference means one of them was edited, and the export would disagree).
void load_sparse_mapping(LUTLayer& l, const SafetensorsContents& c, const std::string& path,
                         const std::string& n, const std::vector<int64_t>& stored) {
  Parameter& w = *l.mapping_weights();
  const Tensor& cand = need_tensor(c, path, n + ".mapping_candidates", w.value.shape());
  DIFFLUT_CHECK(cand.dtype() == DType::i32 || cand.dtype() == DType::i64, path, ": tensor '", n,
                ".mapping_candidates' expected an integer dtype, found ", dtype_name(cand.dtype()));
  const std::vector<int64_t> cv = cand.to(DType::i64).to_vector<int64_t>();
  const int64_t C = cand.size(1), F = l.input_size();
  for (size_t e = 0; e < cv.size(); ++e)
    DIFFLUT_CHECK(cv[e] >= 0 && cv[e] < F, path, ": tensor '", n, ".mapping_candidates'[",
                  static_cast<int64_t>(e) / C, ", ", static_cast<int64_t>(e) % C, "] = ", cv[e],
                  " is outside [0, ", F, ")");
  l.set_mapping_candidates(cand);
  load_value(w, need_tensor(c, path, n + ".mapping_weights", w.value.shape()), path,
             n + ".mapping_weights");
  const std::vector<int64_t> chosen = l.mapping_indices().to_vector<int64_t>();
  for (size_t s = 0; s < chosen.size(); ++s)
    DIFFLUT_CHECK(chosen[s] == stored[s], path, ": tensor '", n, ".mapping_indices'[", s,
                  "] = ", stored[s], ", expected ", chosen[s], " (the candidate '", n,
                  ".mapping_weights' chooses)");
}

// "[i, j]" for flat index `flat` of `shape`.
std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

template <class T>
int64_t first_non_finite_in(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}
}  // namespace

void check_finite_tensor(const Tensor& t, const std::string& what) {
  if (!t.defined() || !is_floating(t.dtype())) return;
  const Tensor h = t.to(Device::cpu);
  const int64_t bad = h.dtype() == DType::f32 ? first_non_finite_in(h.data<float>(), h.numel())
                                              : first_non_finite_in(h.data<double>(), h.numel());
  if (bad < 0) return;
  const double v =
      h.dtype() == DType::f32 ? static_cast<double>(h.data<float>()[bad]) : h.data<double>()[bad];
  DIFFLUT_FAIL(what, ": expected finite values, found ",
               std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"), " at ", index_str(h.shape(), bad),
               " (of ", h.describe(), ")");
}

void check_lut_network_finite(LUTNetwork& net, const std::string& what) {
  const std::string prefix = what.empty() ? std::string() : what + ": ";
  check_finite_tensor(net.encoder().thresholds(), prefix + "tensor 'encoder.thresholds'");
  for (size_t i = 0; i < net.num_conv_layers(); ++i)
    for (int l = 0; l < net.conv_layer(i).levels(); ++l)
      check_finite_tensor(
          net.conv_layer(i).level_params(l).value,
          prefix + "tensor 'conv" + std::to_string(i) + ".params" + std::to_string(l) + "'");
  for (size_t i = 0; i < net.num_layers(); ++i) {
    LUTLayer& l = net.layer(i);
    check_finite_tensor(l.node_params().value, prefix + "tensor '" + layer_name(i) + ".params'");
    if (l.mapping_weights())
      check_finite_tensor(l.mapping_weights()->value,
                          prefix + "tensor '" + layer_name(i) + ".mapping_weights'");
  }
}

std::shared_ptr<LUTNetwork> load_lut_network(const std::string& path, Device device) {
  const SafetensorsContents c = load_safetensors(path);
  auto fmt = c.metadata.find("format");
  auto model = c.metadata.find("difflut.model");
  DIFFLUT_CHECK(fmt != c.metadata.end() && fmt->second == kFormat && model != c.metadata.end(),
                path, ": not a DiffLUT LUT network checkpoint (expected __metadata__ format = '",
                kFormat, "' with 'difflut.model')");
  const json::Value root = json::parse(model->second, path + " (difflut.model)");
  JsonReader r{path};
  DIFFLUT_CHECK(r.integer(root, "version") == kFormatVersion, path, ": unsupported format version ",
                r.integer(root, "version"), " (this build reads ", kFormatVersion, ")");
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();

  // 1. The architecture, every field range-checked (fields held in an int must fit one).
  LUTNetworkConfig cfg;
  cfg.dtype = parse_float_dtype(r.string(root, "dtype"), path);
  cfg.num_features = r.bounded(root, "num_features", 1, int64_t{1} << 40);
  cfg.num_classes = static_cast<int>(r.bounded(root, "num_classes", 1, kIntMax));
  cfg.node_type = r.string(root, "node_type");
  find_node_type(cfg.node_type,
                 path + ": node_type");  // unknown types fail here, listing the known
  cfg.k = static_cast<int>(r.bounded(root, "k", 1, 8));
  // Checkpoints written before node options existed hold only default-option node types.
  if (const json::Value* no = root.find("node_options")) {
    cfg.node_options.degree = static_cast<int>(r.bounded(*no, "degree", 0, kIntMax));
    cfg.node_options.hidden_width = static_cast<int>(r.bounded(*no, "hidden_width", 0, kIntMax));
    cfg.node_options.depth = static_cast<int>(r.bounded(*no, "depth", 0, kIntMax));
    cfg.node_options.skip_interval = static_cast<int>(r.bounded(*no, "skip_interval", 0, kIntMax));
    cfg.node_options.temperature = r.number(*no, "temperature");
    // Written before fourier's options existed: those fourier nodes trained with A = 1 and the
    // published Σ a normalisation.
    cfg.node_options.max_amplitude =
        no->find("max_amplitude") ? r.number(*no, "max_amplitude") : 1.0;
    cfg.node_options.signed_amplitudes =
        no->find("signed_amplitudes") ? r.boolean(*no, "signed_amplitudes") : true;
  }
  // The class count is stored twice (top level and GroupSum); a difference means the metadata
  // was edited, and either value would silently change what the circuit computes.
  const json::Value& gs = r.member(root, "groupsum");
  const int64_t gs_classes = r.integer(gs, "num_classes");
  DIFFLUT_CHECK(
      gs_classes == cfg.num_classes, path, ": model metadata \"num_classes\" = ", cfg.num_classes,
      " but \"groupsum\".\"num_classes\" = ", gs_classes, " (expected the same class count)");
  cfg.tau = r.number(gs, "tau");
  DIFFLUT_CHECK(cfg.tau > 0, path, ": model metadata \"tau\": expected a number > 0, found ",
                cfg.tau);

  const json::Value& enc = r.member(root, "encoder");
  const int64_t nb = r.bounded(enc, "num_bits", 1, kIntMax);
  // output_features = num_features x num_bits, checked by division (no overflow).
  const int64_t enc_out = r.integer(enc, "output_features");
  DIFFLUT_CHECK(enc_out % nb == 0 && enc_out / nb == cfg.num_features, path,
                ": model metadata \"encoder\".\"output_features\" = ", enc_out, ", expected ",
                "num_features x num_bits = ", cfg.num_features, " x ", nb);

  const json::Value& layers = r.member(root, "layers");
  DIFFLUT_CHECK(layers.is_array() && !layers.items.empty(), path,
                ": model metadata \"layers\": expected a non-empty array");
  cfg.hidden_sizes.clear();
  int64_t width = enc_out;  // what layer i reads
  if (const json::Value* conv = root.find("conv")) {
    // Convolutional layers: their geometry gives the first dense layer's input width (the layer
    // constructor checks the rest when the network is built).
    DIFFLUT_CHECK(conv->is_array() && !conv->items.empty(), path,
                  ": model metadata \"conv\": expected a non-empty array");
    const json::Value& shape = r.member(root, "image_shape");
    DIFFLUT_CHECK(shape.is_array() && shape.items.size() == 3, path,
                  ": model metadata \"image_shape\": expected [C, H, W]");
    for (const json::Value& d : shape.items) {
      uint64_t u = 0;
      DIFFLUT_CHECK(d.as_uint64(u) && u >= 1 && u < (uint64_t{1} << 30), path,
                    ": model metadata \"image_shape\": expected positive integers, found '", d.text,
                    "'");
      cfg.image_shape.push_back(static_cast<int64_t>(u));
    }
    DIFFLUT_CHECK(cfg.image_shape[0] * cfg.image_shape[1] * cfg.image_shape[2] == cfg.num_features,
                  path, ": model metadata \"image_shape\" ", shape_str(cfg.image_shape),
                  " does not hold num_features = ", cfg.num_features, " features");
    int64_t ch = cfg.image_shape[0] * nb, h = cfg.image_shape[1], w = cfg.image_shape[2];
    for (size_t i = 0; i < conv->items.size(); ++i) {
      const json::Value& l = conv->items[i];
      DIFFLUT_CHECK(r.string(l, "name") == "conv" + std::to_string(i), path,
                    ": model metadata conv layer ", i, ": expected name 'conv", i, "', found '",
                    r.string(l, "name"), "'");
      ConvLayerSpec c;
      c.channels = r.bounded(l, "channels", 1, int64_t{1} << 20);
      c.kernel = static_cast<int>(r.bounded(l, "receptive_field", 1, 1 << 16));
      c.stride = static_cast<int>(r.bounded(l, "stride", 1, 1 << 16));
      c.padding = static_cast<int>(r.bounded(l, "padding", 0, c.kernel - 1));
      c.tree_depth = static_cast<int>(r.bounded(l, "tree_depth", 1, 20));
      c.k = static_cast<int>(r.bounded(l, "k", 1, 8));
      c.pool = static_cast<int>(r.bounded(l, "pool", 1, 2));
      // Absent in files from before learnable fields: a fixed field.
      if (l.find("field_candidates") != nullptr)
        c.field_candidates = r.bounded(l, "field_candidates", 1, ch * c.kernel * c.kernel);
      DIFFLUT_CHECK(c.kernel <= h + 2 * c.padding && c.kernel <= w + 2 * c.padding, path,
                    ": conv layer ", i, ": receptive field ", c.kernel,
                    " is larger than its padded input ", h, "x", w);
      h = ((h + 2 * c.padding - c.kernel) / c.stride + 1) / c.pool;
      w = ((w + 2 * c.padding - c.kernel) / c.stride + 1) / c.pool;
      ch = c.channels;
      cfg.conv.push_back(c);
    }
    width = ch * h * w;
  }
  bool sparse_seen = false, later_sparse_seen = false;
  for (size_t i = 0; i < layers.items.size(); ++i) {
    const json::Value& l = layers.items[i];
    DIFFLUT_CHECK(r.string(l, "name") == layer_name(i), path, ": model metadata layer ", i,
                  ": expected name '", layer_name(i), "', found '", r.string(l, "name"), "'");
    const int64_t in = r.integer(l, "input_size");
    DIFFLUT_CHECK(in == width, path, ": model metadata layer ", i, " \"input_size\" = ", in,
                  ", expected ", width,
                  i == 0 ? (cfg.conv.empty() ? " (the encoder's output_features)"
                                             : " (the conv layers' output)")
                         : " (the previous layer's num_nodes)");
    width = r.bounded(l, "num_nodes", 1, int64_t{1} << 40);
    cfg.hidden_sizes.push_back(width);
    const MappingKind kind = parse_mapping_kind(r.string(l, "mapping"), path + ": layer mapping");
    if (i == 0) cfg.first_mapping = kind;
    if (i == 1) cfg.later_mapping = kind;
    if (i >= 1)
      DIFFLUT_CHECK(kind == cfg.later_mapping, path, ": layer ", i, " has mapping '",
                    mapping_kind_name(kind), "' but layer 1 has '",
                    mapping_kind_name(cfg.later_mapping),
                    "' (one mapping kind for all later layers)");
    DIFFLUT_CHECK(r.integer(l, "k") == cfg.k && r.string(l, "node_type") == cfg.node_type, path,
                  ": layer ", i, " differs in k or node_type from the network");
    cfg.learnable_tau = r.number(l, "learnable_tau");
    if (kind == MappingKind::sparse && l.find("sparse_groups") != nullptr) {
      // Grouped connections: C is each layer's window width, derived from its size and G.
      const int64_t G = r.bounded(l, "sparse_groups", 1, in);
      const double ov = r.number(l, "sparse_group_overlap");
      DIFFLUT_CHECK(ov >= 0 && ov <= 0.5, path,
                    ": model metadata \"sparse_group_overlap\": expected ",
                    "a number in [0, 0.5], found ", ov);
      const int64_t C = r.bounded(l, "sparse_candidates", 1, in);
      DIFFLUT_CHECK(C == grouped_candidate_count(in, G, ov), path, ": layer ", i,
                    " has sparse_candidates ", C, ", expected ", grouped_candidate_count(in, G, ov),
                    " (the window of ", G, " groups over ", in, " inputs)");
      DIFFLUT_CHECK(!sparse_seen || (G == cfg.sparse_groups && ov == cfg.sparse_group_overlap),
                    path, ": layer ", i, " has other sparse_groups than the earlier sparse layers");
      cfg.sparse_groups = G;
      cfg.sparse_group_overlap = ov;
      sparse_seen = true;
    } else if (kind == MappingKind::sparse) {
      // One C for the first layer, one for all later layers (sparse_candidates_of_layer).
      DIFFLUT_CHECK(cfg.sparse_groups == 0, path, ": layer ", i,
                    " has random candidates but an earlier sparse layer is grouped");
      const int64_t C = r.bounded(l, "sparse_candidates", 1, in);
      if (i == 0) {
        cfg.sparse_candidates = C;
      } else {
        DIFFLUT_CHECK(!later_sparse_seen || C == cfg.later_sparse_candidates, path, ": layer ", i,
                      " has sparse_candidates ", C, ", expected ", cfg.later_sparse_candidates,
                      " (as the earlier later layers: one C for all layers after the first)");
        cfg.later_sparse_candidates = C;
        if (!sparse_seen) cfg.sparse_candidates = C;  // no sparse first layer: one C throughout
        later_sparse_seen = true;
      }
      sparse_seen = true;
    }
  }
  // A later C equal to the first layer's is stored as 0 ("as the first"), as a config gives it.
  if (cfg.later_sparse_candidates == cfg.sparse_candidates) cfg.later_sparse_candidates = 0;
  cfg.device = device;

  // 2. The tensors against the architecture, before anything is built: exactly the expected names
  // (an extra "layer2.params" means the metadata lost a layer), each of the expected shape, and
  // every floating value finite (a NaN table or threshold exports as a circuit that silently
  // disagrees with nothing, since the model it is checked against is just as broken).
  const std::shared_ptr<NodeType> type =
      make_node_type(cfg.node_type, cfg.node_options, path + ": node_type");
  const int64_t P = type->num_params(cfg.k);
  std::vector<std::string> expected = {"encoder.thresholds"};
  for (size_t i = 0; i < cfg.conv.size(); ++i) {
    const ConvLayerSpec& cs = cfg.conv[i];
    const std::string n = "conv" + std::to_string(i);
    const int64_t Pc = type->num_params(cs.k);
    int64_t nodes = cs.channels;  // root level; level l has channels * k^(depth-1-l) nodes
    for (int l = cs.tree_depth - 1; l >= 0; --l) {
      need_tensor(c, path, n + ".params" + std::to_string(l), {nodes, Pc});
      expected.push_back(n + ".params" + std::to_string(l));
      if (l > 0) nodes *= cs.k;
    }
    need_tensor(c, path, n + ".receptive_field", {nodes * cs.k});
    expected.push_back(n + ".receptive_field");
    if (cs.field_candidates > 0) {
      need_tensor(c, path, n + ".field_candidates", {nodes * cs.k, cs.field_candidates});
      need_tensor(c, path, n + ".field_weights", {nodes * cs.k, cs.field_candidates});
      expected.push_back(n + ".field_candidates");
      expected.push_back(n + ".field_weights");
    }
  }
  for (size_t i = 0; i < cfg.hidden_sizes.size(); ++i) {
    const std::string n = layer_name(i);
    const int64_t N = cfg.hidden_sizes[i];
    need_tensor(c, path, n + ".params", {N, P});
    need_tensor(c, path, n + ".mapping_indices", {N * cfg.k});
    expected.push_back(n + ".params");
    expected.push_back(n + ".mapping_indices");
    const MappingKind kind = i == 0 ? cfg.first_mapping : cfg.later_mapping;
    if (kind == MappingKind::learnable) expected.push_back(n + ".mapping_weights");  // optional
    if (kind == MappingKind::sparse) {
      expected.push_back(n + ".mapping_weights");  // required, checked when loaded
      expected.push_back(n + ".mapping_candidates");
    }
  }
  for (const auto& [name, t] : c.tensors) {
    DIFFLUT_CHECK(std::find(expected.begin(), expected.end(), name) != expected.end(), path,
                  ": unexpected tensor '", name, "' (the model metadata describes ",
                  cfg.hidden_sizes.size(), " layer(s) of ", mapping_kind_name(cfg.first_mapping),
                  "/", mapping_kind_name(cfg.later_mapping), " mappings)");
    check_finite_tensor(t, path + ": tensor '" + name + "'");
  }

  EncoderState es;
  es.metadata["encoder"] = r.string(enc, "type");
  es.metadata["kind"] = r.string(enc, "kind");
  es.metadata["num_bits"] = std::to_string(nb);
  es.metadata["feature_wise"] = r.boolean(enc, "feature_wise") ? "true" : "false";
  auto in_file = [&](auto fn) {  // encoder errors (unknown kind, bits, thresholds) name the file
    try {
      return fn();
    } catch (const Error& e) {
      DIFFLUT_FAIL(path, ": ", e.what());
    }
  };
  const int64_t nt = in_file([&] {
    return ThermometerEncoder(es.metadata["kind"], static_cast<int>(nb)).num_thresholds();
  });
  es.tensors["thresholds"] = need_tensor(c, path, "encoder.thresholds", {cfg.num_features, nt});
  ThermometerEncoder encoder = in_file([&] { return ThermometerEncoder::from_state(es); });

  // 3. Build (the constructor refuses a model that cannot fit in memory) and fill in the values.
  Generator gen(0);  // every value below is overwritten from the file
  auto net = in_file([&] { return std::make_shared<LUTNetwork>(cfg, std::move(encoder), gen); });
  for (size_t i = 0; i < net->num_conv_layers(); ++i) {
    ConvLUTLayer& cl = net->conv_layer(i);
    const std::string n = "conv" + std::to_string(i);
    for (int l = 0; l < cl.levels(); ++l)
      load_value(
          cl.level_params(l),
          need_tensor(c, path, n + ".params" + std::to_string(l), cl.level_params(l).value.shape()),
          path, n + ".params" + std::to_string(l));
    const Tensor& field = need_tensor(c, path, n + ".receptive_field", {cl.slots()});
    if (cl.learnable_field()) {
      const Shape ws = cl.field_weights().value.shape();
      load_value(cl.field_weights(), need_tensor(c, path, n + ".field_weights", ws), path,
                 n + ".field_weights");
      in_file([&] {
        cl.set_field_candidates(need_tensor(c, path, n + ".field_candidates", ws));
        return 0;
      });
      // The stored choice must be the one the candidates and scores make: a file edited in one
      // place would otherwise export a circuit that differs from the network it was checked with.
      const std::vector<int64_t> want = field.to(DType::i64).to_vector<int64_t>();
      const std::vector<int64_t> got = cl.receptive_field().to(DType::i64).to_vector<int64_t>();
      for (size_t s = 0; s < want.size(); ++s)
        DIFFLUT_CHECK(want[s] == got[s], path, ": tensor '", n, ".receptive_field' entry ", s,
                      " = ", want[s], ", but its candidates and scores choose ", got[s]);
    } else {
      in_file([&] {
        cl.set_receptive_field(field);
        return 0;
      });
    }
  }
  for (size_t i = 0; i < net->num_layers(); ++i) {
    LUTLayer& l = net->layer(i);
    const std::string n = layer_name(i);
    load_value(l.node_params(), need_tensor(c, path, n + ".params", l.node_params().value.shape()),
               path, n + ".params");
    const Tensor& idx = need_tensor(c, path, n + ".mapping_indices", {l.num_slots()});
    DIFFLUT_CHECK(idx.dtype() == DType::i32 || idx.dtype() == DType::i64, path, ": tensor '", n,
                  ".mapping_indices' expected an integer dtype, found ", dtype_name(idx.dtype()));
    const std::vector<int64_t> m = idx.to(DType::i64).to_vector<int64_t>();
    const int64_t F = l.input_size(), S = l.num_slots();
    for (int64_t s = 0; s < S; ++s)
      DIFFLUT_CHECK(m[static_cast<size_t>(s)] >= 0 && m[static_cast<size_t>(s)] < F, path,
                    ": tensor '", n, ".mapping_indices'[", s, "] = ", m[static_cast<size_t>(s)],
                    " is outside [0, ", F, ")");
    if (l.mapping_kind() == MappingKind::sparse) {
      load_sparse_mapping(l, c, path, n, m);
      continue;
    }
    if (l.mapping_kind() != MappingKind::learnable) {
      l.set_mapping_indices(idx);
      continue;
    }
    Parameter& w = *l.mapping_weights();
    if (const Tensor* wt = find_tensor(c.tensors, n + ".mapping_weights")) {
      DIFFLUT_CHECK(wt->shape() == w.value.shape(), path, ": tensor '", n,
                    ".mapping_weights' expected shape ", shape_str(w.value.shape()), ", found ",
                    wt->describe());
      load_value(w, *wt, path, n + ".mapping_weights");
      l.invalidate_mapping_cache();
      // The stored indices were written as W's argmax; a difference means one of them was edited
      // (and the exported wires would not be the mapping the network computes with).
      const std::vector<int64_t> am = l.mapping_indices().to_vector<int64_t>();
      for (int64_t s = 0; s < S; ++s)
        DIFFLUT_CHECK(am[static_cast<size_t>(s)] == m[static_cast<size_t>(s)], path, ": tensor '",
                      n, ".mapping_indices'[", s, "] = ", m[static_cast<size_t>(s)], ", expected ",
                      am[static_cast<size_t>(s)], " (the argmax of '", n, ".mapping_weights')");
    } else {
      set_one_hot_mapping(l, m);  // its argmax is exactly the saved mapping
    }
    l.invalidate_mapping_cache();
  }
  net->to_device(device);
  net->eval();
  return net;
}

std::string load_lut_network_config(const std::string& path) {
  const SafetensorsContents c = load_safetensors(path);
  auto it = c.metadata.find("difflut.config");
  return it == c.metadata.end() ? std::string() : it->second;
}

}  // namespace difflut
