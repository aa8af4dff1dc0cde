// Size-class caching allocator shared by the host and device backends (see allocator.h).
#include "tensor/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "tensor/cuda_utils.h"
#include "tensor/error.h"

namespace difflut {
namespace {

// Rounds requests up to a size class so that blocks can be reused across slightly different sizes:
// 512-byte granularity below 1 MiB, then 1/8 steps of the next power of two.
size_t size_class(size_t bytes) {
  if (bytes <= 512) return 512;
  if (bytes < (size_t(1) << 20)) return (bytes + 511) / 512 * 512;
  size_t p = size_t(1) << 20;
  while (p < bytes) p <<= 1;
  size_t step = p / 16;
  return (bytes + step - 1) / step * step;
}

struct Pool {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_lists;
  AllocatorStats stats;
};

void release_host_cache_at_exit();

// The pools are created once and never destroyed. Why: tensors held by static objects (caches built
// before the first allocation, e.g. op tables or encoder caches) may be released during static
// destruction, after a function-local `static Pool[]` would already be gone; an immortal pool takes
// those blocks back safely. The static pointer keeps every cached block reachable, and at exit the
// host cache is returned to the system (release_host_cache_at_exit), so LeakSanitizer and other
// memory checkers see neither leaks nor use-after-destruction.
Pool& pool(Device d) {
  static Pool* const pools = [] {
    Pool* p = new Pool[kNumDevices];
    std::atexit(release_host_cache_at_exit);
    return p;
  }();
  return pools[static_cast<int>(d)];
}

void* system_alloc(Device d, size_t bytes) {
  if (d == Device::cpu) {
    void* p = std::aligned_alloc(64, bytes);
    if (!p) DIFFLUT_FAIL("allocate: out of host memory allocating ", bytes, " bytes");
    return p;
  }
#ifdef DIFFLUT_WITH_CUDA
  return cuda_malloc_or_throw(bytes);
#else
  DIFFLUT_FAIL(
      "allocate: this build of DiffLUT has no CUDA support (configure with DIFFLUT_CUDA=ON)");
#endif
}

void system_free(Device d, void* p) {
  if (d == Device::cpu) {
    std::free(p);
    return;
  }
#ifdef DIFFLUT_WITH_CUDA
  cuda_free_nothrow(p);
#endif
}

// Host blocks only: device memory is left to the driver, because at exit the CUDA runtime may
// already be shutting down and cudaFree could fail or hang.
void release_host_cache_at_exit() { empty_cache(Device::cpu); }

}  // namespace

void* allocate(Device device, size_t bytes) {
  size_t cls = size_class(bytes);
  Pool& p = pool(device);
  {
    std::lock_guard<std::mutex> lock(p.mu);
    auto it = p.free_lists.find(cls);
    if (it != p.free_lists.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      p.stats.bytes_cached -= cls;
      p.stats.bytes_in_use += cls;
      return ptr;
    }
    p.stats.system_allocs++;
    p.stats.bytes_in_use += cls;
  }
  try {
    return system_alloc(device, cls);
  } catch (...) {
    // One retry after returning the cache to the system: fragmentation across size classes.
    empty_cache(device);
    return system_alloc(device, cls);
  }
}

void deallocate(Device device, void* ptr, size_t bytes) {
  if (!ptr) return;
  size_t cls = size_class(bytes);
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  p.free_lists[cls].push_back(ptr);
  p.stats.bytes_in_use -= cls;
  p.stats.bytes_cached += cls;
}

void empty_cache(Device device) {
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  for (auto& [cls, list] : p.free_lists) {
    for (void* ptr : list) system_free(device, ptr);
    p.stats.bytes_cached -= cls * list.size();
    list.clear();
  }
}

AllocatorStats allocator_stats(Device device) {
  Pool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  return p.stats;
}

}  // namespace difflut
