// The bit-sliced CUDA engine (hdl/bitslice_cuda.h) against the reference interpreter
// (interpret_bitslice) on random programs built directly: every port bit-exact, for sample counts
// that leave partial words and tiles, in every scratch layout; predict_device against run's class
// port; and the clear errors for malformed programs and for builds or machines without a GPU.
#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hdl/bitslice_cuda.h"
#include "hdl/bitslice_program.h"
#include "tensor/cuda_utils.h"
#include "tensor/device.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;

namespace {

struct ProgramShape {
  int features = 16;
  int comparators = 40;
  int ops = 500;
  int max_group = 12;
  int slots = 120;
  int extra_ports = 2;
  int64_t big_port_words = 0;  // a port of this many 8-bit words over random values (live slots)
};

// A random program that follows the IR's rules: comparators sorted by (feature, threshold) with
// thresholds 1..255 into distinct slots; groups of one immediate whose ops read only slots written
// before the group and write distinct slots the group does not read; slots reused at random
// (overwriting earlier values, live or dead); ports of 1..4 words of 1..8 bits over written slots,
// one of them class_idx, and optionally a big port that keeps many values live to the end.
BitsliceProgram random_program(const ProgramShape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t k) { return static_cast<int32_t>(rng() % static_cast<uint64_t>(k)); };
  BitsliceProgram p;
  p.input_words = shape.features;
  p.num_slots = shape.slots;

  std::set<std::pair<int32_t, int>> cmps;
  while (static_cast<int>(cmps.size()) < shape.comparators)
    cmps.insert({pick(shape.features), 1 + pick(255)});
  std::vector<int32_t> free_slots;
  for (int32_t s = 2; s < shape.slots; ++s) free_slots.push_back(s);
  std::shuffle(free_slots.begin(), free_slots.end(), rng);
  std::vector<uint8_t> written(shape.slots, 0);
  written[0] = written[1] = 1;
  std::vector<int32_t> recent;  // recently written slots, to make long dependency chains
  for (const auto& [feature, threshold] : cmps) {
    const int32_t slot = free_slots.back();
    free_slots.pop_back();
    p.cmp_feature.push_back(feature);
    p.cmp_threshold.push_back(static_cast<uint8_t>(threshold));
    p.cmp_slot.push_back(slot);
    written[slot] = 1;
    recent.push_back(slot);
  }
  auto read_slot = [&]() -> int32_t {
    if (!recent.empty() && rng() % 2 == 0)
      return recent[recent.size() - 1 - pick(std::min<size_t>(recent.size(), 48))];
    for (;;) {
      const int32_t s = pick(shape.slots);
      if (written[s]) return s;
    }
  };

  while (static_cast<int>(p.ops.size()) < shape.ops) {
    BitsliceGroup group{static_cast<uint8_t>(pick(256)), static_cast<int64_t>(p.ops.size()), 0};
    const int size = 1 + pick(shape.max_group);
    std::set<int32_t> reads, writes;
    for (int k = 0; k < size && static_cast<int>(p.ops.size()) < shape.ops; ++k) {
      BitsliceOp op{};
      bool ok = true;
      for (int32_t* operand : {&op.a, &op.b, &op.c}) {
        int tries = 0;
        do *operand = read_slot();
        while (writes.count(*operand) && ++tries < 32);
        ok = ok && !writes.count(*operand);
      }
      if (!ok) break;
      reads.insert({op.a, op.b, op.c});
      int tries = 0;
      do op.dst = 2 + pick(shape.slots - 2);
      while ((reads.count(op.dst) || writes.count(op.dst)) && ++tries < 64);
      if (reads.count(op.dst) || writes.count(op.dst)) break;
      writes.insert(op.dst);
      p.ops.push_back(op);
    }
    group.end = static_cast<int64_t>(p.ops.size());
    p.groups.push_back(group);
    for (int32_t s : writes) {
      written[s] = 1;
      recent.push_back(s);
    }
  }

  auto add_port = [&](const std::string& name, int64_t words, int width) {
    BitslicePort port;
    port.name = name;
    port.words = words;
    port.width = width;
    for (int64_t i = 0; i < words * width; ++i) port.planes.push_back(read_slot());
    p.ports.push_back(port);
  };
  for (int i = 0; i < shape.extra_ports; ++i)
    add_port("port" + std::to_string(i), 1 + pick(4), 1 + pick(8));
  if (shape.big_port_words > 0) add_port("big", shape.big_port_words, 8);
  add_port("class_idx", 1, 1 + pick(8));
  return p;
}

