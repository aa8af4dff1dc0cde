// merge_lut_networks: members of one architecture side by side, last layer interleaved by class.
#include "lut/network_ensemble.h"

#include <cstring>

#include "lut/one_hot_mapping.h"
#include "tensor/error.h"

namespace difflut {

namespace {

std::string member_name(const std::vector<std::string>& names, size_t m) {
  if (m < names.size() && !names[m].empty()) return "'" + names[m] + "'";
  return "member " + std::to_string(m);
}

// "" when the node options agree, else "<field>: expected A, found B" for the first that differs.
// Every option is compared, also those the node type does not read: checkpoints store them all,
// and a member trained with other options was trained from another config.
std::string node_option_difference(const NodeOptions& a, const NodeOptions& b) {
  auto diff = [](const char* field, const auto& x, const auto& y) {
    return x == y ? std::string() : str_cat(field, ": expected ", x, ", found ", y);
  };
  for (const std::string& d :
       {diff("degree", a.degree, b.degree), diff("hidden_width", a.hidden_width, b.hidden_width),
        diff("depth", a.depth, b.depth), diff("skip_interval", a.skip_interval, b.skip_interval),
        diff("temperature", a.temperature, b.temperature),
        diff("max_amplitude", a.max_amplitude, b.max_amplitude),
        diff("signed_amplitudes", a.signed_amplitudes, b.signed_amplitudes)})
    if (!d.empty()) return d;
  return "";
}

// Throws unless member m can sit beside member 0 (see the header for the list).
void check_member(const LUTNetwork& first, const LUTNetwork& net, const std::string& who,
                  const std::string& ref) {
  const LUTNetworkConfig& a = first.config();
  const LUTNetworkConfig& b = net.config();
  const std::string pre = "merge_lut_networks: " + who + " differs from " + ref + " in ";
  auto same = [&](bool ok, const std::string& what, const auto& want, const auto& found) {
    DIFFLUT_CHECK(ok, pre, what, ": expected ", want, ", found ", found);
  };
  same(a.num_features == b.num_features, "features", a.num_features, b.num_features);
  same(a.num_classes == b.num_classes, "classes", a.num_classes, b.num_classes);
  same(a.node_type == b.node_type, "node type", a.node_type, b.node_type);
  const std::string options = node_option_difference(a.node_options, b.node_options);
  DIFFLUT_CHECK(options.empty(), pre, "node option (model.params.node_params) ", options);
  same(a.k == b.k, "k (LUT inputs)", a.k, b.k);
  same(a.dtype == b.dtype, "dtype", dtype_name(a.dtype), dtype_name(b.dtype));
  same(net.num_layers() == first.num_layers(), "the number of LUT layers", first.num_layers(),
       net.num_layers());
  same(a.first_mapping == b.first_mapping, "the first layer's mapping",
       mapping_kind_name(a.first_mapping), mapping_kind_name(b.first_mapping));
  if (first.num_layers() > 1)
    same(a.later_mapping == b.later_mapping, "the later layers' mapping",
         mapping_kind_name(a.later_mapping), mapping_kind_name(b.later_mapping));
  for (size_t i = 0; i < net.num_layers(); ++i)
    if (net.layer(i).mapping_kind() == MappingKind::sparse)
      same(net.layer(i).mapping_candidates().size(1) == first.layer(i).mapping_candidates().size(1),
           "the sparse candidates per slot of layer " + std::to_string(i),
           first.layer(i).mapping_candidates().size(1), net.layer(i).mapping_candidates().size(1));
  // One GroupSum divides the summed counts by one tau; members with other taus would vote with
  // other weights.
  same(a.tau == b.tau, "GroupSum tau", a.tau, b.tau);
  const ThermometerEncoder& ea = first.encoder();
  const ThermometerEncoder& eb = net.encoder();
  same(ea.kind_name() == eb.kind_name(), "encoder kind", ea.kind_name(), eb.kind_name());
  same(ea.num_bits() == eb.num_bits(), "encoder bits", ea.num_bits(), eb.num_bits());
  same(ea.feature_wise() == eb.feature_wise(), "encoder feature_wise", ea.feature_wise(),
       eb.feature_wise());
  const std::vector<float> ta = ea.thresholds().to_vector<float>();
  const std::vector<float> tb = eb.thresholds().to_vector<float>();
  for (size_t t = 0; t < ta.size(); ++t)
    DIFFLUT_CHECK(std::memcmp(&ta[t], &tb[t], sizeof(float)) == 0, pre, "encoder threshold ",
                  t / static_cast<size_t>(ea.num_thresholds()), ", ",
                  t % static_cast<size_t>(ea.num_thresholds()), ": expected ", ta[t], ", found ",
                  tb[t], " (members must be trained on one encoder: the same training data)");
}

// Throws for what the merge cannot express.
void check_mergeable(const LUTNetwork& net, const std::string& who) {
  const LUTNetworkConfig& c = net.config();
  DIFFLUT_CHECK(net.num_conv_layers() == 0, "merge_lut_networks: ", who, " has ",
                net.num_conv_layers(),
                " convolutional layer(s); ensembles of convolutional models are not supported");
  for (size_t i = 0; i < net.num_layers(); ++i)
    DIFFLUT_CHECK(net.layer(i).mapping_kind() != MappingKind::sparse ||
                      net.layer(i).options().sparse_groups == 0,
                  "merge_lut_networks: ", who, " layer ", i,
                  " has grouped sparse connections (each node's window follows its position), "
                  "which a merged layer cannot keep; merge members with random candidates");
  const int64_t last = net.layer(net.num_layers() - 1).num_nodes();
  DIFFLUT_CHECK(last % c.num_classes == 0, "merge_lut_networks: ", who, " has ", last,
                " nodes in its last layer, expected a multiple of its ", c.num_classes,
                " classes (every class must own as many nodes for the vote to interleave)");
}

// Copies row `from` of `src` [*, cols] into row `to` of `dst` [*, cols] (same dtype, host).
void copy_row(const Tensor& src, int64_t from, Tensor& dst, int64_t to) {
  const size_t bytes = static_cast<size_t>(src.size(1)) * dtype_size(src.dtype());
  std::memcpy(static_cast<char*>(dst.raw()) + static_cast<size_t>(to) * bytes,
              static_cast<const char*>(src.raw()) + static_cast<size_t>(from) * bytes, bytes);
}

}  // namespace

std::shared_ptr<LUTNetwork> merge_lut_networks(
    const std::vector<std::shared_ptr<LUTNetwork>>& members,
    const std::vector<std::string>& names) {
  DIFFLUT_CHECK(members.size() >= 2, "merge_lut_networks: expected at least two members, found ",
                members.size());
  for (size_t m = 0; m < members.size(); ++m) {
    DIFFLUT_CHECK(members[m] != nullptr, "merge_lut_networks: ", member_name(names, m), " is null");
    check_mergeable(*members[m], member_name(names, m));
    if (m > 0) check_member(*members[0], *members[m], member_name(names, m), member_name(names, 0));
  }
  const size_t M = members.size();
  const size_t L = members[0]->num_layers();
  const int64_t C = members[0]->config().num_classes;

  // offset[i][m]: where member m's nodes start in merged layer i (all layers but the last).
  LUTNetworkConfig cfg = members[0]->config();
  cfg.device = Device::cpu;
  std::vector<std::vector<int64_t>> offset(L, std::vector<int64_t>(M + 1, 0));
  for (size_t i = 0; i < L; ++i)
    for (size_t m = 0; m < M; ++m)
      offset[i][m + 1] = offset[i][m] + members[m]->layer(i).num_nodes();
  for (size_t i = 0; i < L; ++i) cfg.hidden_sizes[i] = offset[i][M];
  // The last layer's class groups: member m's class-c nodes sit at c * G + offset[L-1][m] / C + r.
  const int64_t G = offset[L - 1][M] / C;

  Generator gen(0);  // every value is overwritten below
  auto net = std::make_shared<LUTNetwork>(cfg, members[0]->encoder(), gen);
  for (size_t i = 0; i < L; ++i) {
    LUTLayer& out = net->layer(i);
    const int k = out.k();
    const bool last = i + 1 == L;
    Tensor params = Tensor::zeros(out.node_params().value.shape(), cfg.dtype, Device::cpu);
    std::vector<int64_t> index(static_cast<size_t>(out.num_slots()), 0);
    const bool sparse = out.mapping_kind() == MappingKind::sparse;
    Tensor cand, weights;
    if (sparse) {
      cand = Tensor::zeros(out.mapping_candidates().shape(), DType::i64, Device::cpu);
      weights = Tensor::zeros(out.mapping_weights()->value.shape(), cfg.dtype, Device::cpu);
    }
    for (size_t m = 0; m < M; ++m) {
      LUTLayer& in = members[m]->layer(i);
      const int64_t N = in.num_nodes(), per_class = N / C;
      // Where an input of member m's layer i sits in the merged network: encoder bits are shared;
      // a previous layer's node moved by that layer's member offset.
      const int64_t shift = i == 0 ? 0 : offset[i - 1][m];
      auto node_pos = [&](int64_t j) {
        return last ? (j / per_class) * G + offset[i][m] / C + j % per_class : offset[i][m] + j;
      };
      const Tensor p = in.node_params().value.to(Device::cpu);
      const std::vector<int64_t> idx = in.mapping_indices().to_vector<int64_t>();
      Tensor mc, mw;
      if (sparse) {
        mc = in.mapping_candidates().to(DType::i64);
        mw = in.mapping_weights()->value.to(Device::cpu);
      }
      for (int64_t j = 0; j < N; ++j) {
        const int64_t pos = node_pos(j);
        copy_row(p, j, params, pos);
        for (int l = 0; l < k; ++l) {
          const int64_t from = j * k + l, to = pos * k + l;
          index[static_cast<size_t>(to)] = idx[static_cast<size_t>(from)] + shift;
          if (!sparse) continue;
          copy_row(mw, from, weights, to);
          const int64_t cols = mc.size(1);
          const int64_t* src = mc.data<int64_t>() + from * cols;
          int64_t* dst = cand.data<int64_t>() + to * cols;
          for (int64_t e = 0; e < cols; ++e) dst[e] = src[e] + shift;
        }
      }
    }
    out.node_params().value.copy_(params);
    const Tensor index_t = Tensor::from_vector(index, {out.num_slots()});
    if (sparse) {
      out.set_mapping_candidates(cand);
      out.mapping_weights()->value.copy_(weights);
    } else if (out.mapping_kind() == MappingKind::learnable) {
      set_one_hot_mapping(out, index);  // as loading a checkpoint without W does
    } else {
      out.set_mapping_indices(index_t);
    }
    out.invalidate_mapping_cache();
    // The merged layer must gather exactly the members' inputs (a scoring tie broken otherwise
    // would silently change the vote).
    const std::vector<int64_t> got = out.mapping_indices().to_vector<int64_t>();
    for (size_t s = 0; s < got.size(); ++s)
      DIFFLUT_CHECK(got[s] == index[s], "merge_lut_networks: layer ", i, " slot ", s,
                    " reads input ", got[s], " after the merge, expected ", index[s]);
  }
  net->eval();
  return net;
}

}  // namespace difflut
