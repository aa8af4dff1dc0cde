// A trainable tensor and its gradient. Both are usually views into a module's flat buffers, so the
// optimizer and checkpoints touch one contiguous block; the graph adds gradients straight into `grad`.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace difflut {

struct Parameter {
  std::string name;
  Tensor value;
  Tensor grad;               // same shape/dtype/device as value; allocated lazily by ensure_grad()
  bool requires_grad = true;

  // Allocates a zeroed gradient if none exists (or if it no longer matches value).
  void ensure_grad();
};

}  // namespace difflut
