// Caching allocators for host and device memory. Freed blocks go back to per-size free lists and are
// reused, so a training step that clears its graph and rebuilds it does not hit malloc/cudaMalloc.
#pragma once
#include <cstddef>

#include "tensor/device.h"

namespace difflut {

// Returns a block of at least `bytes` bytes (64-byte aligned on the host). `bytes` may be 0.
void* allocate(Device device, size_t bytes);
// Returns a block obtained from allocate(device, bytes) with the same `bytes`.
void deallocate(Device device, void* ptr, size_t bytes);
// Frees every cached block of `device` back to the system (e.g. before measuring memory).
void empty_cache(Device device);

struct AllocatorStats {
  size_t bytes_in_use = 0;   // handed out and not yet returned
  size_t bytes_cached = 0;   // held in free lists
  size_t system_allocs = 0;  // calls that reached malloc / cudaMalloc
};
AllocatorStats allocator_stats(Device device);

}  // namespace difflut
