// Training-time augmentation in the DataLoader: shifts move the image by at most max_shift pixels
// and fill with 0, flips mirror rows, draws are fixed by seed, epoch and position (so a resumed
// epoch replays them), and options that do not fit the data are refused.
#include <algorithm>
#include <cmath>

#include "data/loader.h"
#include "test_util.h"

using namespace difflut;

namespace {
// n samples of [channels, 8, 8] u8 images: sample i has one lit pixel (value 255) at row 3 + i % 2,
// column 2 + i % 3 in every channel, and label i % 2.
Dataset dots(int64_t n, int64_t channels) {
  Dataset ds;
  ds.name = "dots";
  ds.num_classes = 2;
  std::vector<uint8_t> px(static_cast<size_t>(n * channels * 64), 0);
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < channels; ++c)
      px[static_cast<size_t>((i * channels + c) * 64 + (3 + i % 2) * 8 + 2 + i % 3)] = 255;
    y.push_back(i % 2);
  }
  ds.features = channels == 1 ? Tensor::from_vector(px, {n, 8, 8})
                              : Tensor::from_vector(px, {n, channels, 8, 8});
  ds.labels = Tensor::from_vector(y, {n});
  return ds;
}

struct Dot {
  int64_t row = -1, col = -1;
  int lit = 0;  // lit pixels in the first channel
};
Dot find_dot(const std::vector<float>& x, int64_t sample, int64_t features) {
  Dot d;
  for (int64_t p = 0; p < 64; ++p) {
    if (x[static_cast<size_t>(sample * features + p)] == 1.0f) {
      d.row = p / 8;
      d.col = p % 8;
      ++d.lit;
    }
  }
  return d;
}

std::vector<float> epoch_values(DataLoader& loader) {
  std::vector<float> all;
  for (const Batch& b : loader) {
    const std::vector<float> x = b.features.to_vector<float>();
    all.insert(all.end(), x.begin(), x.end());
  }
  return all;
}
}  // namespace

TEST_CASE(
    "augment: shifts move each image by at most max_shift pixels, the same in every channel") {
  Dataset ds = dots(200, 3);
  DataLoader loader(ds, 16, /*shuffle=*/true, /*seed=*/9);
  AugmentOptions opt;
  opt.max_shift = 2;
  loader.set_augment(opt);
  int moved = 0;
  for (int64_t bi = 0; bi < loader.num_batches(); ++bi) {
    const Batch b = loader.batch(bi);
    const std::vector<float> x = b.features.to_vector<float>();
    for (int64_t r = 0; r < b.labels.numel(); ++r) {
      const int64_t id = loader.order()[static_cast<size_t>(bi * 16 + r)];
      const Dot d = find_dot(x, r, 3 * 64);
      // The dot starts at rows 3-4, columns 2-4: a shift of up to 2 keeps it inside.
      REQUIRE(d.lit == 1);
      const int64_t dy = d.row - (3 + id % 2), dx = d.col - (2 + id % 3);
      CHECK(std::abs(dy) <= 2);
      CHECK(std::abs(dx) <= 2);
      moved += (dx != 0 || dy != 0) ? 1 : 0;
      // Every channel moved the same way: channel c holds the same image as channel 0.
      for (int64_t c = 1; c < 3; ++c)
        for (int64_t p = 0; p < 64; ++p)
          CHECK(x[static_cast<size_t>(r * 192 + c * 64 + p)] ==
                x[static_cast<size_t>(r * 192 + p)]);
    }
  }
  CHECK(moved > 150);  // 24 of 25 (dx, dy) pairs move the image: about 192 of 200 expected
}

