// difflut-export: checkpoint in, Verilog out. Lowers a trained LUTNetwork's inference graph to a
// circuit, writes one Verilog module per layer plus a documented top module, golden vectors that
// the C++ model computes on the test set (raw inputs in, class scores and predicted class out) and
// a self-checking testbench. --verify runs the testbench in Verilator (or Icarus), --synth maps the
// design to LUT6 with Yosys (per module and flattened), --interface stream wraps it in an
// AXI4-Stream top, --pnr ice40 places and routes it with nextpnr. Last line:
// mismatches=N [luts=M ffs=K] latency_cycles=L [fmax_mhz=F lut4=N].
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "common/config/checkpoint_dataset.h"
#include "common/config/config.h"
#include "common/config/config_compose.h"
#include "data/csv.h"
#include "data/loader.h"
#include "data/registry.h"
#include "hdl/circuit.h"
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
    "  --top NAME           top module name, a Verilog identifier (default difflut_top)\n"
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
    "  --synth-modules      --synth without the flattened run (ABC over a whole design of tens of\n"
    "                       thousands of LUTs takes hours): luts/ffs are the modules' sum (one\n"
    "                       Yosys process per module: memory is the largest module's)\n"
    "  --interface NAME     bare (default: the core, wide ports) or stream (AXI4-Stream top:\n"
    "                       aclk, aresetn, s_axis_* input bus, m_axis_* class out, FIFO)\n"
    "  --bus-bits N         stream: s_axis_tdata width (default 8)\n"
    "  --stream-scores      stream: m_axis_tdata carries the scores above the class\n"
    "  --stall P            stream testbench: each side stalls P %% of the cycles (default 30)\n"
    "  --popcount-regs N    registers inside the popcount trees every N adder levels (0: none)\n"
    "  --argmax-regs N      registers inside the argmax tree every N comparator levels (0: none)\n"
    "  --sv                 write SystemVerilog (.sv, logic, always_ff) instead of Verilog-2005\n"
    "  --pnr ice40          yosys synth_ice40, nextpnr-ice40 per seed, icepack; reports LUT4s,\n"
    "                       FFs, I/O and the median Fmax (needs a clocked design)\n"
    "  --part P / --package K   iCE40 part and package (default hx8k, ct256)\n"
    "  --seeds N            place-and-route seeds 1..N (default 3)\n"
    "  --pnr-freq MHz       nextpnr's target frequency (default 200)\n"
    "  --csv FILE           test set from a CSV file (label in the last column) instead\n"
    "  --input-bits N       features that are not 8-bit codes: N-bit fixed-point codes, 2-16 (default:\n"
    "                       the exact fixed-point format of the test features, when one exists)\n"
    "  --dataset NAME       test set to use (default: the checkpoint's dataloaders.name)\n"
    "  --holdout N          the last N training samples of the dataset instead of its test set\n"
    "                       (default: the checkpoint's dataloaders.holdout when --dataset is\n"
    "                       not given)\n"
    "  --data-root DIR      where datasets live (default: $DIFFLUT_DATA_ROOT, ../shared/data)\n"
    "Last line: mismatches=N luts=M ffs=K latency_cycles=L fmax_mhz=F lut4=N (luts/ffs only\n"
    "with --synth: the flattened design, or with --synth-modules the sum of the modules, which\n"
    "synth_scope=modules then says; fmax_mhz/lut4 only with --pnr).\n"
    "mismatches counts vectors the Verilog simulation got wrong (with --verify); without\n"
    "--verify it counts vectors where the circuit's C++ software model differs from the model.\n";

struct Options {
  std::string checkpoint;
  std::string out;
  std::string top = "difflut_top";
  int pipeline = 0;
  int64_t holdout = 0;  // --holdout N: the last N training samples are the test set
  bool encoder = true;
  bool optimize = true;
  int64_t limit = -1;
  bool verify = false;
  Simulator simulator = Simulator::verilator;
  bool synth = false;
  bool full_synth = false;
  bool synth_flat = true;  // --synth-modules: false
  std::string dataset;
  std::string data_root;
  bool stream = false;
  int bus_bits = 8;
  bool stream_scores = false;
  int stall = 30;
  int popcount_regs = 0;
  int argmax_regs = 0;
  bool sv = false;
  bool pnr = false;
  Ice40Options ice40;
  std::string csv;
  int input_bits = 0;
};

