// The bit-sliced CPU engine: comparator windows built once, then blocks of 1024 samples spread over
// the thread pool, each through the chosen path's front end and ops, and its ports decoded back to
// one code per sample and word.
#include "hdl/bitslice_engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "hdl/bitslice_jit.h"
#include "hdl/bitslice_kernels.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace difflut::hdl {

using bitslice::kBlockSamples;
using bitslice::kPlaneWords;
using bitslice::kWindowBytes;
using bitslice::kWindowLanes;

const char* bitslice_isa_name(BitsliceIsa isa) {
  switch (isa) {
    case BitsliceIsa::portable: return "portable";
    case BitsliceIsa::avx2: return "avx2";
    case BitsliceIsa::avx512: return "avx512";
  }
  return "?";
}

bool bitslice_isa_supported(BitsliceIsa isa) {
  switch (isa) {
    case BitsliceIsa::portable: return true;
    case BitsliceIsa::avx2:
#if defined(__x86_64__)
      return bitslice::avx2_kernels().run_ops != nullptr && __builtin_cpu_supports("avx2");
#else
      return false;
#endif
    case BitsliceIsa::avx512:
#if defined(__x86_64__)
      return bitslice::avx512_kernels().run_ops != nullptr && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
             __builtin_cpu_supports("gfni");
#else
      return false;
#endif
  }
  return false;
}

BitsliceIsa best_bitslice_isa() {
  for (BitsliceIsa i : {BitsliceIsa::avx512, BitsliceIsa::avx2})
    if (bitslice_isa_supported(i)) return i;
  return BitsliceIsa::portable;
}

BitsliceIsa parse_bitslice_isa(const std::string& name) {
  if (name.empty() || name == "auto") return best_bitslice_isa();
  for (BitsliceIsa i : {BitsliceIsa::avx512, BitsliceIsa::avx2, BitsliceIsa::portable}) {
    if (name != bitslice_isa_name(i)) continue;
    DIFFLUT_CHECK(bitslice_isa_supported(i), "inference path '", name,
                  "' is not supported by this CPU or build (supported: ",
                  bitslice_isa_supported(BitsliceIsa::avx512) ? "avx512, " : "",
                  bitslice_isa_supported(BitsliceIsa::avx2) ? "avx2, " : "", "portable)");
    return i;
  }
  DIFFLUT_FAIL("expected an inference path auto, avx512, avx2 or portable, found '", name, "'");
}

BitsliceIsa bitslice_isa_from_env() {
  const char* v = std::getenv("DIFFLUT_INFER_ISA");
  try {
    return parse_bitslice_isa(v ? v : "");
  } catch (const Error& e) {
    DIFFLUT_FAIL("DIFFLUT_INFER_ISA: ", e.what());
  }
}

namespace {
bitslice::Kernels kernels_for(BitsliceIsa isa) {
  switch (isa) {
    case BitsliceIsa::avx512: return bitslice::avx512_kernels();
    case BitsliceIsa::avx2: return bitslice::avx2_kernels();
    case BitsliceIsa::portable: break;
  }
  return bitslice::portable_kernels();
}

// 64-byte aligned scratch of uint64 words, kept per thread and only ever grown: a pass over a
// small batch must not pay for fresh pages (about 1 MB of slots for the default model) every call.
struct AlignedWords {
  uint64_t* p = nullptr;
  size_t capacity = 0;
  ~AlignedWords() { std::free(p); }
  uint64_t* get(size_t n) {
    if (n > capacity) {
      std::free(p);
      p = static_cast<uint64_t*>(std::aligned_alloc(64, ((n * 8 + 63) / 64) * 64));
      capacity = p ? n : 0;
      DIFFLUT_CHECK(p != nullptr, "bitslice engine: cannot allocate ", n * 8, " bytes of scratch");
    }
    return p;
  }
};
thread_local AlignedWords t_slots, t_rows, t_pad;
}  // namespace