TEST_CASE("augment: pixels shifted in from outside the image are 0") {
  Dataset ds;
  ds.name = "white";
  ds.num_classes = 1;
  ds.features = Tensor::from_vector(std::vector<uint8_t>(50 * 36, 255), {50, 6, 6});
  ds.labels = Tensor::from_vector(std::vector<int64_t>(50, 0), {50});
  DataLoader loader(ds, 50, /*shuffle=*/false, /*seed=*/3);
  AugmentOptions opt;
  opt.max_shift = 1;
  loader.set_augment(opt);
  const std::vector<float> x = loader.batch(0).features.to_vector<float>();
  for (int64_t r = 0; r < 50; ++r) {
    int zeros = 0;
    for (int64_t p = 0; p < 36; ++p) {
      const float v = x[static_cast<size_t>(r * 36 + p)];
      CHECK((v == 0.0f || v == 1.0f));
      zeros += v == 0.0f ? 1 : 0;
    }
    // A shift by (dx, dy) with |dx|, |dy| <= 1 uncovers 0, 6, 6 or 11 pixels of a 6 x 6 image.
    CHECK((zeros == 0 || zeros == 6 || zeros == 11));
  }
}

TEST_CASE("augment: flips mirror rows left-right for about half of the samples") {
  Dataset ds = dots(400, 1);
  DataLoader loader(ds, 400, /*shuffle=*/false, /*seed=*/4);
  AugmentOptions opt;
  opt.hflip = true;
  loader.set_augment(opt);
  const std::vector<float> x = loader.batch(0).features.to_vector<float>();
  int flipped = 0;
  for (int64_t i = 0; i < 400; ++i) {
    const Dot d = find_dot(x, i, 64);
    REQUIRE(d.lit == 1);
    CHECK(d.row == 3 + i % 2);  // rows never move
    const int64_t col = 2 + i % 3;
    CHECK((d.col == col || d.col == 7 - col));
    flipped += d.col == 7 - col ? 1 : 0;
  }
  CHECK(flipped > 140);  // binomial(400, 1/2): 200 +- 10
  CHECK(flipped < 260);
}

TEST_CASE("augment: draws follow seed, epoch and position, so a resumed epoch replays them") {
  Dataset ds = dots(90, 1);
  AugmentOptions opt;
  opt.max_shift = 3;
  opt.hflip = true;
  DataLoader a(ds, 8, true, 7), b(ds, 8, true, 7), other(ds, 8, true, 8);
  a.set_augment(opt);
  b.set_augment(opt);
  other.set_augment(opt);
  const std::vector<float> a0 = epoch_values(a), a1 = epoch_values(a), a2 = epoch_values(a);
  CHECK(a0 == epoch_values(b));
  CHECK(a1 == epoch_values(b));
  CHECK(a0 != a1);  // new draws every epoch
  CHECK(a0 != epoch_values(other));
  // A loader that starts at epoch 2, as a resumed run does, sees what the first saw there.
  DataLoader resumed(ds, 8, true, 7);
  resumed.set_augment(opt);
  resumed.set_epoch(2);
  CHECK(epoch_values(resumed) == a2);
  // Without augmentation the batches are the plain images.
  DataLoader plain(ds, 8, true, 7), reset(ds, 8, true, 7);
  reset.set_augment(opt);
  reset.set_augment(AugmentOptions{});
  CHECK(epoch_values(plain) == epoch_values(reset));
}

TEST_CASE("augment: options that do not fit the data are refused with the dataset named") {
  Dataset table;
  table.name = "table";
  table.num_classes = 2;
  table.features = Tensor::from_vector(std::vector<float>(12, 0.5f), {4, 3});
  table.labels = Tensor::from_vector(std::vector<int64_t>{0, 1, 0, 1}, {4});
  DataLoader tab(table, 2, true, 1);
  AugmentOptions shift;
  shift.max_shift = 1;
  CHECK_THROWS_WITH_AS(tab.set_augment(shift), doctest::Contains("tabular"), Error);
  tab.set_augment(AugmentOptions{});  // no augmentation fits anything
  DataLoader img(dots(4, 1), 2, true, 1);
  AugmentOptions big;
  big.max_shift = 8;
  CHECK_THROWS_WITH_AS(img.set_augment(big), doctest::Contains("dots"), Error);
  big.max_shift = -1;
  CHECK_THROWS_AS(img.set_augment(big), Error);
}
