// Level-code encoders (the public DiffLUT's binary, gray, onehot, sign_magnitude, logarithmic): each
// feature is quantised to a level q in [0, M) that rises with x, and the level's code word (num_bits
// bits) is the output. Every level boundary is one threshold comparison, so an encoder is
//   q(x) = #{k : x >= t_k}  (or x > t_k where the published rule is strict), out = table[q]
// with thresholds t_0 <= ... <= t_{M-2} per feature fitted on data, and a fixed table [M, num_bits]
// per (encoder, num_bits). The hardware is those comparators plus one small LUT per output bit.
// The published rules (x normalised with eps = 1e-8, q = floor(clamp(v, 0, 1) * max_int)):
//   binary          M = 2^b, q = floor(clamp((x-min)/(max-min+eps)) (M-1)), bits of q, MSB first
//   gray            as binary, bits of q ^ (q >> 1)
//   onehot          M = b, q = #{edges e_i < x}, e_i = min + i (max-min)/b (i = 1..b-1); bit q set
//   sign_magnitude  bit 0 = x < 0, then b-1 bits of floor(clamp(|x|/(max|x|+eps)) (2^(b-1)-1))
//   logarithmic     binary of l(x) = log2(x + o + eps), o = 1 - min if min < 0 else 0
// In threshold form (derived in level_code.cpp) these are exact up to the f32 rounding of t_k;
// x == min keeps level 0 even for a constant feature (boundaries rounding onto min are raised).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace difflut {

enum class LevelCode { binary, gray, onehot, sign_magnitude, logarithmic };

// "binary", "gray", "onehot", "sign_magnitude", "logarithmic".
const char* level_code_name(LevelCode code);
// True (and sets *code) when `name` is one of the names above.
bool find_level_code(const std::string& name, LevelCode* code);

// Throws difflut::Error unless num_bits suits the code (onehot, sign_magnitude: 2..64 and 2..12;
// binary, gray, logarithmic: 1..12, since M = 2^b thresholds per feature are stored).
void check_level_code_bits(LevelCode code, int num_bits);
// M, the number of levels; the encoder stores M - 1 thresholds per feature.
int64_t level_count(LevelCode code, int num_bits);
// table[q * num_bits + j] = output bit j of level q, for q in [0, M).
std::vector<uint8_t> level_table(LevelCode code, int num_bits);
// strict[k] = 1 when boundary k is x > t_k, 0 when it is x >= t_k (size M - 1).
std::vector<uint8_t> level_strict(LevelCode code, int num_bits);

// The M - 1 thresholds (ascending) of one feature whose fitted values are `values` (non-empty,
// finite), written to out[0 .. M-2].
void fit_level_thresholds(LevelCode code, int num_bits, const std::vector<double>& values,
                          double* out);

}  // namespace difflut
