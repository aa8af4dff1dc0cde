// Machine code for a program's ops (x86-64, AVX-512): the fastest way to run them on the CPU.
//
// Why: run from the op list, every 3-input op loads three planes and stores one (about 11 cycles
// per op on 1024 samples, bound by the load and store ports), because an op's truth table is an
// instruction immediate and a table-driven loop can only dispatch per group. Emitted as straight-line
// vpternlogq instructions with the tables as immediates, the ops can keep values in the 32 zmm
// registers: the emitter renames the program back to values, orders them depth-first from the
// outputs (so one LUT's eight leaves and seven muxes are computed together), and allocates
// registers with furthest-next-use eviction, spilling to scratch slots after the program's own.
// Only three instruction forms are emitted (load, store, vpternlogq with a register or memory third
// operand), each encoded here; tests check the code against the program interpreter.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "hdl/bitslice_program.h"

namespace difflut::hdl::bitslice {

class JitOps {
 public:
  // Null when machine code cannot be made here (not x86-64, or the OS refuses executable memory).
  static std::unique_ptr<JitOps> compile(const BitsliceProgram& program);
  ~JitOps();
  JitOps(const JitOps&) = delete;
  JitOps& operator=(const JitOps&) = delete;

  // Scratch slots the code uses after the program's num_slots (spills).
  int64_t extra_slots() const { return extra_slots_; }
  size_t code_bytes() const { return size_; }
  // Runs the ops on one block's slots ([num_slots + extra_slots] planes of 16 words, 64-byte
  // aligned): the same result as the program's groups. Only call where AVX-512 is supported.
  void run(uint64_t* slots) const;

 private:
  JitOps() = default;
  void* code_ = nullptr;
  size_t size_ = 0;
  int64_t extra_slots_ = 0;
};

}  // namespace difflut::hdl::bitslice
