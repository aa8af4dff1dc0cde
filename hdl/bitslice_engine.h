// The bit-sliced CPU inference engine: runs a BitsliceProgram (bitslice_program.h) on raw 8-bit
// feature codes, 1024 samples per block (a plane is 16 64-bit words), blocks spread over the thread
// pool. Three code paths share one program and one slot layout:
//   avx512    comparator windows gathered with vpermi2b and tested with vpcmpub, 64x64 bit tiles
//             transposed with GFNI, the ops as machine code (bitslice_jit.h): one vpternlogq each (needs AVX-512 F/BW/VBMI and GFNI);
//   avx2      the ops on 256-bit registers, the front end portable;
//   portable  plain 64-bit words, any x86-64 or other CPU.
// The fastest path the CPU supports is chosen at run time; DIFFLUT_INFER_ISA=avx512|avx2|portable
// forces one (an unsupported choice is an error, not a silent fallback), so every path can be tested
// on one machine. All paths give the same bits: tests compare them with the program interpreter and
// the circuit's software model.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hdl/bitslice_program.h"

namespace difflut::hdl {

namespace bitslice {
class JitOps;
}

enum class BitsliceIsa { portable, avx2, avx512 };
const char* bitslice_isa_name(BitsliceIsa isa);
// Whether this CPU (and this build) can run the path.
bool bitslice_isa_supported(BitsliceIsa isa);
// The fastest supported path.
BitsliceIsa best_bitslice_isa();
// DIFFLUT_INFER_ISA (auto, avx512, avx2, portable; unset = auto). Throws difflut::Error for an
// unknown name or a path this CPU cannot run.
BitsliceIsa bitslice_isa_from_env();
// Parses a name as DIFFLUT_INFER_ISA does ("auto" -> best_bitslice_isa()); throws likewise.
BitsliceIsa parse_bitslice_isa(const std::string& name);

class BitsliceEngine {
 public:
  static constexpr int64_t kBlockSamples = 1024;

  // Throws difflut::Error if `isa` is not supported here. On the avx512 path the ops run as
  // machine code (bitslice_jit.h) unless `allow_jit` is false or DIFFLUT_INFER_JIT=0, or the OS
  // refuses executable memory; then they run from the op list.
  explicit BitsliceEngine(BitsliceProgram program, BitsliceIsa isa = bitslice_isa_from_env(),
                          bool allow_jit = true);

  const BitsliceProgram& program() const { return program_; }
  BitsliceIsa isa() const { return isa_; }
  // True when the ops run as machine code; its size in bytes (0 otherwise).
  bool uses_jit() const { return jit_ != nullptr; }
  size_t jit_code_bytes() const;
  // "avx512 (machine code, 612 KB)", "avx2", ...
  std::string describe() const;
  int64_t input_words() const { return program_.input_words; }

  // codes: [n, input_words()] raw feature codes, row-major (each must fit input_width bits) ->
  // classes [n]: the circuit's class_idx port. Throws if the program has no class_idx port.
  void predict(const uint8_t* codes, int64_t n, int32_t* classes) const;
  std::vector<int32_t> predict(const std::vector<uint8_t>& codes) const;
  // Every output port: ports[p] = [n, words] codes, as simulate() (circuit_sim.h) returns them.
  std::vector<std::vector<uint32_t>> run(const uint8_t* codes, int64_t n) const;

 private:
  void run_blocks(const uint8_t* codes, int64_t n, const std::vector<int>& ports,
                  std::vector<uint32_t*>& out) const;
  BitsliceProgram program_;
  BitsliceIsa isa_;
  std::shared_ptr<const bitslice::JitOps> jit_;
  // Comparator windows for the front end (see bitslice_kernels.h), built once.
  std::vector<int32_t> win_base_;
  std::vector<uint8_t> win_idx_, win_thr_;  // [windows, 64]
  std::vector<int32_t> win_slot_;           // [windows, 64]; -1 for unused lanes
};

}  // namespace difflut::hdl
