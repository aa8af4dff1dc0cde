// Tool runners: shell commands in the design directory, output captured, failures turned into
// difflut::Error messages that quote the tool's last lines.
#include "hdl/tools.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include "tensor/error.h"

namespace difflut::hdl {

namespace {
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q.push_back(c);
  }
  return q + "'";
}

std::string tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    const size_t p = text.rfind('\n', pos - 1);
    if (p == std::string::npos) return text;
    pos = p;
  }
  return text.substr(pos + 1);
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
                package_of(exe), "': apt-get install -y verilator iverilog yosys)");
}

LintResult verilator_lint(const std::string& dir, const VerilogDesign& design) {
  require_tool("verilator");
  const CommandResult r = run_command(
      "verilator --lint-only -Wall --top-module " + design.top + design_files(design), dir);
  LintResult out;
  out.output = r.output;
  out.clean = r.exit_code == 0 && r.output.find("%Warning") == std::string::npos &&
              r.output.find("%Error") == std::string::npos;
  return out;
}

const char* simulator_name(Simulator s) { return s == Simulator::verilator ? "verilator" : "icarus"; }

SimRun run_testbench(const std::string& dir, const VerilogDesign& design,
                     const std::string& tb_file, Simulator simulator) {
  const std::string tb = "tb_" + design.top;
  std::string build, run;
  if (simulator == Simulator::verilator) {
    require_tool("verilator");
    // Lint categories are off here: the design is linted separately; the testbench is not product.
    // OBJCACHE: Verilator's makefiles compile through ccache when it is there, so the runtime
    // library (most of a small design's build time) is compiled once per machine, not per test.
    build = std::string(have_tool("ccache") ? "OBJCACHE=ccache " : "") + "verilator --binary --timing -Wno-fatal -Wno-lint -Wno-style -j 2 --Mdir obj_" + tb +
            " --top-module " + tb + " " + quote(tb_file) + design_files(design);
    run = "./obj_" + tb + "/V" + tb;
  } else {
    require_tool("iverilog");
    require_tool("vvp");
    build = "iverilog -g2005 -s " + tb + " -o " + tb + ".vvp " + quote(tb_file) +
            design_files(design);
    run = "vvp -n " + tb + ".vvp";
  }
  SimRun s;
  const CommandResult b = run_command(build, dir);
  s.build_seconds = b.seconds;
  DIFFLUT_CHECK(b.exit_code == 0, "hdl: ", simulator_name(simulator), " build of ", tb_file,
                " in ", dir, " failed (exit ", b.exit_code, "):\n", tail(b.output, 20));
  const CommandResult r = run_command(run, dir);
  s.run_seconds = r.seconds;
  s.output = r.output;
  const size_t pos = r.output.rfind("mismatches=");
  DIFFLUT_CHECK(r.exit_code == 0 && pos != std::string::npos, "hdl: ", simulator_name(simulator),
                " simulation of ", tb_file, " in ", dir, " did not finish (exit ", r.exit_code,
                "):\n", tail(r.output, 20));
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
    if (w1 == "$lut") m.luts += n;
    else if (w1.find("DFF") != std::string::npos || w1.find("dff") != std::string::npos)
      m.ffs += n;
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

SynthReport run_yosys(const std::string& dir, const VerilogDesign& design, int lut_size,
                      bool full_synth) {
  require_tool("yosys");
  DIFFLUT_CHECK(lut_size >= 2 && lut_size <= 8, "hdl: expected a LUT size in [2, 8], found ",
                lut_size);
  const std::string script = "synth_" + design.top + ".ys";
  const std::string stat_file = "synth_" + design.top + "_stat.txt";
  {
    std::ofstream ys((std::filesystem::path(dir) / script).string());
    DIFFLUT_CHECK(ys.good(), "hdl: cannot write ", script, " in ", dir);
    for (const VerilogFile& f : design.files) ys << "read_verilog " << f.name << "\n";
    if (full_synth) {
      ys << "synth -top " << design.top << " -lut " << lut_size << "\n";
    } else {
      ys << "hierarchy -check -top " << design.top << "\nproc\nopt_clean\ntechmap\nopt -fast\n"
         << "abc -lut " << lut_size << "\nopt_clean\n";
    }
    ys << "tee -q -o " << stat_file << " stat\n";
  }
  SynthReport rep;
  rep.log_file = "synth_" + design.top + ".log";
  const CommandResult r = run_command("yosys -q -l " + rep.log_file + " -s " + script, dir);
  DIFFLUT_CHECK(r.exit_code == 0, "hdl: yosys failed in ", dir, " (exit ", r.exit_code, "):\n",
                tail(r.output, 20));
  std::ifstream st((std::filesystem::path(dir) / stat_file).string());
  DIFFLUT_CHECK(st.good(), "hdl: yosys wrote no ", stat_file, " in ", dir);
  std::stringstream ss;
  ss << st.rdbuf();
  SynthReport parsed = parse_yosys_stat(ss.str(), design.top);
  parsed.seconds = r.seconds;
  parsed.log_file = rep.log_file;
  return parsed;
}

}  // namespace difflut::hdl
