// DataLoader, validation split and subset on small generated datasets: every sample exactly once
// per epoch, seeded orders, drop_last, disjoint complete splits, f32 scaling and device placement.
#include <algorithm>
#include <cmath>
#include <set>

#include "data/loader.h"
#include "data_files.h"
#include "test_util.h"

using namespace difflut;

namespace {
// n samples of 2x3 u8 pixels; sample i has pixel values i, i+1, ... (mod 256) and label i % 4,
// so a batch row identifies its sample.
Dataset toy(int64_t n) {
  Dataset ds;
  ds.name = "toy";
  ds.num_classes = 4;
  std::vector<uint8_t> px;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 6; ++j) px.push_back(static_cast<uint8_t>((i + j) % 256));
    y.push_back(i % 4);
  }
  ds.features = Tensor::from_vector(px, {n, 2, 3});
  ds.labels = Tensor::from_vector(y, {n});
  return ds;
}

// Sample ids visited by one pass over the loader, read back from the batches' first pixel.
std::vector<int64_t> visit(DataLoader& loader) {
  std::vector<int64_t> ids;
  for (const Batch& b : loader) {
    const std::vector<float> x = b.features.to_vector<float>();
    const std::vector<int64_t> y = b.labels.to_vector<int64_t>();
    for (int64_t r = 0; r < b.labels.numel(); ++r) {
      const auto id = static_cast<int64_t>(std::lround(x[r * 6] * 255.0f));
      CHECK(y[r] == id % 4);  // the label travels with its sample
      ids.push_back(id);
    }
  }
  return ids;
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}
}  // namespace

TEST_CASE("loader: each epoch covers every sample exactly once, in f32 [B, F] scaled to [0, 1]") {
  Dataset ds = toy(103);
  DataLoader loader(ds, 10, /*shuffle=*/true, /*seed=*/5);
  CHECK(loader.num_batches() == 11);
  int64_t batches = 0;
  for (const Batch& b : loader) {
    CHECK(b.features.dtype() == DType::f32);
    CHECK(b.features.size(1) == 6);
    CHECK(b.labels.dtype() == DType::i64);
    CHECK(b.features.size(0) == (batches < 10 ? 10 : 3));
    ++batches;
  }
  CHECK(batches == 11);
  const std::vector<int64_t> e1 = visit(loader), e2 = visit(loader);
  CHECK(sorted(e1) == iota(103));
  CHECK(sorted(e2) == iota(103));
  CHECK(e1 != e2);  // a new order each epoch
  CHECK(e1 != iota(103));
  // Pixel j of sample i is (i + j) / 255 exactly.
  Batch b = loader.batch(0);
  const int64_t id = loader.order()[0];
  CHECK(b.features.to_vector<float>()[4] == static_cast<float>((id + 4) % 256) / 255.0f);
}

TEST_CASE("loader: same seed replays the same epoch sequence; other seeds differ") {
  Dataset ds = toy(64);
  DataLoader a(ds, 8, true, 42), b(ds, 8, true, 42), c(ds, 8, true, 43);
  for (int epoch = 0; epoch < 3; ++epoch) {
    const std::vector<int64_t> va = visit(a), vb = visit(b), vc = visit(c);
    CHECK(va == vb);
    CHECK(va != vc);
  }
  CHECK(a.next_epoch() == 3);
  // Epoch e's order depends only on (seed, e): jumping straight to epoch 2 gives the same order.
  DataLoader d(ds, 8, true, 42);
  d.set_epoch(2);
  a.set_epoch(2);
  CHECK(d.order() == a.order());
  DataLoader e(ds, 8, true, 42);
  visit(e);
  visit(e);
  CHECK(visit(e) == visit(d));
}

TEST_CASE("loader: without shuffle the order is 0..N-1; drop_last drops the short batch") {
  Dataset ds = toy(25);
  DataLoader plain(ds, 10, /*shuffle=*/false);
  CHECK(visit(plain) == iota(25));
  DataLoader dropped(ds, 10, false, 0, /*drop_last=*/true);
  CHECK(dropped.num_batches() == 2);
  CHECK(visit(dropped) == iota(20));
  DataLoader shuffled(ds, 10, true, 3, true);
  const std::vector<int64_t> v = visit(shuffled);
  CHECK(v.size() == 20);
  CHECK(std::set<int64_t>(v.begin(), v.end()).size() == 20);
  DataLoader too_big(ds, 30, true, 3, true);
  CHECK(too_big.num_batches() == 0);
  CHECK(visit(too_big).empty());
}