std::vector<uint8_t> random_codes(int64_t n, int64_t words, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> codes(static_cast<size_t>(n * words));
  for (auto& c : codes) c = static_cast<uint8_t>(rng());
  return codes;
}

// CHECKs that every port matches the reference, naming the first differing sample.
void check_ports(const BitsliceProgram& p, const std::vector<std::vector<uint32_t>>& got,
                 const std::vector<std::vector<uint32_t>>& want, int64_t n) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("port ", p.ports[i].name, ", n = ", n);
    REQUIRE(got[i].size() == want[i].size());
    const auto diff = std::mismatch(got[i].begin(), got[i].end(), want[i].begin());
    if (diff.first != got[i].end()) {
      const int64_t at = diff.first - got[i].begin();
      FAIL_CHECK("first difference at sample ", at / p.ports[i].words, " word ",
                 at % p.ports[i].words, ": got ", *diff.first, ", expected ", *diff.second);
    }
  }
}

// A device buffer the test owns.
struct DeviceBytes {
  void* ptr;
  explicit DeviceBytes(size_t bytes) : ptr(cuda_malloc_or_throw(std::max<size_t>(1, bytes))) {}
  ~DeviceBytes() { cuda_free_nothrow(ptr); }
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
};

const int64_t kSampleCounts[] = {1, 31, 33, 1000, 4097};

}  // namespace

TEST_CASE("CudaBitsliceEngine matches interpret_bitslice bit-exactly on random programs") {
  DIFFLUT_REQUIRE_GPU();
  const ProgramShape shapes[] = {
      {3, 0, 20, 4, 8, 1},              // no comparators: ops over the constants only
      {16, 40, 500, 12, 120, 2},        // small, heavy slot reuse
      {64, 200, 4000, 40, 400, 3},      // larger groups
      {784, 1000, 20000, 64, 3000, 3},  // about the size of the default model
  };
  uint64_t seed = 1;
  for (const ProgramShape& shape : shapes) {
    const BitsliceProgram p = random_program(shape, seed++);
    CudaBitsliceEngine engine(p);
    INFO(p.summary(), "; ", engine.layout());
    for (int64_t n : kSampleCounts) {
      const std::vector<uint8_t> codes = random_codes(n, p.input_words, seed++);
      check_ports(p, engine.run(codes.data(), n), interpret_bitslice(p, codes.data(), n), n);
    }
  }
}

TEST_CASE("CudaBitsliceEngine gives the same results in every scratch layout") {
  DIFFLUT_REQUIRE_GPU();
  const BitsliceProgram p = random_program({64, 200, 4000, 40, 400, 3}, 77);
  const int64_t n = 4097;
  const std::vector<uint8_t> codes = random_codes(n, p.input_words, 78);
  const auto want = interpret_bitslice(p, codes.data(), n);
  for (int tile_words : {1, 2, 4, 8, 16, 32}) {
    for (bool global : {false, true}) {
      CudaBitsliceOptions options;
      options.tile_words = tile_words;
      options.global_scratch = global;
      CudaBitsliceEngine engine(p, options);
      INFO(engine.layout());
      check_ports(p, engine.run(codes.data(), n), want, n);
    }
  }
  // Many live values (a big port over most comparators): slots fit in shared memory only at small
  // tiles, which the engine picks by itself.
  const BitsliceProgram wide = random_program({1000, 20000, 3000, 40, 30000, 2, 2500}, 79);
  const std::vector<uint8_t> wide_codes = random_codes(1000, wide.input_words, 80);
  CudaBitsliceEngine engine(wide);
  INFO(engine.layout());
  check_ports(wide, engine.run(wide_codes.data(), 1000),
              interpret_bitslice(wide, wide_codes.data(), 1000), 1000);
}

