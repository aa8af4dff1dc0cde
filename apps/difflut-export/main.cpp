// difflut-export: checkpoint in, Verilog out. Lowers a trained LUTNetwork's inference graph to a
// circuit, writes one Verilog module per layer plus a documented top module, golden vectors that
// the C++ model computes on the test set (raw inputs in, class scores and predicted class out) and
// a self-checking testbench. --verify runs the testbench in Verilator (or Icarus), --synth maps the
// design to LUT6 with Yosys. Last line: mismatches=N [luts=M ffs=K] latency_cycles=L.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "common/config/checkpoint_dataset.h"
#include "common/config/config.h"
#include "common/config/config_compose.h"
#include "data/registry.h"
#include "hdl/circuit_sim.h"
#include "hdl/export.h"
#include "hdl/lower.h"
#include "hdl/network_export.h"
#include "hdl/optimize.h"
#include "hdl/tools.h"
#include "lut/lut_network.h"

using namespace difflut;
using namespace difflut::hdl;

namespace {

const char* kUsage =
    "usage: difflut-export CHECKPOINT.safetensors [options]\n"
    "  --out DIR            output directory (default: <checkpoint stem>_verilog beside it)\n"
    "  --top NAME           top module name (default difflut_top)\n"
    "  --pipeline N         registers after every N layers (0 = combinational, the default)\n"
    "  --no-encoder         the circuit starts from the encoded bits (default: raw 8-bit codes)\n"
    "  --no-opt             write the literal netlist (default: optimised: constant, duplicate\n"
    "                       and dead logic removed, unused LUT inputs dropped; same outputs)\n"
    "  --limit N            golden vectors from the first N test samples (default: all)\n"
    "  --verify             lint, then run the testbench (Verilator; see --simulator)\n"
    "  --simulator NAME     verilator (default) or icarus (small designs: ~7 s per vector on\n"
    "                       the default model)\n"
    "  --synth              map to LUT6 with Yosys and report LUTs and flip-flops\n"
    "  --full-synth         with --synth: Yosys's generic `synth -lut 6` flow (much slower)\n"
    "  --dataset NAME       test set to use (default: the checkpoint's dataloaders.name)\n"
    "  --data-root DIR      where datasets live (default: $DIFFLUT_DATA_ROOT, ../shared/data)\n"
    "Last line: mismatches=N luts=M ffs=K latency_cycles=L (luts/ffs only with --synth).\n"
    "mismatches counts vectors the Verilog simulation got wrong (with --verify); without\n"
    "--verify it counts vectors where the circuit's C++ software model differs from the model.\n";

struct Options {
  std::string checkpoint;
  std::string out;
  std::string top = "difflut_top";
  int pipeline = 0;
  bool encoder = true;
  bool optimize = true;
  int64_t limit = -1;
  bool verify = false;
  Simulator simulator = Simulator::verilator;
  bool synth = false;
  bool full_synth = false;
  std::string dataset;
  std::string data_root;
};

int64_t parse_int(const std::string& opt, const std::string& v, int64_t min) {
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  DIFFLUT_CHECK(!v.empty() && end && *end == '\0' && x >= min, opt, " expects an integer >= ", min,
                ", found '", v, "'");
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      DIFFLUT_CHECK(i + 1 < argc, "option ", a, " expects a value (see --help)");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--top") {
      o.top = value();
    } else if (a == "--pipeline") {
      o.pipeline = static_cast<int>(parse_int(a, value(), 0));
    } else if (a == "--no-encoder") {
      o.encoder = false;
    } else if (a == "--no-opt") {
      o.optimize = false;
    } else if (a == "--limit") {
      o.limit = parse_int(a, value(), 1);
    } else if (a == "--verify") {
      o.verify = true;
    } else if (a == "--simulator") {
      const std::string s = value();
      DIFFLUT_CHECK(s == "verilator" || s == "icarus",
                    "--simulator expects verilator or icarus, found '", s, "'");
      o.simulator = s == "icarus" ? Simulator::icarus : Simulator::verilator;
    } else if (a == "--synth") {
      o.synth = true;
    } else if (a == "--full-synth") {
      o.synth = o.full_synth = true;
    } else if (a == "--dataset") {
      o.dataset = value();
    } else if (a == "--data-root") {
      o.data_root = value();
    } else if (!a.empty() && a[0] == '-') {
      DIFFLUT_FAIL("unknown option '", a, "' (see --help)");
    } else {
      DIFFLUT_CHECK(o.checkpoint.empty(), "expected one checkpoint, found '", o.checkpoint,
                    "' and '", a, "'");
      o.checkpoint = a;
    }
  }
  DIFFLUT_CHECK(!o.checkpoint.empty(), "expected a checkpoint file (see --help)");
  if (o.out.empty()) {
    const std::filesystem::path p(o.checkpoint);
    o.out = (p.parent_path() / (p.stem().string() + "_verilog")).string();
  }
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void info(const std::string& s) { std::cerr << "difflut-export: " << s << "\n"; }

