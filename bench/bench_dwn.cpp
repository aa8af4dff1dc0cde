// DWN training and inference benchmark: the default model (distributive thermometer 3 bits, 2000
// LUT6 learnable + 1000 LUT6 random, GroupSum tau = 1/0.3, Adam 1e-2) on Fashion-MNIST. Prints one
// JSON object per line: ms per training step at batch 32, 256 and 1024, inference samples/s at
// batch 1024, and with --epoch one full training epoch at batch 32 (seconds and test accuracy).
// Each row is run for every first-layer mapping in --mappings (learnable: the dense DWN mapping W
// [inputs, slots], the default model; sparse: C candidates per slot, lut/sparse_mapping.h), in the
// same run, so the rows compare on one machine under one load; every row names its "mapping".
// scripts/bench-dwn.sh runs this next to bench/dwn_torch_baseline.py and reports the ratios
// (of the learnable rows: the baselines implement the dense mapping).
//   bench_dwn [--device cpu|cuda] [--steps N] [--epoch] [--batches 32,256,1024]
//             [--mappings learnable,sparse] [--candidates 8] [--hidden 2000,1000] [--later random]
// --hidden and --later change the model's layer sizes and the mapping of the later layers (e.g. a
// 64,000-node sparse model: --hidden 64000,64000 --mappings sparse --later sparse).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "bench/bench_util.h"
#include "data/loader.h"
#include "data/registry.h"
#include "lut/lut_network.h"
#include "tensor/random.h"

using namespace difflut;

namespace {

struct Args {
  Device device = Device::cpu;
  int steps = 20;
  bool epoch = false;
  std::vector<int64_t> batches = {32, 256, 1024};
  std::vector<MappingKind> mappings = {MappingKind::learnable, MappingKind::sparse};
  int64_t candidates = 8;  // sparse mapping: C
  std::vector<int64_t> hidden = {2000, 1000};
  MappingKind later = MappingKind::random;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--epoch") {
      a.epoch = true;
    } else if (s == "--device" && i + 1 < argc) {
      a.device = parse_device(argv[++i], "--device");
    } else if (s == "--steps" && i + 1 < argc) {
      a.steps = std::atoi(argv[++i]);
    } else if (s == "--mappings" && i + 1 < argc) {
      a.mappings.clear();
      std::stringstream ss(argv[++i]);
      std::string item;
      while (std::getline(ss, item, ','))
        a.mappings.push_back(parse_mapping_kind(item, "--mappings"));
    } else if (s == "--hidden" && i + 1 < argc) {
      a.hidden.clear();
      std::stringstream ss(argv[++i]);
      std::string item;
      while (std::getline(ss, item, ',')) a.hidden.push_back(std::stoll(item));
    } else if (s == "--later" && i + 1 < argc) {
      a.later = parse_mapping_kind(argv[++i], "--later");
    } else if (s == "--candidates" && i + 1 < argc) {
      a.candidates = std::atoll(argv[++i]);
    } else if (s == "--batches" && i + 1 < argc) {
      a.batches.clear();
      std::stringstream ss(argv[++i]);
      std::string item;
      while (std::getline(ss, item, ',')) a.batches.push_back(std::stoll(item));
    } else {
      DIFFLUT_FAIL("bench_dwn: unknown argument '", s, "'");
    }
  }
  return a;
}

std::shared_ptr<LUTNetwork> make_model(const Tensor& train_x, int classes, Device dev,
                                       uint64_t seed, MappingKind first, const Args& a) {
  ThermometerEncoder enc("distributive", 3, true);
  enc.fit(train_x);
  LUTNetworkConfig cfg;
  cfg.node_type = "dwn";  // pinned: the comparison with torch_dwn is about DWN nodes
  cfg.num_features = train_x.size(1);
  cfg.num_classes = classes;
  cfg.device = dev;
  cfg.first_mapping = first;
  cfg.later_mapping = a.later;
  cfg.hidden_sizes = a.hidden;
  cfg.sparse_candidates = a.candidates;
  Generator gen(seed);
  return std::make_shared<LUTNetwork>(cfg, enc, gen);
}

// One training step as difflut-train runs it.
void train_step(Graph& g, LUTNetwork& model, Adam& opt, const Tensor& x, const Tensor& y) {
  g.clear();
  Var loss = cross_entropy(model.forward(g, g.input(x, "x")), g.input(y, "labels"));
  opt.zero_grad();
  g.backward(loss);
  opt.step();
}