// An integer in [min, max]. Out-of-range text is refused, never clamped (strtoll's LLONG_MAX on
// overflow) or wrapped by a cast to int (--pipeline 4294967297 was taken as 1).
int64_t parse_int(const std::string& opt, const std::string& v, int64_t min,
                  int64_t max = std::numeric_limits<int>::max()) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  DIFFLUT_CHECK(!v.empty() && end && *end == '\0' && errno != ERANGE && x >= min && x <= max, opt,
                " expects an integer in [", min, ", ", max, "], found '", v, "'");
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
  std::set<std::string> given;  // the options on the command line
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    given.insert(a);
    auto value = [&]() -> std::string {
      DIFFLUT_CHECK(i + 1 < argc, "option ", a, " expects a value (see --help)");
      // "--out --verify" (the value forgotten) wrote the design into a directory named
      // "--verify" and skipped the verification.
      const std::string v = argv[++i];
      DIFFLUT_CHECK(v.rfind("--", 0) != 0, "option ", a, " expects a value, found the option '", v,
                    "' (see --help)");
      return v;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--top") {
      o.top = value();
      // Taken as given or refused: a silently renamed top ("my top" -> my_top) is not the module
      // the user's design instantiates.
      DIFFLUT_CHECK(verilog_identifier(o.top) == o.top,
                    "--top expects a Verilog identifier (letters, digits and '_', not starting ",
                    "with a digit, not a reserved word), found '", o.top, "'");
    } else if (a == "--pipeline") {
      o.pipeline = static_cast<int>(parse_int(a, value(), 0));
    } else if (a == "--no-encoder") {
      o.encoder = false;
    } else if (a == "--no-opt") {
      o.optimize = false;
    } else if (a == "--limit") {
      o.limit = parse_int(a, value(), 1, std::numeric_limits<int64_t>::max());
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
    } else if (a == "--synth-modules") {
      o.synth = true;
      o.synth_flat = false;
    } else if (a == "--interface") {
      const std::string v = value();
      DIFFLUT_CHECK(v == "bare" || v == "stream", "--interface expects bare or stream, found '", v,
                    "'");
      o.stream = v == "stream";
    } else if (a == "--bus-bits") {
      // The streaming top's own bound (hdl/stream.cpp), checked before any file is written.
      o.bus_bits = static_cast<int>(parse_int(a, value(), 1, 4096));
    } else if (a == "--stream-scores") {
      o.stream_scores = true;
    } else if (a == "--stall") {
      o.stall = static_cast<int>(parse_int(a, value(), 0, 99));  // a percentage
    } else if (a == "--popcount-regs") {
      o.popcount_regs = static_cast<int>(parse_int(a, value(), 0));
    } else if (a == "--argmax-regs") {
      o.argmax_regs = static_cast<int>(parse_int(a, value(), 0));
    } else if (a == "--sv") {
      o.sv = true;
    } else if (a == "--pnr") {
      const std::string v = value();
      DIFFLUT_CHECK(v == "ice40", "--pnr expects ice40, found '", v, "'");
      o.pnr = true;
    } else if (a == "--part") {
      o.ice40.part = value();
    } else if (a == "--package") {
      o.ice40.package = value();
    } else if (a == "--seeds") {
      const int64_t n = parse_int(a, value(), 1, 1000);  // each seed is a full place and route
      o.ice40.seeds.clear();
      for (int64_t i = 1; i <= n; ++i) o.ice40.seeds.push_back(static_cast<int>(i));
    } else if (a == "--pnr-freq") {
      o.ice40.target_mhz = static_cast<double>(parse_int(a, value(), 1, 100000));
    } else if (a == "--csv") {
      o.csv = value();
    } else if (a == "--input-bits") {
      o.input_bits = static_cast<int>(parse_int(a, value(), 2, 16));
    } else if (a == "--holdout") {
      o.holdout = parse_int(a, value(), 1, std::numeric_limits<int64_t>::max());
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
  DIFFLUT_CHECK(o.stream || (!given.count("--bus-bits") && !o.stream_scores),
                "--bus-bits and --stream-scores need --interface stream");
  // Options that would be ignored in this combination are refused, naming what they need.
  const auto needs = [&](const char* opt, bool ok, const char* what) {
    DIFFLUT_CHECK(!given.count(opt) || ok, opt, " needs ", what, " (it would be ignored)");
  };
  needs("--stall", o.stream, "--interface stream (the streaming testbench's stalls)");
  needs("--simulator", o.verify, "--verify");
  for (const char* opt : {"--part", "--package", "--seeds", "--pnr-freq"})
    needs(opt, o.pnr, "--pnr ice40");
  DIFFLUT_CHECK(!o.pnr || o.stream || o.pipeline > 0 || o.popcount_regs > 0 || o.argmax_regs > 0,
                "--pnr needs a clocked design: use --interface stream or --pipeline N");
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
  // An unknown part or package or a missing tool is known now, not after minutes of work and
  // with a half-filled output directory.
  if (o.verify) {
    require_tool("verilator");  // the lint, whichever simulator runs the testbench
    if (o.simulator == Simulator::icarus) {
      require_tool("iverilog");
      require_tool("vvp");
    }
  }
  if (o.synth) require_tool("yosys");
  if (o.pnr) check_ice40_target(o.ice40);
  std::shared_ptr<LUTNetwork> net = load_lut_network(o.checkpoint, Device::cpu);
  std::string data_root = o.data_root;
  // Without --dataset the checkpoint's stored config names the data, and its held-out split too:
  // a model trained with dataloaders.holdout=N is checked on those N samples unless --holdout says
  // otherwise (before, such a CIFAR-10 model was checked on the 1,000 partial test images).
  int64_t holdout = o.holdout;
  std::string stored;
  if (o.csv.empty() && o.dataset.empty()) {
    const app::CheckpointData d = app::checkpoint_data(o.checkpoint, "pass --dataset NAME");
    stored = d.dataset;
    if (data_root.empty()) data_root = d.data_root;
    if (holdout == 0) holdout = d.holdout;
  }
  const std::string dataset =
      !o.csv.empty() ? "csv " + o.csv : canonical_dataset_name(stored.empty() ? o.dataset : stored);
  DIFFLUT_CHECK(o.holdout == 0 || o.csv.empty(),
                "--holdout takes its samples from a dataset's training split, not from --csv");
  Dataset test = !o.csv.empty() ? read_csv(o.csv)
                 : holdout == 0
                     ? load_dataset(dataset, "test", data_root)
                     : split_holdout(load_dataset(dataset, "train", data_root), holdout).second;
  // A test set of another shape (--dataset cifar10 for an MNIST model, a CSV with other columns)
  // is refused here in the model's terms, not by an internal check on the way.
  check_dataset_fits(*net, test);
  // --input-bits formats features that are not 8-bit codes on the encoder's input; anywhere else
  // it would be ignored without a word.
  DIFFLUT_CHECK(o.input_bits == 0 || (o.encoder && test.features.dtype() != DType::u8),
                "--input-bits applies to features that are not 8-bit codes, exported with the ",
                "encoder; found ",
                o.encoder ? "8-bit codes (" + dataset + ")" : std::string("--no-encoder"));
  // Where the vectors come from, when the set says more than its name (a held-out split).
  if (!test.note.empty()) std::cout << "test set: " << test.note << "\n";
  const int64_t n = o.limit > 0 ? std::min(o.limit, test.size()) : test.size();
  if (n < test.size()) {
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
    test = select_rows(test, rows);
  }
  NetworkLowerOptions lo;
  lo.include_encoder = o.encoder;
  if (o.encoder && test.features.dtype() != DType::u8) {
    // Features that are not 8-bit codes: fixed-point input words. An inexact format (given
    // --input-bits) rounds the features; the golden vectors are then the model on those values.
    const FixedPoint fp = derive_fixed_point(test.features_f32(), o.input_bits);
    const Tensor raw = test.features_f32();
    const Tensor q = quantize_features(raw, fp);
    const double float_acc = accuracy(net->predict(raw), test.labels);
    int64_t changed = 0;
    for (int64_t i = 0; i < q.numel(); ++i) changed += q.data<float>()[i] != raw.data<float>()[i];
    std::cout << "input format: " << fp.describe() << " ("
              << (o.input_bits ? "--input-bits" : "exact for every test feature") << "); "
              << changed << " feature values rounded; model accuracy on the features " << float_acc
              << "\n";
    test.features = q;
    lo.fixed_point = fp;
  }
  const Tensor features = test.features_f32();
  info(str_cat("model ", o.checkpoint, ": ", net->config().num_features, " features, ",
               net->num_conv_layers() ? str_cat(net->num_conv_layers(), " conv + ") : "",
               "layers of ", net->config().k, "-input ", net->config().node_type, " nodes, ",
               net->config().num_classes, " classes; ", dataset, " test set: ", n, " samples"));

  // 1. Lower (with a stage-by-stage check against the network's graph on the first samples).
  auto t0 = std::chrono::steady_clock::now();
  const int64_t probe_rows = std::min<int64_t>(n, 256);
  std::vector<int64_t> probe_idx(static_cast<size_t>(probe_rows));
  for (int64_t i = 0; i < probe_rows; ++i) probe_idx[static_cast<size_t>(i)] = i;
  const Circuit literal =
      lower_lut_network(*net, lo, select_rows(test, probe_idx).features_f32(), /*check=*/true);
  std::cout << "circuit: " << literal.stages.size() - 1 << " stages, " << literal.lut_nodes()
            << " LUT nodes (k <= " << literal.max_k() << "), input " << literal.input_words()
            << " x " << literal.input_width()
            << " bit(s); every stage equals the network's graph on " << probe_rows << " samples ("
            << seconds_since(t0) << " s)\n";
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
  const GoldenVectors golden = golden_from_values(circuit, codes, n, {logits, argmax_rows(logits)});
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
    correct +=
        static_cast<int64_t>(sw.back()[static_cast<size_t>(b)]) == test.labels.data<int64_t>()[b];
  }
  std::cout << "software model: " << sw_mismatches << " of " << n
            << " vectors differ from the C++ model; circuit accuracy "
            << static_cast<double>(correct) / static_cast<double>(n) << " (" << seconds_since(t0)
            << " s)\n";

  // 3. Verilog, vectors, testbench (and the streaming top around the core).
  t0 = std::chrono::steady_clock::now();
  const VerilogOptions vo{.top = o.top,
                          .pipeline_every = o.pipeline,
                          .popcount_register_every = o.popcount_regs,
                          .argmax_register_every = o.argmax_regs,
                          .sv = o.sv};
  const ExportedDesign e = export_design(circuit, vo, o.out, &golden);
  VerilogDesign target = e.design;
  std::string tb_file = e.testbench_file;
  std::cout << "verilog: " << e.design.files.size() << " modules in " << o.out << " (core "
            << e.design.top << ", latency " << e.design.latency << " cycle(s)), testbench "
            << e.testbench_file << " with " << n << " vectors (" << seconds_since(t0) << " s)\n";
  if (o.stream) {
    const ExportedStream es =
        export_stream(circuit, e, {.bus_bits = o.bus_bits, .scores = o.stream_scores},
                      {.valid_percent = 100 - o.stall, .ready_percent = 100 - o.stall, .seed = 1});
    target = es.stream.design;
    tb_file = es.testbench_file;
    std::cout << "stream top: " << target.top << " (s_axis " << es.stream.bus_bits << " bits, "
              << es.stream.beats << " beat(s) a sample; m_axis " << es.stream.out_bits
              << " bits; FIFO " << es.stream.depth << "; latency " << target.latency
              << " cycles), testbench " << tb_file << " (stalls " << o.stall << " %)\n";
  }

  int64_t mismatches = sw_mismatches;
  if (o.verify) {
    t0 = std::chrono::steady_clock::now();
    const LintResult lint = verilator_lint(o.out, target);
    std::cout << "lint (verilator --lint-only -Wall): " << (lint.clean ? "clean" : "WARNINGS")
              << " (" << seconds_since(t0) << " s)\n";
    if (!lint.clean) std::cout << lint.output;
    info(str_cat("simulating with ", simulator_name(o.simulator), " ..."));
    const SimRun r = run_testbench(o.out, target, tb_file, o.simulator);
    std::cout << "simulation (" << simulator_name(o.simulator) << "): " << r.mismatches
              << " mismatches in " << r.vectors << " vectors (build " << r.build_seconds
              << " s, run " << r.run_seconds << " s)\n";
    if (o.stream) {
      const size_t at = r.output.rfind("latency=");
      if (at != std::string::npos)
        std::cout << "stream testbench: " << r.output.substr(at, r.output.find('\n', at) - at)
                  << " (latency from the first sample's last beat to its result; " << target.latency
                  << " without stalls)\n";
    }
    DIFFLUT_CHECK(r.vectors == n, "the testbench checked ", r.vectors, " vectors, expected ", n);
    mismatches = r.mismatches;
    if (r.mismatches > 0) std::cout << r.output;
  }

  std::string synth_fields;
  if (o.synth) {
    info(o.synth_flat ? "synthesising with yosys (hierarchy kept, then flattened) ..."
                      : "synthesising with yosys (hierarchy kept) ...");
    const SynthReport rep = run_yosys(o.out, target, 6, o.full_synth);
    std::map<std::string, std::pair<int64_t, int64_t>> parts;  // part -> (luts, ffs)
    std::map<std::string, int64_t> nodes;
    for (size_t s = 1; s < circuit.stages.size(); ++s) {
      const Stage& st = circuit.stages[s];
      // With its submodules (a wide popcount's per-group trees), once per instance.
      const ModuleCells m = hierarchy_total(rep, e.design.stage_module[s]);
      parts[part_of(st.kind)].first += m.luts;
      parts[part_of(st.kind)].second += m.ffs;
      if (st.kind == StageKind::lut) nodes[part_of(st.kind)] += st.size;
    }
    for (const ModuleCells& m : rep.modules)
      if (m.module == e.design.top) parts[part_of(StageKind::input)] = {m.luts, m.ffs};
    if (o.stream)
      for (const ModuleCells& m : rep.modules)
        if (m.module == target.top) parts["stream top (buffer, FIFO)"] = {m.luts, m.ffs};
    std::cout << "synthesis per module (yosys " << (o.full_synth ? "synth -lut 6" : "abc -lut 6")
              << ", hierarchy kept; " << rep.seconds << " s):\n";
    for (const auto& [part, cnt] : parts) {
      std::cout << "  " << part << ": " << cnt.first << " LUTs, " << cnt.second << " FFs";
      if (nodes.count(part)) std::cout << " (" << nodes[part] << " LUT nodes)";
      std::cout << "\n";
    }
    std::cout << "  sum of modules: " << rep.luts << " LUTs, " << rep.ffs << " FFs (log "
              << rep.log_file << ")\n";
    if (o.synth_flat) {
      const SynthReport flat = run_yosys(o.out, target, 6, o.full_synth, /*flatten=*/true);
      std::cout << "synthesis flattened (what a flow that flattens gets; " << flat.seconds
                << " s): " << flat.luts << " LUTs, " << flat.ffs << " FFs (log " << flat.log_file
                << ")\n";
      synth_fields = str_cat(" luts=", flat.luts, " ffs=", flat.ffs);
    } else {
      // Each module mapped alone: not the flattened count, but close to it (default model: 7,334
      // as modules, 7,584 flattened, docs/HARDWARE.md), in minutes instead of hours.
      synth_fields = str_cat(" luts=", rep.luts, " ffs=", rep.ffs, " synth_scope=modules");
    }
  }
  std::string pnr_fields;
  if (o.pnr) {
    info(str_cat("placing and routing on iCE40 ", o.ice40.part, " (", o.ice40.package, "), ",
                 o.ice40.seeds.size(), " seed(s) ..."));
    const Ice40Report p = run_ice40(o.out, target, o.ice40);
    std::cout << "ice40 " << o.ice40.part << " " << o.ice40.package << " (yosys synth_ice40 "
              << p.synth_seconds << " s): " << p.lut4 << " LUT4, " << p.ffs << " FFs, " << p.carries
              << " carries; " << p.logic_cells << "/" << p.logic_cells_available << " logic cells, "
              << p.io << "/" << p.io_available << " I/O, " << p.ram << " block RAMs\n";
    for (const Ice40Run& r : p.runs)
      std::cout << "  nextpnr seed " << r.seed << ": Fmax " << r.fmax_mhz << " MHz (" << r.seconds
                << " s)\n";
    std::cout << "  median Fmax " << p.fmax_median_mhz << " MHz; bitstream " << p.bitstream << "\n";
    pnr_fields = str_cat(" fmax_mhz=", p.fmax_median_mhz, " lut4=", p.lut4);
  }
  info(str_cat("done in ", seconds_since(t_start), " s"));
  std::cout << "mismatches=" << mismatches << synth_fields << " latency_cycles=" << target.latency
            << pnr_fields << std::endl;
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
