// Memory estimate of a LUTNetwork under training and the memory still available (model_memory.h).
#include "lut/model_memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "lut/lut_network.h"
#include "lut/nodes/node_types.h"
#include "lut/sparse_mapping.h"
#include "tensor/error.h"

#ifdef DIFFLUT_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace difflut {

ModelMemoryEstimate estimate_lut_network_memory(const LUTNetworkConfig& config,
                                                int64_t input_width) {
  DIFFLUT_CHECK(config.k >= 1 && config.k <= 8,
                "LUTNetwork: expected k (inputs per node) in [1, 8], found ", config.k);
  const std::shared_ptr<NodeType> type =
      make_node_type(config.node_type, config.node_options, "node_type");
  const double value = static_cast<double>(dtype_size(config.dtype));
  const double P = static_cast<double>(type->num_params(config.k));
  ModelMemoryEstimate e;
  double width = static_cast<double>(input_width);
  for (size_t i = 0; i < config.hidden_sizes.size(); ++i) {
    const double N = static_cast<double>(config.hidden_sizes[i]);
    const double S = N * config.k;  // mapping slots
    const MappingKind kind = i == 0 ? config.first_mapping : config.later_mapping;
    // Node tables: value, gradient, two Adam moments.
    double params = N * P * value, grads = N * P * value, optim = 2 * N * P * value, index = 0;
    if (kind == MappingKind::learnable) {
      // W [F, S]: value and two moments; a gradient only without the fused update (the fused pass
      // computes dW on the fly). The argmax cache is one i64 per slot.
      params += width * S * value;
      optim += 2 * width * S * value;
      if (!config.fused_update) grads += width * S * value;
      index += S * 8;
    } else if (kind == MappingKind::sparse) {
      // W [S, C] and two moments, and a gradient only where the generic optimizer updates it (the
      // CPU's fused update sums dW block by block); the candidates i32 [S, C] on the host and the
      // device, and their CSR inverse (offsets [F+1], positions [S*C]).
      const double C = static_cast<double>(
          config.sparse_groups > 0
              ? grouped_candidate_count(static_cast<int64_t>(width), config.sparse_groups,
                                        config.sparse_group_overlap)
              : std::min<int64_t>(sparse_candidates_of_layer(config, i),
                                  static_cast<int64_t>(width)));
      params += S * C * value;
      if (!config.fused_update || config.device != Device::cpu) grads += S * C * value;
      optim += 2 * S * C * value;
      index += S * C * 4 * 3 + (width + 1) * 4;
    } else {
      // i32 index on the host and on the device, plus the CSR inverse (i64 offsets [F+1] and
      // positions [S]) the gather's backward uses.
      index += S * 4 * 2 + S * 8 + (width + 1) * 8;
    }
    e.parameter_bytes += params;
    e.gradient_bytes += grads;
    e.optimizer_bytes += optim;
    e.index_bytes += index;
    const double layer = params + grads + optim + index;
    if (layer > e.largest_layer_bytes) {
      e.largest_layer_bytes = layer;
      e.largest_layer = i;
    }
    width = N;
  }
  return e;
}

namespace {

constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();

// "MemAvailable:  123456 kB" -> bytes, or kUnknown.
uint64_t meminfo_available() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kb = 0;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kb * 1024;
  }
  return kUnknown;
}

// A number from a one-line file ("max" or unreadable: kUnknown).
uint64_t read_number(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (!(in >> s) || s == "max") return kUnknown;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  return end && *end == '\0' ? static_cast<uint64_t>(v) : kUnknown;
}