BitsliceEngine::BitsliceEngine(BitsliceProgram program, BitsliceIsa isa, bool allow_jit)
    : program_(std::move(program)), isa_(isa) {
  DIFFLUT_CHECK(bitslice_isa_supported(isa), "inference path '", bitslice_isa_name(isa),
                "' is not supported by this CPU or build");
  const char* env = std::getenv("DIFFLUT_INFER_JIT");
  if (isa == BitsliceIsa::avx512 && allow_jit && !(env && std::string(env) == "0"))
    jit_ = bitslice::JitOps::compile(program_);
  DIFFLUT_CHECK(program_.input_words >= 1 && program_.input_width >= 1 && program_.input_width <= 8,
                "bitslice engine: expected 1..8-bit input words, found ", program_.input_words,
                " words of ", program_.input_width, " bits");
  // Windows: comparators are sorted by feature, so a greedy pass packs runs of nearby features.
  // A window's base is clipped so that its 128 bytes stay inside the sample when the sample has
  // at least 128 bytes (shorter samples read into the next row; the last block is padded).
  const int64_t F = program_.input_words;
  const size_t C = program_.cmp_feature.size();
  size_t i = 0;
  while (i < C) {
    int64_t base = program_.cmp_feature[i];
    if (F >= kWindowBytes)
      base = std::min<int64_t>(base, F - kWindowBytes);
    else
      base = 0;
    win_base_.push_back(static_cast<int32_t>(base));
    const size_t w = win_base_.size() - 1;
    win_idx_.resize((w + 1) * kWindowLanes, 0);
    win_thr_.resize((w + 1) * kWindowLanes, 0);
    win_slot_.resize((w + 1) * kWindowLanes, -1);
    for (int l = 0; l < kWindowLanes && i < C && program_.cmp_feature[i] < base + kWindowBytes;
         ++l, ++i) {
      win_idx_[w * kWindowLanes + static_cast<size_t>(l)] =
          static_cast<uint8_t>(program_.cmp_feature[i] - base);
      win_thr_[w * kWindowLanes + static_cast<size_t>(l)] = program_.cmp_threshold[i];
      win_slot_[w * kWindowLanes + static_cast<size_t>(l)] = program_.cmp_slot[i];
    }
  }
}

