// mlp: trains a 784-256-10 multilayer perceptron on Fashion-MNIST with the core engine (Linear,
// ReLU, cross-entropy, Adam) and prints test_accuracy=0.xxxx as its last line. A smoke test of the
// whole stack: data reader, tensor, autograd, modules, optimizer, CPU or CUDA backend.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "autograd/nn/linear.h"
#include "autograd/nn/module.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "common/config/cli.h"
#include "data/loader.h"
#include "data/registry.h"
#include "tensor/random.h"

using namespace difflut;

namespace {

struct Options {
  Device device = Device::cpu;
  int epochs = 2;
  int64_t batch_size = 32;
  int64_t hidden = 256;
  double lr = 1e-3;
  uint64_t seed = 0;
  std::string dataset = "fashionmnist";
};

const char* kUsage =
    "usage: mlp [--device cpu|cuda] [--epochs N] [--batch-size N] [--hidden N] [--lr X]\n"
    "           [--seed N] [--dataset fashionmnist|mnist]\n"
    "Trains a 784-hidden-10 MLP (ReLU, Adam) and prints test_accuracy=... last.\n";

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    DIFFLUT_CHECK(i + 1 < argc, "option ", a, " expects a value (see --help)");
    std::string v = argv[++i];
    auto as_int = [&](const std::string& what, long long min) {
      char* end = nullptr;
      long long x = std::strtoll(v.c_str(), &end, 10);
      DIFFLUT_CHECK(end && *end == '\0' && !v.empty() && x >= min, what,
                    " expects an integer >= ", min, ", found '", v, "'");
      return x;
    };
    if (a == "--device") {
      o.device = parse_device(v, "--device");
    } else if (a == "--epochs") {
      o.epochs = static_cast<int>(as_int(a, 1));
    } else if (a == "--batch-size") {
      o.batch_size = as_int(a, 1);
    } else if (a == "--hidden") {
      o.hidden = as_int(a, 1);
    } else if (a == "--seed") {
      o.seed = static_cast<uint64_t>(as_int(a, 0));
    } else if (a == "--lr") {
      char* end = nullptr;
      o.lr = std::strtod(v.c_str(), &end);
      DIFFLUT_CHECK(end && *end == '\0' && o.lr > 0, "--lr expects a positive number, found '", v,
                    "'");
    } else if (a == "--dataset") {
      o.dataset = v;
    } else {
      DIFFLUT_FAIL("unknown option '", a, "' (see --help)");
    }
  }
  return o;
}

class Mlp : public Module {
 public:
  Mlp(int64_t in, int64_t hidden, int64_t out, Generator& gen, Device dev) {
    fc1_ = register_module("fc1", std::make_shared<Linear>(in, hidden, true, gen, DType::f32, dev));
    fc2_ =
        register_module("fc2", std::make_shared<Linear>(hidden, out, true, gen, DType::f32, dev));
  }
  Var forward(Graph& g, Var x) override { return (*fc2_)(g, relu((*fc1_)(g, x))); }

 private:
  std::shared_ptr<Linear> fc1_, fc2_;
};

double evaluate(Mlp& model, const Dataset& test, Device dev) {
  NoGradGuard no_grad;
  model.eval();
  DataLoader loader(test, 1000, /*shuffle=*/false, 0, false, dev);
  int64_t correct = 0;
  for (Batch b : loader) {
    Graph g;
    Var pred = argmax(model(g, g.input(b.features)), 1);
    std::vector<int64_t> p = pred.value().to_vector<int64_t>();
    std::vector<int64_t> y = b.labels.to_vector<int64_t>();
    for (size_t i = 0; i < p.size(); ++i) correct += p[i] == y[i];
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(test.labels.numel());
}

int run(const Options& o) {
  Dataset train = load_dataset(o.dataset, "train");
  Dataset test = load_dataset(o.dataset, "test");
  const int64_t in = train.features.numel() / train.features.size(0);
  Generator gen(o.seed);
  Mlp model(in, o.hidden, train.num_classes, gen, o.device);
  Adam opt(model, AdamOptions{.lr = o.lr});
  DataLoader loader(train, o.batch_size, /*shuffle=*/true, o.seed, false, o.device);
  std::printf("mlp: %s, %lld train / %lld test samples, %lld-%lld-%d on %s\n", o.dataset.c_str(),
              (long long)train.labels.numel(), (long long)test.labels.numel(), (long long)in,
              (long long)o.hidden, train.num_classes, std::string(device_name(o.device)).c_str());
  Graph g;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    Tensor loss_sum = Tensor::zeros({1}, DType::f32, o.device);
    int64_t steps = 0;
    for (Batch b : loader) {
      g.clear();
      opt.zero_grad();
      Var loss = cross_entropy(model(g, g.input(b.features)), g.input(b.labels));
      g.backward(loss);
      opt.step();
      // Accumulated on the device; read once per epoch, so CUDA steps never wait on the host.
      Graph acc;
      loss_sum = add(acc.input(loss_sum), acc.input(loss.value())).value();
      ++steps;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("epoch %d: mean loss %.4f, %.1f s, %.0f samples/s, test accuracy %.4f\n", epoch,
                loss_sum.item_as_double() / steps, secs, train.labels.numel() / secs,
                evaluate(model, test, o.device));
    std::fflush(stdout);
  }
  std::printf("test_accuracy=%.4f\n", evaluate(model, test, o.device));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return difflut::app::run_guarded("mlp", [&] { return run(parse(argc, argv)); });
}