// The cgroup's limit minus its usage (cgroup v2, then v1); kUnknown without a limit. Why: in a
// container MemAvailable describes the whole machine, while the cgroup kills us much earlier.
uint64_t cgroup_headroom() {
  // Our cgroup v2 path: the "0::/path" line of /proc/self/cgroup.
  std::ifstream in("/proc/self/cgroup");
  std::string line, v2_path;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) v2_path = line.substr(3);
  for (const std::string& dir : {"/sys/fs/cgroup" + v2_path, std::string("/sys/fs/cgroup")}) {
    const uint64_t limit = read_number(dir + "/memory.max");
    if (limit == kUnknown) continue;
    const uint64_t used = read_number(dir + "/memory.current");
    return used == kUnknown || used >= limit ? (used == kUnknown ? limit : 0) : limit - used;
  }
  const uint64_t limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  // cgroup v1 reports "no limit" as a huge page-rounded number.
  if (limit == kUnknown || limit >= (uint64_t{1} << 60)) return kUnknown;
  const uint64_t used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  return used == kUnknown ? limit : (used >= limit ? 0 : limit - used);
}

// Headroom under an rlimit on address space / data segment: the soft limit minus what this process
// already maps (VmSize from /proc/self/statm). kUnknown without a limit.
uint64_t rlimit_headroom(int resource) {
  struct rlimit rl {};
  if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return kUnknown;
  std::ifstream in("/proc/self/statm");
  uint64_t pages = 0;
  if (!(in >> pages)) return static_cast<uint64_t>(rl.rlim_cur);
  const uint64_t mapped = pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return mapped >= rl.rlim_cur ? 0 : static_cast<uint64_t>(rl.rlim_cur) - mapped;
}

}  // namespace

uint64_t available_memory_bytes(Device device) {
  uint64_t avail = kUnknown;
  if (device == Device::cpu) {
    avail = std::min({meminfo_available(), cgroup_headroom(), rlimit_headroom(RLIMIT_AS),
                      rlimit_headroom(RLIMIT_DATA)});
  } else {
#ifdef DIFFLUT_WITH_CUDA
    // Without a usable GPU the allocation itself reports the problem.
    size_t free_bytes = 0, total_bytes = 0;
    if (cuda_available() && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
      avail = free_bytes;
#endif
  }
  if (const char* cap = std::getenv("DIFFLUT_MEMORY_LIMIT"); cap && *cap) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(cap, &end, 10);
    DIFFLUT_CHECK(end && *end == '\0' && cap[0] != '-',
                  "DIFFLUT_MEMORY_LIMIT: expected a number of "
                  "bytes, found '",
                  cap, "'");
    avail = std::min<uint64_t>(avail, v);
  }
  return avail;
}

std::string format_bytes(double bytes) {
  static const char* const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 6) {
    bytes /= 1000.0;
    ++u;
  }
  char buf[48];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f bytes", bytes);
  else
    std::snprintf(buf, sizeof buf, "%.3g %s", bytes, units[u]);
  return buf;
}

void check_lut_network_memory(const LUTNetworkConfig& config, int64_t input_width,
                              uint64_t available, const std::string& what) {
  const ModelMemoryEstimate e = estimate_lut_network_memory(config, input_width);
  if (available == kUnknown || e.total() <= static_cast<double>(available)) return;
  const size_t i = e.largest_layer;
  std::ostringstream fix;
  fix << "hidden_sizes[" << i << "] = " << config.hidden_sizes[i] << " nodes (layer " << i
      << " takes " << format_bytes(e.largest_layer_bytes);
  const MappingKind kind = i == 0 ? config.first_mapping : config.later_mapping;
  if (kind == MappingKind::learnable)
    fix << ", most of it the learnable mapping's W [inputs, hidden_sizes[" << i << "] x k]";
  fix << ")";
  DIFFLUT_FAIL(what, ": the model needs about ", format_bytes(e.total()),
               " for training (parameters ", format_bytes(e.parameter_bytes), ", gradients ",
               format_bytes(e.gradient_bytes), ", Adam state ", format_bytes(e.optimizer_bytes),
               ", mapping indices ", format_bytes(e.index_bytes), "), but only ",
               format_bytes(static_cast<double>(available)), " of ",
               config.device == Device::cpu ? "host" : "GPU", " memory is available; reduce ",
               fix.str());
}

}  // namespace difflut
