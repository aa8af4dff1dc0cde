// The thread pool behind parallel_for: every index covered exactly once over many back-to-back
// regions (the polling hand-off) and after the workers have gone to sleep (the condition-variable
// hand-off), exceptions reach the caller and leave the pool usable, nested regions run inline, and
// the pool can be rebuilt with another size.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tensor/parallel.h"
#include "test_util.h"

using namespace difflut;

namespace {
// Runs `regions` parallel regions over [0, n) and checks every element was visited once per region.
void check_coverage(int threads, int regions, int64_t n, std::chrono::microseconds pause) {
  set_num_threads(threads);
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  for (int r = 0; r < regions; ++r) {
    parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    });
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  for (int64_t i = 0; i < n; ++i) REQUIRE(hits[static_cast<size_t>(i)].load() == regions);
}
}  // namespace

TEST_CASE("parallel_for covers every index once over many back-to-back regions") {
  const int saved = num_threads();
  for (int threads : {1, 2, 3, 4}) check_coverage(threads, 5000, 37, std::chrono::microseconds(0));
  set_num_threads(saved);
}

TEST_CASE("parallel_for hands work to workers that have gone to sleep") {
  // A pause well past the workers' polling window sends them to their condition variable first.
  const int saved = num_threads();
  for (int threads : {2, 3}) check_coverage(threads, 20, 1000, std::chrono::microseconds(3000));
  set_num_threads(saved);
}

TEST_CASE("parallel_for rethrows a chunk's exception and the pool keeps working") {
  const int saved = num_threads();
  set_num_threads(2);
  for (int r = 0; r < 100; ++r) {
    CHECK_THROWS_AS(parallel_for(0, 100, 1,
                                 [](int64_t lo, int64_t) {
                                   if (lo > 0) throw std::runtime_error("worker chunk failed");
                                 }),
                    std::runtime_error);
  }
  check_coverage(2, 100, 64, std::chrono::microseconds(0));
  set_num_threads(saved);
}

TEST_CASE("nested parallel_for runs inline inside a region") {
  const int saved = num_threads();
  set_num_threads(2);
  std::atomic<int64_t> total{0};
  parallel_for(0, 8, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      parallel_for(0, 100, 1, [&](int64_t a, int64_t b) { total.fetch_add(b - a); });
  });
  CHECK(total.load() == 800);
  set_num_threads(saved);
}