TEST_CASE("loader: labels outside [0, num_classes) are rejected on the host at construction") {
  Dataset ds = toy(8);
  ds.labels.data<int64_t>()[5] = 4;
  CHECK_THROWS_WITH_AS(DataLoader(ds, 4),
                       test::has("dataset 'toy': label 4 of sample 5 is outside [0, 4)"), Error);
  ds.labels.data<int64_t>()[5] = -1;
  CHECK_THROWS_AS(DataLoader(ds, 4), Error);
  CHECK_THROWS_WITH_AS(DataLoader(toy(8), 0), test::has("batch_size > 0"), Error);
}

TEST_CASE("loader: float features pass through unscaled") {
  Dataset ds;
  ds.name = "tab";
  ds.num_classes = 2;
  ds.features = Tensor::from_vector<float>({1.5f, -2.f, 3.f, 4.f, 5.f, 6.f}, {3, 2});
  ds.labels = Tensor::from_vector<int64_t>({0, 1, 0}, {3});
  DataLoader loader(ds, 3, false);
  test::check_equal(loader.batch(0).features, ds.features);
}

TEST_CASE("split_validation: disjoint, complete, seeded, sized by fraction or count") {
  Dataset ds = toy(50);
  auto [train, val] = split_validation(ds, 0.2, 9);
  CHECK(val.size() == 10);
  CHECK(train.size() == 40);
  auto ids = [](const Dataset& d) {
    std::vector<int64_t> v;
    const uint8_t* x = d.features.data<uint8_t>();
    for (int64_t i = 0; i < d.size(); ++i) v.push_back(x[i * 6]);
    return v;
  };
  std::vector<int64_t> all = ids(train), v = ids(val);
  CHECK(std::is_sorted(all.begin(), all.end()));  // original order kept
  CHECK(std::is_sorted(v.begin(), v.end()));
  all.insert(all.end(), v.begin(), v.end());
  CHECK(sorted(all) == iota(50));
  // Labels stay with their samples.
  const std::vector<int64_t> vl = val.labels.to_vector<int64_t>();
  for (size_t i = 0; i < v.size(); ++i) CHECK(vl[i] == v[i] % 4);
  // Same seed same split, another seed another split.
  CHECK(ids(split_validation(ds, 0.2, 9).second) == v);
  CHECK(ids(split_validation(ds, 0.2, 10).second) != v);
  CHECK(split_validation_count(ds, 7, 1).second.size() == 7);
  CHECK_THROWS_WITH_AS(split_validation_count(ds, 50, 1),
                       test::has("expected a validation count in [1, 49], found 50"), Error);
  CHECK_THROWS_AS(split_validation(ds, 1.0, 1), Error);
}

TEST_CASE("subset: size samples, distinct, seeded; larger than N keeps everything") {
  Dataset ds = toy(40);
  Dataset s = subset(ds, 15, 3);
  CHECK(s.size() == 15);
  const std::vector<uint8_t> x = s.features.to_vector<uint8_t>();
  std::set<int> ids;
  for (int64_t i = 0; i < 15; ++i) ids.insert(x[i * 6]);
  CHECK(ids.size() == 15);
  test::check_equal(subset(ds, 15, 3).labels, s.labels);
  CHECK(subset(ds, 100, 3).size() == 40);
  CHECK_THROWS_AS(subset(ds, 0, 3), Error);
}

TEST_CASE("loader: batches land on the requested CUDA device with the CPU loader's values") {
  DIFFLUT_REQUIRE_GPU();
  Dataset ds = toy(30);
  DataLoader cpu(ds, 8, true, 11), gpu(ds, 8, true, 11, false, Device::cuda);
  for (int64_t i = 0; i < cpu.num_batches(); ++i) {
    Batch a = cpu.batch(i), b = gpu.batch(i);
    CHECK(b.features.is_cuda());
    CHECK(b.labels.is_cuda());
    test::check_equal(b.features.to(Device::cpu), a.features);
    test::check_equal(b.labels.to(Device::cpu), a.labels);
  }
}