void BitsliceEngine::run_blocks(const uint8_t* codes, int64_t n, const std::vector<int>& ports,
                                std::vector<uint32_t*>& out) const {
  DIFFLUT_CHECK(n >= 0 && (n == 0 || codes != nullptr), "bitslice engine: expected codes for ", n,
                " samples");
  if (n == 0) return;
  const int64_t F = program_.input_words;
  const int64_t blocks = (n + kBlockSamples - 1) / kBlockSamples;
  const bitslice::Kernels k = kernels_for(isa_);
  const bitslice::FrontEndTables tables{win_base_.data(), win_idx_.data(), win_thr_.data(),
                                        win_slot_.data(), static_cast<int64_t>(win_base_.size())};
  const uint32_t max_code = (1u << program_.input_width) - 1;
  parallel_for(0, blocks, 1, [&](int64_t lo, int64_t hi) {
    const int64_t n_slots = program_.num_slots + (jit_ ? jit_->extra_slots() : 0);
    uint64_t* const slots = t_slots.get(static_cast<size_t>(n_slots) * kPlaneWords);
    uint64_t* const rows = t_rows.get(std::max<size_t>(1, win_base_.size()) * kWindowLanes);
    std::fill(slots, slots + kPlaneWords, uint64_t{0});
    std::fill(slots + kPlaneWords, slots + 2 * kPlaneWords, ~uint64_t{0});
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t first = b * kBlockSamples;
      const int64_t m = std::min<int64_t>(kBlockSamples, n - first);
      const uint8_t* x = codes + first * F;
      if (max_code < 255)
        for (int64_t i = 0; i < m * F; ++i)
          DIFFLUT_CHECK(x[i] <= max_code, "bitslice engine: sample ", first + i / F, ", word ",
                        i % F, ": code ", int{x[i]}, " does not fit ", program_.input_width,
                        " bit(s)");
      // A window reads 128 bytes from its base. Samples of at least 128 bytes clip the base so the
      // window stays inside the row; shorter samples read into the following rows, which for the
      // last rows of the input would be past its end (the last block, and also the one before it
      // when fewer than 128 bytes follow). Such blocks read from a zero-padded copy (the padding
      // bytes are never selected by a used lane: those read features < F).
      const bool past_end =
          F < kWindowBytes && (first + kBlockSamples - 1) * F + kWindowBytes > n * F;
      if (b == blocks - 1 || past_end) {
        const size_t bytes = static_cast<size_t>(kBlockSamples * F + kWindowBytes);
        uint8_t* pad = t_pad.get((bytes + 7) / 8) ? reinterpret_cast<uint8_t*>(t_pad.p) : nullptr;
        std::memcpy(pad, x, static_cast<size_t>(m * F));
        std::memset(pad + m * F, 0, bytes - static_cast<size_t>(m * F));
        x = pad;
      }
      k.front_end(tables, x, F, rows, slots);
      if (jit_)
        jit_->run(slots);
      else
        k.run_ops(program_.ops.data(), program_.groups.data(),
                  static_cast<int64_t>(program_.groups.size()), slots);
      for (size_t q = 0; q < ports.size(); ++q) {
        const BitslicePort& port = program_.ports[static_cast<size_t>(ports[q])];
        uint32_t* dst = out[q] + first * port.words;
        for (int64_t w = 0; w < port.words; ++w)
          for (int64_t s = 0; s < m; ++s) {
            const int64_t g = s >> 6, bit = s & 63;
            uint32_t v = 0;
            for (int j = 0; j < port.width; ++j) {
              const int32_t sl = port.planes[static_cast<size_t>(w * port.width + j)];
              v |= static_cast<uint32_t>(
                       (slots[static_cast<int64_t>(sl) * kPlaneWords + g] >> bit) & 1)
                   << j;
            }
            dst[s * port.words + w] = v;
          }
      }
    }
  });
}

size_t BitsliceEngine::jit_code_bytes() const { return jit_ ? jit_->code_bytes() : 0; }

std::string BitsliceEngine::describe() const {
  if (!jit_) return bitslice_isa_name(isa_);
  return str_cat(bitslice_isa_name(isa_), " (machine code, ", jit_->code_bytes() / 1024, " KB)");
}

void BitsliceEngine::predict(const uint8_t* codes, int64_t n, int32_t* classes) const {
  const int p = program_.port_index("class_idx");
  DIFFLUT_CHECK(p >= 0,
                "bitslice engine: the circuit has no class_idx output (it must end in a "
                "GroupSum or an argmax)");
  static_assert(sizeof(int32_t) == sizeof(uint32_t));
  std::vector<uint32_t*> out{reinterpret_cast<uint32_t*>(classes)};
  run_blocks(codes, n, {p}, out);
}

std::vector<int32_t> BitsliceEngine::predict(const std::vector<uint8_t>& codes) const {
  const int64_t F = program_.input_words;
  DIFFLUT_CHECK(static_cast<int64_t>(codes.size()) % F == 0, "bitslice engine: expected [n, ", F,
                "] codes, found ", codes.size(), " bytes (not a multiple of ", F, ")");
  std::vector<int32_t> out(codes.size() / static_cast<size_t>(F));
  predict(codes.data(), static_cast<int64_t>(out.size()), out.data());
  return out;
}

std::vector<std::vector<uint32_t>> BitsliceEngine::run(const uint8_t* codes, int64_t n) const {
  std::vector<std::vector<uint32_t>> res(program_.ports.size());
  std::vector<int> ports;
  std::vector<uint32_t*> out;
  for (size_t q = 0; q < res.size(); ++q) {
    res[q].assign(static_cast<size_t>(n * program_.ports[q].words), 0);
    ports.push_back(static_cast<int>(q));
    out.push_back(res[q].data());
  }
  run_blocks(codes, n, ports, out);
  return res;
}

}  // namespace difflut::hdl
