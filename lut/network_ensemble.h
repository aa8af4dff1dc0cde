// Ensembles of LUT networks as one LUT network. Members of one architecture, trained apart (other
// seeds), are placed side by side layer by layer: every layer of the merged network holds the
// members' nodes one member after the other, each node reading the same inputs as in its member,
// and the last layer's nodes are interleaved class by class (class c's group holds every member's
// class-c nodes), so the one GroupSum adds the members' class counts. The merged network therefore
// predicts argmax_c Σ_m count_m[c] (first class on ties), the members' vote by summed counts, and
// it is an ordinary network: it saves, loads, exports, verifies and compiles like any other.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "lut/lut_network.h"

namespace difflut {

// Merges `members` (at least two, any device; read on the host) into one network on the CPU in
// eval mode. `names` (the members' files, or empty) only label error messages. The members must
// agree in everything but their layer widths, node values and mappings: features, classes, node
// type and options, k, dtype, number of layers, mapping kinds, sparse candidate count, GroupSum
// tau, and the encoder (kind, bits and every threshold, bit for bit). Not supported, refused with
// the reason: convolutional layers and grouped sparse connections. Each member's last layer must
// give every class the same number of nodes (its width a multiple of the class count). The merged
// layer i has the members' widths of layer i summed; sparse layers keep each slot's candidates and
// scores (so the merged model trains on from its members' state), learnable mappings become the
// one-hot W of their choice, as in a checkpoint saved without mapping weights. The learnable
// mappings' softmax temperature (training only) is the first member's. Throws difflut::Error
// naming the member and what differs.
std::shared_ptr<LUTNetwork> merge_lut_networks(
    const std::vector<std::shared_ptr<LUTNetwork>>& members,
    const std::vector<std::string>& names = {});

}  // namespace difflut