TEST_CASE("CudaBitsliceEngine predict_device and predict equal run's class_idx port") {
  DIFFLUT_REQUIRE_GPU();
  const BitsliceProgram p = random_program({64, 200, 4000, 40, 400, 3}, 91);
  const int class_port = p.port_index("class_idx");
  REQUIRE(class_port >= 0);
  CudaBitsliceEngine engine(p);
  uint64_t seed = 92;
  for (int64_t n : kSampleCounts) {
    INFO("n = ", n);
    const std::vector<uint8_t> codes = random_codes(n, p.input_words, seed++);
    const std::vector<uint32_t> want = engine.run(codes.data(), n)[class_port];
    DeviceBytes d_codes(codes.size());
    DeviceBytes d_classes(static_cast<size_t>(n) * sizeof(int32_t));
    cuda_memcpy_h2d(d_codes.ptr, codes.data(), codes.size());
    engine.predict_device(static_cast<const uint8_t*>(d_codes.ptr), n,
                          static_cast<int32_t*>(d_classes.ptr));
    std::vector<int32_t> got(static_cast<size_t>(n));
    cuda_memcpy_d2h(got.data(), d_classes.ptr, got.size() * sizeof(int32_t));
    std::vector<int32_t> host(static_cast<size_t>(n));
    engine.predict(codes.data(), n, host.data());
    for (int64_t i = 0; i < n; ++i) {
      REQUIRE(got[i] == static_cast<int32_t>(want[i]));
      REQUIRE(host[i] == static_cast<int32_t>(want[i]));
    }
  }
}

TEST_CASE("CudaBitsliceEngine predict without a class_idx port is an error") {
  DIFFLUT_REQUIRE_GPU();
  BitsliceProgram p = random_program({16, 40, 500, 12, 120, 2}, 5);
  p.ports.pop_back();  // class_idx
  CudaBitsliceEngine engine(p);
  std::vector<uint8_t> codes(16);
  std::vector<int32_t> classes(1);
  CHECK_THROWS_AS(engine.predict(codes.data(), 1, classes.data()), Error);
}

TEST_CASE("CudaBitsliceEngine without a usable GPU throws one clear line") {
  if (cuda_available()) {
    MESSAGE("skipped: a GPU is present, so the engine constructs");
    return;
  }
  const BitsliceProgram p = random_program({16, 40, 500, 12, 120, 2}, 3);
  std::string message;
  try {
    CudaBitsliceEngine engine(p);
    FAIL("expected difflut::Error without a usable GPU");
  } catch (const Error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find("CudaBitsliceEngine") != std::string::npos);
  CHECK(message.find(cuda_compiled() ? "no usable GPU" : "built without CUDA") !=
        std::string::npos);
}

TEST_CASE("CudaBitsliceEngine rejects malformed programs before touching the GPU") {
  // Validation runs first in CUDA builds, so this checks it with or without a GPU; a build without
  // CUDA reports that instead.
  const BitsliceProgram good = random_program({16, 40, 500, 12, 120, 2}, 4);
  struct Case {
    const char* what;
    const char* expected;
    void (*spoil)(BitsliceProgram&);
  };
  const Case cases[] = {
      {"read before write", "before anything writes it",
       [](BitsliceProgram& p) {
         p.num_slots += 1;
         p.ops[0].a = p.num_slots - 1;
       }},
      {"constant overwritten", "writes slot 1", [](BitsliceProgram& p) { p.ops[3].dst = 1; }},
      {"slot out of range", "reads slot", [](BitsliceProgram& p) { p.ops[5].b = p.num_slots; }},
      {"groups with a gap", "group 1 covers", [](BitsliceProgram& p) { p.groups[1].begin += 1; }},
      {"comparator feature out of range", "reads feature",
       [](BitsliceProgram& p) { p.cmp_feature.back() = static_cast<int32_t>(p.input_words); }},
      {"duplicate comparator slot", "twice",
       [](BitsliceProgram& p) { p.cmp_slot[1] = p.cmp_slot[0]; }},
      {"port plane count", "planes, expected",
       [](BitsliceProgram& p) { p.ports[0].planes.pop_back(); }},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.what));
    BitsliceProgram p = good;
    c.spoil(p);
    std::string message;
    try {
      CudaBitsliceEngine engine(p);
    } catch (const Error& e) {
      message = e.what();
    }
    INFO(message);
    CHECK(message.find(cuda_compiled() ? c.expected : "built without CUDA") != std::string::npos);
  }
}
