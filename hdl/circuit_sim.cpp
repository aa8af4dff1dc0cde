// Software model of the circuit IR: one sample at a time, every stage from its source's words.
#include "hdl/circuit_sim.h"

#include "tensor/error.h"
#include "tensor/parallel.h"

namespace difflut::hdl {

CircuitSim::CircuitSim(const Circuit& circuit) : circuit_(circuit) {
  circuit.validate();
  layouts_.resize(circuit.stages.size());
  for (size_t s = 0; s < circuit.stages.size(); ++s)
    if (circuit.stages[s].kind == StageKind::lut) layouts_[s] = lut_layout(circuit.stages[s]);
}

void CircuitSim::run(const uint32_t* input, std::vector<std::vector<uint32_t>>& values) const {
  const auto& stages = circuit_.stages;
  values.resize(stages.size());
  values[0].assign(input, input + stages[0].size);
  const uint32_t in_mask =
      stages[0].width >= 32 ? 0xffffffffu : ((uint32_t{1} << stages[0].width) - 1);
  for (uint32_t& v : values[0]) {
    DIFFLUT_CHECK((v & ~in_mask) == 0, "hdl: input code ", v, " does not fit ", stages[0].width,
                  " bits");
  }
  for (size_t s = 1; s < stages.size(); ++s) {
    const Stage& st = stages[s];
    const std::vector<uint32_t>& in = values[static_cast<size_t>(st.source)];
    std::vector<uint32_t>& out = values[s];
    out.assign(static_cast<size_t>(st.size), 0);
    switch (st.kind) {
      case StageKind::compare:
        for (int64_t m = 0; m < st.size; ++m)
          out[static_cast<size_t>(m)] = in[static_cast<size_t>(st.index[static_cast<size_t>(m)])] >=
                                                st.threshold[static_cast<size_t>(m)]
                                            ? 1u
                                            : 0u;
        break;
      case StageKind::wires:
        for (int64_t m = 0; m < st.size; ++m)
          out[static_cast<size_t>(m)] = in[static_cast<size_t>(st.index[static_cast<size_t>(m)])];
        break;
      case StageKind::lut: {
        const LutLayout& l = layouts_[s];
        for (int64_t j = 0; j < st.size; ++j) {
          const int64_t b = l.input_begin[static_cast<size_t>(j)];
          const int f = static_cast<int>(l.input_begin[static_cast<size_t>(j) + 1] - b);
          uint32_t addr = 0;
          for (int i = 0; i < f; ++i) addr |= (in[static_cast<size_t>(b + i)] & 1u) << i;
          out[static_cast<size_t>(j)] =
              st.table[static_cast<size_t>(l.table_begin[static_cast<size_t>(j)] + addr)];
        }
        break;
      }
      case StageKind::popcount:
        for (int64_t c = 0; c < st.size; ++c) {
          uint32_t acc = static_cast<uint32_t>(st.group_offset(c));
          for (int64_t m = st.group_begin[static_cast<size_t>(c)];
               m < st.group_end[static_cast<size_t>(c)]; ++m)
            acc += in[static_cast<size_t>(m)];
          out[static_cast<size_t>(c)] = acc;
        }
        break;
      case StageKind::argmax: {
        // Strictly greater replaces: the first index wins ties (the argmax op's rule).
        uint32_t best = 0;
        for (size_t i = 1; i < in.size(); ++i)
          if (in[i] > in[best]) best = static_cast<uint32_t>(i);
        out[0] = best;
        break;
      }
      case StageKind::input: break;
    }
  }
}

std::vector<std::vector<uint32_t>> simulate(const Circuit& circuit,
                                            const std::vector<uint32_t>& input_codes,
                                            int64_t batch) {
  const int64_t F = circuit.input_words();
  DIFFLUT_CHECK(static_cast<int64_t>(input_codes.size()) == batch * F, "hdl.simulate: expected ",
                batch, " x ", F, " input codes, found ", input_codes.size());
  CircuitSim sim(circuit);
  std::vector<std::vector<uint32_t>> outs(circuit.outputs.size());
  for (size_t o = 0; o < outs.size(); ++o)
    outs[o].resize(static_cast<size_t>(
        batch * circuit.stages[static_cast<size_t>(circuit.outputs[o].stage)].size));
  // Samples are independent; each chunk writes only its own rows.
  parallel_for(0, batch, 16, [&](int64_t lo, int64_t hi) {
    std::vector<std::vector<uint32_t>> values;
    for (int64_t b = lo; b < hi; ++b) {
      sim.run(input_codes.data() + b * F, values);
      for (size_t o = 0; o < outs.size(); ++o) {
        const std::vector<uint32_t>& v = values[static_cast<size_t>(circuit.outputs[o].stage)];
        std::copy(v.begin(), v.end(), outs[o].begin() + static_cast<int64_t>(v.size()) * b);
      }
    }
  });
  return outs;
}

}  // namespace difflut::hdl
