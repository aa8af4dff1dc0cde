// Evaluating a model through the software model of its exported circuit: the same truth tables,
// integer comparators, popcounts and argmax the Verilog implements, run in C++ on raw input codes.
// The accuracy it reports is the accuracy the FPGA design will have.
#pragma once
#include <cstdint>
#include <vector>

#include "hdl/circuit.h"
#include "tensor/tensor.h"

namespace difflut::hdl {

struct CircuitAccuracy {
  int64_t samples = 0;
  int64_t correct = 0;
  double accuracy = 0;  // correct / samples
};

// Input codes of u8 features [N, ...] (as stored by the image readers): [N * F] words.
std::vector<uint32_t> u8_codes(const Tensor& features);

// Runs the circuit on input codes [N, input words] and compares its class output (the port named
// class_idx) with labels (i64 [N]).
CircuitAccuracy circuit_accuracy(const Circuit& circuit, const std::vector<uint32_t>& input_codes,
                                 const Tensor& labels);

}  // namespace difflut::hdl
