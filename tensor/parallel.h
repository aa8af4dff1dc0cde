// CPU parallelism: a fixed pool of worker threads and a statically partitioned parallel_for.
// Static partitioning means chunk boundaries depend only on (range, thread count), so a kernel that
// writes disjoint outputs per chunk is deterministic. DIFFLUT_NUM_THREADS overrides the thread count.
#pragma once
#include <cstdint>
#include <functional>

namespace difflut {

int num_threads();
void set_num_threads(int n);

// Calls fn(begin, end) on disjoint chunks covering [begin, end). Runs inline when the range is
// smaller than `grain` or only one thread is configured. Exceptions from fn are rethrown.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

}  // namespace difflut
