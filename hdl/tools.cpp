// Tool runners: shell commands in the design directory, output captured, failures turned into
// difflut::Error messages that quote the tool's last lines.
#include "hdl/tools.h"

#include <sys/wait.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tensor/error.h"

namespace difflut::hdl {

namespace {
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q.push_back(c);
  }
  return q + "'";
}

std::string tail(const std::string& text, size_t lines) {
  if (text.empty()) return "(no output)";
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    const size_t p = text.rfind('\n', pos - 1);
    if (p == std::string::npos) return text;
    pos = p;
  }
  return text.substr(pos + 1);
}

// "exit N", or for a shell's 128 + signal status what killed the tool: a SIGKILL there is most
// often the out-of-memory killer (a Yosys run over a large module), which prints nothing.
std::string exit_text(int code) {
  if (code <= 128 || code > 128 + 64) return "exit " + std::to_string(code);
  const int sig = code - 128;
  return "killed by signal " + std::to_string(sig) +
         (sig == 9 ? ", SIGKILL: most likely out of memory" : "");
}

std::string design_files(const VerilogDesign& d) {
  std::string s;
  for (const VerilogFile& f : d.files) {
    s += ' ';
    s += quote(f.name);
  }
  return s;
}

const char* package_of(const std::string& exe) {
  if (exe == "iverilog" || exe == "vvp") return "iverilog";
  if (exe == "yosys") return "yosys";
  if (exe == "nextpnr-ice40") return "nextpnr-ice40";
  if (exe == "icepack") return "fpga-icestorm";
  return "verilator";
}
}  // namespace