int run(const Args& a) {
  Dataset train = load_dataset("fashionmnist", "train");
  Dataset test = load_dataset("fashionmnist", "test");
  const Tensor train_x = train.features_f32();
  const std::string dev = std::string(device_name(a.device));
  const std::string machine = bench::machine_name(a.device);

  for (MappingKind mk : a.mappings) {
    const std::string mapping = mapping_kind_name(mk);
    // The layer sizes and later mapping, only where they differ from the default model.
    std::string shape;
    if (a.hidden != std::vector<int64_t>{2000, 1000} || a.later != MappingKind::random) {
      shape = "\"hidden\":\"";
      for (size_t h = 0; h < a.hidden.size(); ++h)
        shape += (h ? "," : "") + std::to_string(a.hidden[h]);
      shape += "\",\"later\":\"" + mapping_kind_name(a.later) + "\",";
    }
    for (int64_t bs : a.batches) {
      auto model = make_model(train_x, train.num_classes, a.device, 0, mk, a);
      Adam opt(*model, AdamOptions{.lr = 1e-2});
      DataLoader loader(train, bs, /*shuffle=*/true, 0, true, a.device);
      Graph g;
      int64_t i = 0;
      auto step = [&] {
        Batch b = loader.batch(i++ % loader.num_batches());
        train_step(g, *model, opt, b.features, b.labels);
      };
      for (int w = 0; w < 3; ++w) step();
      if (a.device == Device::cuda) cuda_synchronize();
      const double t0 = bench::now_seconds();
      for (int s = 0; s < a.steps; ++s) step();
      if (a.device == Device::cuda) cuda_synchronize();
      const double ms = (bench::now_seconds() - t0) / a.steps * 1e3;
      std::printf(
          "{\"bench\":\"dwn_train_step\",\"impl\":\"difflut\",\"mapping\":\"%s\",%s\"device\":\"%s\","
          "\"machine\":\"%s\",\"batch\":%lld,\"ms_per_step\":%.3f,\"epoch_seconds_est\":%.2f}\n",
          mapping.c_str(), shape.c_str(), dev.c_str(), machine.c_str(), (long long)bs, ms,
          ms / 1e3 * static_cast<double>(60000 / bs));
      std::fflush(stdout);
    }

    {
      auto model = make_model(train_x, train.num_classes, a.device, 0, mk, a);
      model->eval();
      const int64_t bs = 1024;
      Tensor x = test.features_f32().reshape({-1, train_x.size(1)});
      Tensor xb = Tensor::empty({bs, x.size(1)}, DType::f32);
      std::memcpy(xb.raw(), x.raw(), xb.nbytes());
      xb = xb.to(a.device);
      NoGradGuard ng;
      const double s = bench::time_best(a.device, 10, [&] {
        Graph g;
        Var out = argmax(model->forward(g, g.input(xb, "x")), 1);
        (void)out;
      });
      std::printf(
          "{\"bench\":\"dwn_inference\",\"impl\":\"difflut\",\"mapping\":\"%s\",%s\"device\":\"%s\","
          "\"machine\":\"%s\",\"batch\":%lld,\"samples_per_second\":%.0f}\n",
          mapping.c_str(), shape.c_str(), dev.c_str(), machine.c_str(), (long long)bs, bs / s);
      std::fflush(stdout);
    }

    if (a.epoch) {
      auto model = make_model(train_x, train.num_classes, a.device, 0, mk, a);
      Adam opt(*model, AdamOptions{.lr = 1e-2});
      DataLoader loader(train, 32, /*shuffle=*/true, 0, false, a.device);
      Graph g;
      if (a.device == Device::cuda) cuda_synchronize();
      const double t0 = bench::now_seconds();
      for (Batch b : loader) train_step(g, *model, opt, b.features, b.labels);
      if (a.device == Device::cuda) cuda_synchronize();
      const double secs = bench::now_seconds() - t0;
      g.clear();
      model->eval();
      const double acc =
          accuracy(model->predict(test.features_f32().reshape({-1, train_x.size(1)})), test.labels);
      std::printf(
          "{\"bench\":\"dwn_train_epoch\",\"impl\":\"difflut\",\"mapping\":\"%s\",%s\"device\":\"%s\","
          "\"machine\":\"%s\",\"batch\":32,\"epoch\":1,\"epoch_seconds\":%.2f,\"test_accuracy\":%.4f}\n",
          mapping.c_str(), shape.c_str(), dev.c_str(), machine.c_str(), secs, acc);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const difflut::Error& e) {
    std::fprintf(stderr, "bench_dwn: error: %s\n", e.what());
    return 2;
  }
}
