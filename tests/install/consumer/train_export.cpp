// A small model trained and exported from a consumer program: synthetic u8 data (class = whether
// feature 0 exceeds feature 1), a LUTNetwork of two layers of 4-input DWN nodes trained a few Adam
// steps in scoped graph steps, then one call to export, verify and report its Verilog (argv[1]:
// the output folder). Exit 0 only when the tape stayed one step long, predict() left the model in
// training mode, and the circuit (software model and simulator, when one is on PATH) agrees with
// the network on every sample.
#include <difflut/hdl.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace difflut;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: train_export OUTPUT_DIR\n");
    return 2;
  }
  const int64_t N = 96, F = 8;
  Generator gen(3);
  Dataset data;
  data.name = "synthetic";
  data.num_classes = 2;
  data.features = Tensor::randint({N, F}, 0, 256, gen, DType::u8);
  data.labels = Tensor::empty({N}, DType::i64);
  for (int64_t i = 0; i < N; ++i)
    data.labels.data<int64_t>()[i] =
        data.features.data<uint8_t>()[i * F] > data.features.data<uint8_t>()[i * F + 1];
  const Tensor x = data.features_f32();

  LUTNetworkConfig cfg;
  cfg.num_features = F;
  cfg.num_classes = 2;
  cfg.hidden_sizes = {32, 16};
  cfg.k = 4;
  cfg.first_mapping = MappingKind::random;
  ThermometerEncoder encoder(ThermometerKind::uniform, 3);
  encoder.fit(x);
  LUTNetwork net(cfg, encoder, gen);
  Adam opt(net, {.lr = 0.05});

  Graph g;
  Var in = g.input(x, "x");
  Var labels = g.input(data.labels, "labels");
  size_t tape = 0;
  for (int it = 0; it < 8; ++it) {
    Graph::Step step = g.step();
    opt.zero_grad();
    Var loss = cross_entropy(net(g, in), labels);
    g.backward(loss);
    opt.step();
    tape = std::max(tape, g.size());
    if (it % 4 == 0) std::cout << "step " << it << " loss " << loss.value().item<float>() << "\n";
  }
  const bool tape_ok = g.size() == 2 && tape > 2;
  const double acc = accuracy(net.predict(x), data.labels);
  const bool mode_ok = net.is_training();
  std::cout << "tape after the steps: " << g.size() << " nodes (" << tape << " during a step)"
            << "; training accuracy " << acc << "; still in training mode: " << mode_ok << "\n";

  std::filesystem::remove_all(argv[1]);
  const hdl::NetworkVerilogReport r = hdl::export_network_verilog(net, data, argv[1]);
  std::cout << r.summary() << "\n";
  const bool files_ok =
      std::filesystem::exists(std::filesystem::path(argv[1]) / (r.exported.design.top + ".v"));
  const bool ok = tape_ok && mode_ok && files_ok && r.exact() && r.vectors == N;
  std::cout << (ok ? "PASS" : "FAIL") << "\n";
  return ok ? 0 : 1;
}
