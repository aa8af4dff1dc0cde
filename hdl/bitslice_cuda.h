// The bit-sliced CUDA inference engine: runs a BitsliceProgram (bitslice_program.h) on the GPU,
// bit-exact with interpret_bitslice and the CPU engine. Host-only header: no CUDA types, so any
// .cpp can include it; in a build without CUDA the constructor throws difflut::Error.
//
// How it runs (details in bitslice_cuda.cu): one fused kernel; each block takes tiles of
// 32 * tile_words samples, keeps every slot of its tile in shared memory (global memory for
// programs too large for that), computes the comparator planes with warp ballots, runs the ops
// stage by stage (the ops are rescheduled into levels of the circuit, so a stage's ops are
// independent; one block barrier each) with one LOP3 per op and word, and writes the requested
// ports.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hdl/bitslice_program.h"

namespace difflut::hdl {

struct CudaBitsliceOptions {
  // Plane words (32 samples each) per block tile: 1, 2, 4, 8, 16 or 32. 0 picks the largest whose
  // slots fit twice into one SM's shared memory (two blocks per SM hide each other's barriers),
  // else once, else 32 with slots in global memory.
  int tile_words = 0;
  // Keep the slots in global memory (L2-resident) even when they would fit in shared memory.
  bool global_scratch = false;
};

class CudaBitsliceEngine {
 public:
  // Validates and uploads the program (device buffers are kept for the engine's life). Throws
  // difflut::Error with one line when the program is malformed, when DiffLUT was built without
  // CUDA, or when no GPU is usable.
  explicit CudaBitsliceEngine(const BitsliceProgram& program,
                              const CudaBitsliceOptions& options = {});
  ~CudaBitsliceEngine();  // frees device memory; never throws
  CudaBitsliceEngine(const CudaBitsliceEngine&) = delete;
  CudaBitsliceEngine& operator=(const CudaBitsliceEngine&) = delete;

  // Device pointers: d_codes [n, input_words] raw feature codes -> d_classes [n] class indices
  // (the port named "class_idx", one word per sample; throws when the program has none).
  // Asynchronous on the default stream.
  void predict_device(const uint8_t* d_codes, int64_t n, int32_t* d_classes);
  // Host pointers: copies codes [n, input_words] in, runs predict_device, copies classes [n] out.
  void predict(const uint8_t* codes, int64_t n, int32_t* classes);
  // Every output port, host in and out: ports[p] = [n, words_p] codes, as interpret_bitslice.
  std::vector<std::vector<uint32_t>> run(const uint8_t* codes, int64_t n);

  const BitsliceProgram& program() const { return program_; }
  // How the program was laid out, for logs and benchmarks:
  // "shared scratch, 8 words per tile, 264 blocks x 256 threads, 1234 stages, 2345 segments".
  std::string layout() const;

 private:
  struct Impl;
  BitsliceProgram program_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace difflut::hdl
