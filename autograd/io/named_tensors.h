// Named tensors in a fixed order: the payload of a checkpoint file and of optimizer state dicts.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace difflut {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The tensor called `name`, or null.
inline const Tensor* find_tensor(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

}  // namespace difflut