CommandResult run_command(const std::string& command, const std::string& dir) {
  const std::string full =
      (dir.empty() ? std::string() : "cd " + quote(dir) + " && ") + "( " + command + " ) 2>&1";
  const auto t0 = std::chrono::steady_clock::now();
  FILE* p = popen(full.c_str(), "r");
  DIFFLUT_CHECK(p != nullptr, "hdl: cannot run '", command, "'");
  CommandResult r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

bool have_tool(const std::string& exe) {
  return run_command("command -v " + quote(exe) + " >/dev/null").exit_code == 0;
}

void require_tool(const std::string& exe) {
  DIFFLUT_CHECK(have_tool(exe), "hdl: '", exe, "' is not on PATH (install the Debian package '",
                package_of(exe), "': apt-get install -y ", package_of(exe), ")");
}

LintResult verilator_lint(const std::string& dir, const VerilogDesign& design) {
  require_tool("verilator");
  const CommandResult r =
      run_command(std::string("verilator --lint-only -Wall ") + (design.sv ? "--sv " : "") +
                      "--top-module " + design.top + design_files(design),
                  dir);
  LintResult out;
  out.output = r.output;
  out.clean = r.exit_code == 0 && r.output.find("%Warning") == std::string::npos &&
              r.output.find("%Error") == std::string::npos;
  return out;
}

const char* simulator_name(Simulator s) {
  return s == Simulator::verilator ? "verilator" : "icarus";
}

SimRun run_testbench(const std::string& dir, const VerilogDesign& design,
                     const std::string& tb_file, Simulator simulator) {
  const std::string tb = "tb_" + design.top;
  std::string build, run;
  if (simulator == Simulator::verilator) {
    require_tool("verilator");
    // Lint categories are off here: the design is linted separately; the testbench is not product.
    // OBJCACHE: Verilator's makefiles compile through ccache when it is there, so the runtime
    // library (most of a small design's build time) is compiled once per machine, not per test.
    build = std::string(have_tool("ccache") ? "OBJCACHE=ccache " : "") +
            "verilator --binary --timing -Wno-fatal -Wno-lint -Wno-style -j 2 --Mdir obj_" + tb +
            " --top-module " + tb + " " + quote(tb_file) + design_files(design);
    run = "./obj_" + tb + "/V" + tb;
  } else {
    require_tool("iverilog");
    require_tool("vvp");
    build = std::string("iverilog ") + (design.sv ? "-g2012" : "-g2005") + " -s " + tb + " -o " +
            tb + ".vvp " + quote(tb_file) + design_files(design);
    run = "vvp -n " + tb + ".vvp";
  }
  SimRun s;
  const CommandResult b = run_command(build, dir);
  s.build_seconds = b.seconds;
  DIFFLUT_CHECK(b.exit_code == 0, "hdl: ", simulator_name(simulator), " build of ", tb_file, " in ",
                dir, " failed (", exit_text(b.exit_code), "):\n", tail(b.output, 20));
  const CommandResult r = run_command(run, dir);
  s.run_seconds = r.seconds;
  s.output = r.output;
  const size_t pos = r.output.rfind("mismatches=");
  DIFFLUT_CHECK(r.exit_code == 0 && pos != std::string::npos, "hdl: ", simulator_name(simulator),
                " simulation of ", tb_file, " in ", dir, " did not finish (",
                exit_text(r.exit_code), "):\n", tail(r.output, 20));
  long long m = -1, v = -1;
  DIFFLUT_CHECK(std::sscanf(r.output.c_str() + pos, "mismatches=%lld vectors=%lld", &m, &v) == 2,
                "hdl: cannot parse the testbench's last line: ", tail(r.output, 2));
  s.mismatches = m;
  s.vectors = v;
  return s;
}

SynthReport parse_yosys_stat(const std::string& text, const std::string& top) {
  SynthReport rep;
  std::istringstream in(text);
  std::string line;
  ModuleCells cur;
  bool in_module = false, in_cells = false, in_hier = false;
  ModuleCells total;
  bool have_total = false;
  auto flush = [&] {
    if (in_module) rep.modules.push_back(cur);
    in_module = false;
  };
  while (std::getline(in, line)) {
    const size_t a = line.find("=== "), b = line.rfind(" ===");
    if (a != std::string::npos && b != std::string::npos && b > a) {
      flush();
      const std::string name = line.substr(a + 4, b - a - 4);
      in_cells = false;
      in_hier = name == "design hierarchy";
      if (!in_hier) {
        cur = ModuleCells{};
        cur.module = name;
        in_module = true;
      } else {
        have_total = true;
      }
      continue;
    }
    std::istringstream ls(line);
    std::string w1, w2, w3;
    ls >> w1;
    if (w1 == "Number") {
      ls >> w2 >> w3;
      in_cells = w2 == "of" && w3 == "cells:";
      if (in_cells) {
        long long n = 0;
        ls >> n;
        (in_hier ? total : cur).cells = n;
      }
      continue;
    }
    if (!in_cells || w1.empty()) continue;
    long long n = 0;
    if (!(ls >> n)) continue;
    ModuleCells& m = in_hier ? total : cur;
    if (w1 == "$lut")
      m.luts += n;
    else if (w1.find("DFF") != std::string::npos || w1.find("dff") != std::string::npos)
      m.ffs += n;
    else if (!in_hier && w1[0] != '$')
      m.instances.emplace_back(w1, n);  // a submodule (or black box) cell
  }
  flush();
  if (have_total) {
    rep.luts = total.luts;
    rep.ffs = total.ffs;
  } else {
    for (const ModuleCells& m : rep.modules)
      if (m.module == top) {
        rep.luts = m.luts;
        rep.ffs = m.ffs;
      }
  }
  return rep;
}

namespace {
// The synthesis commands after reading: the default flow (proc; techmap; opt -fast; abc) or
// Yosys's generic `synth`; `top` empty: no top named (each module of the design kept).
std::string synth_commands(const std::string& top, int lut_size, bool full_synth, bool flatten) {
  std::ostringstream ys;
  if (full_synth) {
    ys << "synth" << (top.empty() ? "" : " -top " + top) << (flatten ? " -flatten" : "") << " -lut "
       << lut_size << "\n";
  } else {
    ys << "hierarchy -check" << (top.empty() ? "" : " -top " + top) << "\nproc\n"
       << (flatten ? "flatten\n" : "") << "opt_clean\ntechmap\nopt -fast\nabc -lut " << lut_size
       << "\nopt_clean\n";
  }
  return ys.str();
}

// One Yosys process: writes <stem>.ys (read `reads`, then `commands`, then stat), runs it and
// parses the statistics.
SynthReport yosys_process(const std::string& dir, const std::string& stem,
                          const std::vector<std::string>& reads, const std::string& commands,
                          bool sv, const std::string& top) {
  const std::string script = stem + ".ys";
  const std::string stat_file = stem + "_stat.txt";
  {
    std::ofstream ys((std::filesystem::path(dir) / script).string());
    DIFFLUT_CHECK(ys.good(), "hdl: cannot write ", script, " in ", dir);
    for (const std::string& f : reads) ys << "read_verilog " << (sv ? "-sv " : "") << f << "\n";
    ys << commands << "tee -q -o " << stat_file << " stat\n";
  }
  const std::string log_file = stem + ".log";
  const CommandResult r = run_command("yosys -q -l " + log_file + " -s " + script, dir);
  DIFFLUT_CHECK(r.exit_code == 0, "hdl: yosys failed in ", dir, " (", exit_text(r.exit_code),
                ", log ", log_file, "):\n", tail(r.output, 20));
  std::ifstream st((std::filesystem::path(dir) / stat_file).string());
  DIFFLUT_CHECK(st.good(), "hdl: yosys wrote no ", stat_file, " in ", dir);
  std::stringstream ss;
  ss << st.rdbuf();
  SynthReport parsed = parse_yosys_stat(ss.str(), top);
  parsed.seconds = r.seconds;
  parsed.log_file = log_file;
  return parsed;
}

// Where each "module NAME (" header of a generated file starts (at a line start).
std::vector<size_t> module_headers(const std::string& text) {
  std::vector<size_t> at;
  for (size_t p = text.rfind("module ", 0) == 0 ? 0 : text.find("\nmodule ");
       p != std::string::npos; p = text.find("\nmodule ", p + 1))
    at.push_back(text[p] == '\n' ? p + 1 : p);
  return at;
}

std::string module_name_at(const std::string& text, size_t header) {
  const size_t b = header + 7, e = text.find_first_of(" (;\n", b);
  return text.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

// Every module of `text` as an empty (* blackbox *) module with the same ANSI port list (the
// generated files declare ports in the header, up to the first ");"): all that a Yosys run over
// another file needs to know of it.
std::string blackbox_stubs(const std::string& text) {
  std::string out;
  for (size_t h : module_headers(text)) {
    const size_t end = text.find(");", h);
    DIFFLUT_CHECK(end != std::string::npos, "hdl: expected a port list ending in ');' after '",
                  module_name_at(text, h), "', found none");
    out += "(* blackbox *)\n" + text.substr(h, end + 2 - h) + "\nendmodule\n";
  }
  return out;
}

// Cells of `module` and everything under it, each submodule counted once per instance.
ModuleCells design_total(const std::map<std::string, ModuleCells>& modules,
                         const std::string& module, int depth = 0) {
  DIFFLUT_CHECK(depth < 64, "hdl: module hierarchy deeper than 64 levels at '", module, "'");
  const auto it = modules.find(module);
  DIFFLUT_CHECK(it != modules.end(), "hdl: module '", module,
                "' is instantiated but no file of the design defines it");
  ModuleCells t = it->second;
  for (const auto& [child, count] : it->second.instances) {
    const ModuleCells c = design_total(modules, child, depth + 1);
    t.luts += count * c.luts;
    t.ffs += count * c.ffs;
  }
  return t;
}

// The hierarchical run: one Yosys process per file, so that memory is bounded by the largest
// module and not the whole design (a merged six-member CIFAR-10 ensemble's encoder module alone
// took 9+ GB, its popcounts more than 19.5 GB: docs/RESULTS.md). A stage module instantiates
// nothing; other files (the top, the stream top) read the rest of the design as black-box stubs.
SynthReport run_yosys_per_file(const std::string& dir, const VerilogDesign& design, int lut_size,
                               bool full_synth) {
  const std::string stem = "synth_" + design.top;
  const std::set<std::string> leaves(design.stage_module.begin(), design.stage_module.end());
  SynthReport rep;
  std::map<std::string, ModuleCells> by_name;
  for (size_t i = 0; i < design.files.size(); ++i) {
    const VerilogFile& f = design.files[i];
    std::vector<std::string> names;
    for (size_t h : module_headers(f.text)) names.push_back(module_name_at(f.text, h));
    DIFFLUT_CHECK(!names.empty(), "hdl: expected a module in ", f.name, ", found none");
    const bool leaf = names.size() == 1 && leaves.count(names[0]) > 0;
    std::vector<std::string> reads;
    if (!leaf) {
      std::string stubs;
      for (size_t j = 0; j < design.files.size(); ++j)
        if (j != i) stubs += blackbox_stubs(design.files[j].text);
      const std::string stub_file = stem + "_" + names[0] + "_stubs.v";
      std::ofstream out((std::filesystem::path(dir) / stub_file).string());
      out << stubs;
      DIFFLUT_CHECK(out.good(), "hdl: cannot write ", stub_file, " in ", dir);
      reads.push_back(stub_file);
    }
    reads.push_back(f.name);
    const SynthReport one =
        yosys_process(dir, stem + "_" + names[0], reads,
                      synth_commands("", lut_size, full_synth, false), design.sv, names[0]);
    rep.seconds += one.seconds;
    for (const ModuleCells& m : one.modules)
      if (std::find(names.begin(), names.end(), m.module) != names.end()) {
        rep.modules.push_back(m);
        by_name[m.module] = m;
      }
  }
  const ModuleCells total = design_total(by_name, design.top);
  rep.luts = total.luts;
  rep.ffs = total.ffs;
  rep.log_file = stem + "_<module>.log";
  return rep;
}
}  // namespace

ModuleCells hierarchy_total(const SynthReport& rep, const std::string& module) {
  std::map<std::string, ModuleCells> by_name;
  for (const ModuleCells& m : rep.modules) by_name[m.module] = m;
  return design_total(by_name, module);
}

SynthReport run_yosys(const std::string& dir, const VerilogDesign& design, int lut_size,
                      bool full_synth, bool flatten) {
  require_tool("yosys");
  DIFFLUT_CHECK(lut_size >= 2 && lut_size <= 8, "hdl: expected a LUT size in [2, 8], found ",
                lut_size);
  if (!flatten) return run_yosys_per_file(dir, design, lut_size, full_synth);
  std::vector<std::string> reads;
  for (const VerilogFile& f : design.files) reads.push_back(f.name);
  return yosys_process(dir, "synth_" + design.top + "_flat", reads,
                       synth_commands(design.top, lut_size, full_synth, true), design.sv,
                       design.top);
}

namespace {
// "Info: \t  ICESTORM_LC:  4321/ 7680    56%" -> used, available.
bool utilisation_line(const std::string& line, const std::string& what, int64_t& used,
                      int64_t& available) {
  const size_t p = line.find(what + ":");
  if (p == std::string::npos) return false;
  long long u = 0, a = 0;
  if (std::sscanf(line.c_str() + p + what.size() + 1, " %lld/ %lld", &u, &a) != 2) return false;
  used = u;
  available = a;
  return true;
}
}  // namespace

void parse_nextpnr_log(const std::string& log, const Ice40Options& options, Ice40Report& report,
                       double& fmax_mhz) {
  std::istringstream in(log);
  std::string line;
  fmax_mhz = 0;
  struct Need {
    const char* cell;
    const char* what;
  };
  const Need needs[] = {{"ICESTORM_LC", "logic cells"},
                        {"SB_IO", "I/O pins"},
                        {"ICESTORM_RAM", "block RAMs"},
                        {"SB_GB", "global buffers"}};
  while (std::getline(in, line)) {
    for (const Need& n : needs) {
      int64_t used = 0, available = 0;
      if (!utilisation_line(line, n.cell, used, available)) continue;
      DIFFLUT_CHECK(used <= available, "hdl: the design does not fit the iCE40 ", options.part,
                    " (", options.package, "): it needs ", used, " ", n.what, " (", n.cell,
                    "), the part has ", available);
      if (std::string(n.cell) == "ICESTORM_LC") {
        report.logic_cells = used;
        report.logic_cells_available = available;
      } else if (std::string(n.cell) == "SB_IO") {
        report.io = used;
        report.io_available = available;
      } else if (std::string(n.cell) == "ICESTORM_RAM") {
        report.ram = used;
      }
    }
    const size_t p = line.find("Max frequency for clock");
    if (p != std::string::npos) {
      const size_t colon = line.find("': ", p);
      double f = 0;
      if (colon != std::string::npos && std::sscanf(line.c_str() + colon + 3, "%lf", &f) == 1)
        fmax_mhz = f;  // the last one (after routing) wins
    }
  }
}

void check_ice40_target(const Ice40Options& options) {
  require_tool("yosys");
  require_tool("nextpnr-ice40");
  require_tool("icepack");
  DIFFLUT_CHECK(!options.seeds.empty(), "hdl: expected at least one place-and-route seed");
  const std::string& part = options.part;
  DIFFLUT_CHECK(!part.empty() && part.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") ==
                                     std::string::npos,
                "hdl: expected an iCE40 part such as hx8k, hx1k, up5k, found '", part, "'");
  // Without --json nextpnr only loads the device and package, and writes nothing.
  const CommandResult r =
      run_command(str_cat("nextpnr-ice40 --", part, " --package ", quote(options.package), " -q"),
                  std::filesystem::temp_directory_path().string());
  if (r.exit_code == 0) return;
  std::string said;  // the tool's complaint on one line
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.find("warnings,") == std::string::npos)
      said += (said.empty() ? "" : "; ") + line;
  DIFFLUT_FAIL("hdl: nextpnr-ice40 does not accept the iCE40 part '", part, "' with package '",
               options.package, "' (it says: ", said,
               "); parts: lp384, lp1k, lp4k, lp8k, hx1k, hx4k, hx8k, up3k, up5k, u4k");
}

Ice40Report run_ice40(const std::string& dir, const VerilogDesign& design,
                      const Ice40Options& options) {
  check_ice40_target(options);
  const std::string part = options.part;
  Ice40Report rep;
  const std::string stem = "ice40_" + design.top;
  {
    std::ofstream ys((std::filesystem::path(dir) / (stem + ".ys")).string());
    DIFFLUT_CHECK(ys.good(), "hdl: cannot write ", stem, ".ys in ", dir);
    for (const VerilogFile& f : design.files)
      ys << "read_verilog " << (design.sv ? "-sv " : "") << f.name << "\n";
    ys << "synth_ice40 -top " << design.top << " -json " << stem << ".json\n";
    ys << "tee -q -o " << stem << "_stat.txt stat\n";
  }
  const CommandResult y = run_command("yosys -q -l " + stem + "_yosys.log -s " + stem + ".ys", dir);
  rep.synth_seconds = y.seconds;
  DIFFLUT_CHECK(y.exit_code == 0, "hdl: yosys synth_ice40 failed in ", dir, " (",
                exit_text(y.exit_code), "):\n", tail(y.output, 20));
  {
    std::ifstream st((std::filesystem::path(dir) / (stem + "_stat.txt")).string());
    std::string line;
    while (std::getline(st, line)) {
      std::istringstream ls(line);
      std::string cell;
      long long n = 0;
      if (!(ls >> cell >> n)) continue;
      if (cell == "SB_LUT4")
        rep.lut4 += n;
      else if (cell.rfind("SB_DFF", 0) == 0)
        rep.ffs += n;
      else if (cell == "SB_CARRY")
        rep.carries += n;
    }
  }
  std::vector<double> f;
  double best = -1;
  for (int seed : options.seeds) {
    const std::string asc = str_cat(stem, "_seed", seed, ".asc");
    const std::string log = str_cat(stem, "_seed", seed, ".log");
    const CommandResult r = run_command(
        str_cat("nextpnr-ice40 --", part, " --package ", quote(options.package), " --json ", stem,
                ".json --asc ", asc, " --seed ", seed, " --freq ", options.target_mhz, " --router ",
                quote(options.router), " --timing-allow-fail -l ", log, " -q"),
        dir);
    std::ifstream lf((std::filesystem::path(dir) / log).string());
    std::stringstream text;
    text << lf.rdbuf();
    Ice40Run run;
    run.seed = seed;
    run.seconds = r.seconds;
    parse_nextpnr_log(text.str() + r.output, options, rep, run.fmax_mhz);
    DIFFLUT_CHECK(r.exit_code == 0, "hdl: nextpnr-ice40 (seed ", seed, ") failed in ", dir, " (",
                  exit_text(r.exit_code), "):\n", tail(r.output, 10));
    DIFFLUT_CHECK(run.fmax_mhz > 0, "hdl: nextpnr-ice40 reported no clock frequency (log ", log,
                  " in ", dir, ")");
    rep.runs.push_back(run);
    f.push_back(run.fmax_mhz);
    if (run.fmax_mhz > best) {
      best = run.fmax_mhz;
      rep.bitstream = design.top + ".bin";
      const CommandResult p = run_command("icepack " + asc + " " + rep.bitstream, dir);
      DIFFLUT_CHECK(p.exit_code == 0, "hdl: icepack failed in ", dir, ":\n", tail(p.output, 10));
    }
  }
  std::sort(f.begin(), f.end());
  rep.fmax_median_mhz =
      f.size() % 2 ? f[f.size() / 2] : (f[f.size() / 2 - 1] + f[f.size() / 2]) / 2;
  return rep;
}

}  // namespace difflut::hdl
