// Host constructors of fixed mappings: index vectors over a layer's S = N*k input slots (slot j*k + l
// is input l of node j) into its F inputs. A layer applies one with the core gather op and a
// precomputed make_gather_inverse (autograd/ops.h). Both return i64 [S] tensors on the CPU.
#pragma once
#include <cstdint>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace difflut {

// Random mapping (torch_dwn's `layer_mapping(random=True)` and DESIGN.md §3): random permutations
// of 0..F-1 drawn from `gen` and concatenated until S slots are filled, the last one truncated. So
// every input is used once before any is used twice (and the counts differ by at most one).
// (The Python DiffLUT's RandomLayer draws a fresh permutation per node instead; that only
// guarantees distinct inputs within a node. The global form also gives full coverage of F.)
Tensor random_mapping(int64_t num_inputs, int64_t num_slots, Generator& gen);

// Cyclic mapping, the Python DiffLUT's CyclicLayer (sliding window with wrap-around): input l of
// node j reads (j * stride + l) mod F, i.e. slot s = j*k + l -> ((s / k) * stride + s % k) mod F.
// With stride 1 (DiffLUT's default) node j sees the window [j, j+k) of consecutive inputs.
// num_slots must be a multiple of inputs_per_node (k); stride >= 1.
Tensor cyclic_mapping(int64_t num_inputs, int64_t num_slots, int64_t inputs_per_node,
                      int64_t stride = 1);

}  // namespace difflut
