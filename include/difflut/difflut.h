// <difflut/difflut.h>: the whole DiffLUT C++ API except the hardware backend (<difflut/hdl.h>).
// Tensors and RNG, the graph (tape) with its ops, modules, optimizers and checkpoints, thermometer
// encoders, LUT layers / networks / node types, and the dataset readers. docs/API.md lists which
// header below holds what.
//
// This file lives in include/difflut/ of the source tree (an include root of the build tree) and is
// installed as <prefix>/include/difflut/difflut.h; cmake/DifflutPublicHeaders.cmake installs exactly
// the headers it reaches, with their includes rewritten to <difflut/...>.
#pragma once

#include "tensor/device_info.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

#include "autograd/graph.h"
#include "autograd/io/safetensors.h"
#include "autograd/nn/linear.h"
#include "autograd/nn/module.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/lr_scheduler.h"
#include "autograd/optim/sgd.h"

#include "encoders/thermometer.h"

#include "lut/conv_layer.h"
#include "lut/conv_ops.h"
#include "lut/lut_layer.h"
#include "lut/lut_network.h"
#include "lut/network_ensemble.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "lut/nodes/node_types.h"
#include "lut/scalar_node_type.h"
#include "lut/sparse_refresh.h"

#include "data/dataset.h"
#include "data/loader.h"
#include "data/registry.h"
