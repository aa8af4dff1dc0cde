// Random and cyclic mapping construction: coverage before reuse, seeded determinism, and the
// DiffLUT cyclic (sliding-window) pattern.
#include <algorithm>
#include <vector>

#include "lut/mapping.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("random_mapping uses every input once before any input twice") {
  for (auto [F, S] :
       std::vector<std::pair<int64_t, int64_t>>{{10, 6}, {10, 10}, {7, 30}, {784, 6000}}) {
    CAPTURE(F);
    CAPTURE(S);
    Generator gen(42);
    Tensor m = random_mapping(F, S, gen);
    CHECK(m.dtype() == DType::i64);
    CHECK(m.shape() == Shape{S});
    std::vector<int64_t> v = m.to_vector<int64_t>();
    // Every block of F consecutive slots is a permutation of 0..F-1; the tail has no repeats.
    for (int64_t start = 0; start < S; start += F) {
      std::vector<int64_t> block(v.begin() + start, v.begin() + std::min(S, start + F));
      std::sort(block.begin(), block.end());
      CHECK(std::adjacent_find(block.begin(), block.end()) == block.end());
      CHECK(block.front() >= 0);
      CHECK(block.back() < F);
      if (static_cast<int64_t>(block.size()) == F) CHECK(block.back() == F - 1);
    }
    // Use counts differ by at most one.
    std::vector<int64_t> count(static_cast<size_t>(F), 0);
    for (int64_t i : v) ++count[static_cast<size_t>(i)];
    auto [lo, hi] = std::minmax_element(count.begin(), count.end());
    CHECK(*hi - *lo <= 1);
  }
}

TEST_CASE("random_mapping is a function of the seed") {
  Generator a(7), b(7), c(8);
  const std::vector<int64_t> ma = random_mapping(100, 600, a).to_vector<int64_t>();
  CHECK(ma == random_mapping(100, 600, b).to_vector<int64_t>());
  CHECK(ma != random_mapping(100, 600, c).to_vector<int64_t>());
  // Not the identity pattern, and consecutive permutations differ.
  std::vector<int64_t> first(ma.begin(), ma.begin() + 100),
      second(ma.begin() + 100, ma.begin() + 200);
  CHECK(first != second);
}

TEST_CASE("cyclic_mapping is DiffLUT's sliding window with wrap-around") {
  // input_size 10, 4 nodes, k = 3, stride 1: node j reads [j, j+1, j+2].
  CHECK(cyclic_mapping(10, 12, 3).to_vector<int64_t>() ==
        std::vector<int64_t>{0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 5});
  // stride 3 (DiffLUT's strided variant): non-overlapping windows.
  CHECK(cyclic_mapping(12, 12, 3, 3).to_vector<int64_t>() ==
        std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  // Wrap-around past the last input.
  CHECK(cyclic_mapping(5, 8, 2, 2).to_vector<int64_t>() ==
        std::vector<int64_t>{0, 1, 2, 3, 4, 0, 1, 2});
  CHECK(cyclic_mapping(3, 4, 4).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 0});
  CHECK(cyclic_mapping(4, 0, 2).numel() == 0);
}

TEST_CASE("mapping constructors reject bad sizes") {
  Generator gen(1);
  CHECK_THROWS_WITH_AS(random_mapping(0, 4, gen),
                       doctest::Contains("random_mapping: expected num_inputs >= 1"), Error);
  CHECK_THROWS_WITH_AS(
      cyclic_mapping(10, 7, 3),
      doctest::Contains(
          "cyclic_mapping: expected num_slots a non-negative multiple of inputs_per_node = 3, found 7"),
      Error);
  CHECK_THROWS_WITH_AS(cyclic_mapping(10, 6, 3, 0), doctest::Contains("stride >= 1"), Error);
}