const char* part_of(StageKind k) {
  switch (k) {
    case StageKind::compare: return "encoder (comparators)";
    case StageKind::lut: return "LUT layers";
    case StageKind::popcount: return "popcount (GroupSum)";
    case StageKind::argmax: return "argmax";
    case StageKind::wires: return "mappings (wires)";
    case StageKind::input: break;
  }
  return "top (pipeline registers)";
}

int run(const Options& o) {
  const auto t_start = std::chrono::steady_clock::now();
  std::shared_ptr<LUTNetwork> net = load_lut_network(o.checkpoint, Device::cpu);
  std::string data_root = o.data_root;
  const std::string dataset =
      canonical_dataset_name(o.dataset.empty() ? app::checkpoint_dataset(o.checkpoint, &data_root,
                                                                          "pass --dataset NAME")
                                               : o.dataset);
  Dataset test = load_dataset(dataset, "test", data_root);
  const int64_t n = o.limit > 0 ? std::min(o.limit, test.size()) : test.size();
  if (n < test.size()) {
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
    test = select_rows(test, rows);
  }
  DIFFLUT_CHECK(!o.encoder || test.features.dtype() == DType::u8, "dataset '", dataset,
                "' has ", dtype_name(test.features.dtype()),
                " features; raw-input export needs u8 codes, use --no-encoder");
  const Tensor features = test.features_f32();
  info(str_cat("model ", o.checkpoint, ": ", net->config().num_features, " features, layers of ",
               net->config().k, "-input ", net->config().node_type, " nodes, ",
               net->config().num_classes, " classes; ", dataset, " test set: ", n, " samples"));

  // 1. Lower (with a stage-by-stage check against the network's graph on the first samples).
  auto t0 = std::chrono::steady_clock::now();
  NetworkLowerOptions lo;
  lo.include_encoder = o.encoder;
  const int64_t probe_rows = std::min<int64_t>(n, 256);
  std::vector<int64_t> probe_idx(static_cast<size_t>(probe_rows));
  for (int64_t i = 0; i < probe_rows; ++i) probe_idx[static_cast<size_t>(i)] = i;
  const Circuit literal =
      lower_lut_network(*net, lo, select_rows(test, probe_idx).features_f32(), /*check=*/true);
  std::cout << "circuit: " << literal.stages.size() - 1 << " stages, " << literal.lut_nodes()
            << " LUT nodes (k <= " << literal.max_k() << "), input " << literal.input_words()
            << " x " << literal.input_width() << " bit(s); every stage equals the network's graph on "
            << probe_rows << " samples (" << seconds_since(t0) << " s)\n";
  // 1b. Optimise (exactness is checked below: the software model of the optimised circuit against
  // the network on every test sample).
  Circuit circuit = literal;
  if (o.optimize) {
    t0 = std::chrono::steady_clock::now();
    OptimizedCircuit opt = optimize_circuit(literal);
    for (const PassSummary& p : opt.passes) std::cout << "optimise " << p.str() << "\n";
    circuit = std::move(opt.circuit);
    std::cout << "optimised circuit: " << circuit.lut_nodes() << " LUT nodes, "
              << count_netlist(circuit).comparators << " comparators (" << seconds_since(t0)
              << " s)\n";
  }

  // 2. Golden vectors from the C++ model: scores = the network's logits, class = their argmax.
  t0 = std::chrono::steady_clock::now();
  const Tensor logits = net->logits(features);
  std::vector<uint32_t> codes = network_input_codes(*net, circuit, test);
  const GoldenVectors golden =
      golden_from_values(circuit, codes, n, {logits, argmax_rows(logits)});
  // The circuit's software model on the same inputs.
  const auto sw = simulate(circuit, golden.inputs, n);
  int64_t sw_mismatches = 0, correct = 0;
  for (int64_t b = 0; b < n; ++b) {
    bool same = true;
    for (size_t p = 0; p < sw.size(); ++p) {
      const int64_t w = static_cast<int64_t>(sw[p].size()) / n;
      for (int64_t i = 0; i < w; ++i)
        same = same && sw[p][static_cast<size_t>(b * w + i)] ==
                           golden.outputs[p][static_cast<size_t>(b * w + i)];
    }
    sw_mismatches += same ? 0 : 1;
    correct += static_cast<int64_t>(sw.back()[static_cast<size_t>(b)]) ==
               test.labels.data<int64_t>()[b];
  }
  std::cout << "software model: " << sw_mismatches << " of " << n
            << " vectors differ from the C++ model; circuit accuracy "
            << static_cast<double>(correct) / static_cast<double>(n) << " ("
            << seconds_since(t0) << " s)\n";

  // 3. Verilog, vectors, testbench.
  t0 = std::chrono::steady_clock::now();
  const ExportedDesign e =
      export_design(circuit, {.top = o.top, .pipeline_every = o.pipeline}, o.out, &golden);
  std::cout << "verilog: " << e.design.files.size() << " modules in " << o.out << " (top "
            << e.design.top << ", latency " << e.design.latency << " cycle(s)), testbench "
            << e.testbench_file << " with " << n << " vectors (" << seconds_since(t0) << " s)\n";

  int64_t mismatches = sw_mismatches;
  if (o.verify) {
    t0 = std::chrono::steady_clock::now();
    const LintResult lint = verilator_lint(o.out, e.design);
    std::cout << "lint (verilator --lint-only -Wall): " << (lint.clean ? "clean" : "WARNINGS")
              << " (" << seconds_since(t0) << " s)\n";
    if (!lint.clean) std::cout << lint.output;
    info(str_cat("simulating with ", simulator_name(o.simulator), " ..."));
    const SimRun r = run_testbench(o.out, e.design, e.testbench_file, o.simulator);
    std::cout << "simulation (" << simulator_name(o.simulator) << "): " << r.mismatches
              << " mismatches in " << r.vectors << " vectors (build " << r.build_seconds
              << " s, run " << r.run_seconds << " s)\n";
    DIFFLUT_CHECK(r.vectors == n, "the testbench checked ", r.vectors, " vectors, expected ", n);
    mismatches = r.mismatches;
    if (r.mismatches > 0) std::cout << r.output;
  }

  std::string synth_fields;
  if (o.synth) {
    info("synthesising with yosys ...");
    const SynthReport rep = run_yosys(o.out, e.design, 6, o.full_synth);
    std::map<std::string, std::pair<int64_t, int64_t>> parts;  // part -> (luts, ffs)
    std::map<std::string, int64_t> nodes;
    for (size_t s = 1; s < circuit.stages.size(); ++s) {
      const Stage& st = circuit.stages[s];
      for (const ModuleCells& m : rep.modules)
        if (m.module == e.design.stage_module[s]) {
          parts[part_of(st.kind)].first += m.luts;
          parts[part_of(st.kind)].second += m.ffs;
        }
      if (st.kind == StageKind::lut) nodes[part_of(st.kind)] += st.size;
    }
    for (const ModuleCells& m : rep.modules)
      if (m.module == e.design.top) parts[part_of(StageKind::input)] = {m.luts, m.ffs};
    std::cout << "synthesis (yosys " << (o.full_synth ? "synth -lut 6" : "abc -lut 6")
              << ", hierarchy kept; " << rep.seconds << " s):\n";
    for (const auto& [part, cnt] : parts) {
      std::cout << "  " << part << ": " << cnt.first << " LUTs, " << cnt.second << " FFs";
      if (nodes.count(part)) std::cout << " (" << nodes[part] << " LUT nodes)";
      std::cout << "\n";
    }
    std::cout << "  total: " << rep.luts << " LUTs, " << rep.ffs << " FFs (log "
              << rep.log_file << ")\n";
    synth_fields = str_cat(" luts=", rep.luts, " ffs=", rep.ffs);
  }
  info(str_cat("done in ", seconds_since(t_start), " s"));
  std::cout << "mismatches=" << mismatches << synth_fields << " latency_cycles="
            << e.design.latency << std::endl;
  return mismatches == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "difflut-export: error: " << e.what() << "\n";
    return 2;
  }
}
