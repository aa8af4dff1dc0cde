// Netlist optimisation: the circuit is flattened into a DAG of logic nodes (wires resolved away),
// the passes rewrite that DAG, and the surviving nodes are rebuilt into stages in the original
// stage order, so every node stays at the layer it came from (same pipeline structure).
#include "hdl/optimize.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "tensor/error.h"

namespace difflut::hdl {

namespace {

enum class Kind : uint8_t { constant, input, compare, lut, popcount, argmax };

struct DagNode {
  Kind kind = Kind::constant;
  int home = -1;                 // the stage of the input circuit it belongs to (-1: constants)
  int64_t pos = 0;               // its word in that stage (the first, for merged words)
  int width = 1;                 // bits of its value
  std::vector<int> in{};         // DAG ids read (lut: address bit order; popcount: summed bits)
  std::vector<uint8_t> table{};  // lut: 2^in.size() entries
  uint32_t threshold = 0;        // compare
  int64_t offset = 0;            // popcount
  int value = 0;                 // constant
};

constexpr int kConst0 = 0, kConst1 = 1;

class Dag {
 public:
  explicit Dag(const Circuit& c) : circuit_(c) {
    nodes_.push_back({.kind = Kind::constant, .value = 0});
    nodes_.push_back({.kind = Kind::constant, .value = 1});
    pinned_.assign(c.stages.size(), 0);
    for (const OutputPort& o : c.outputs) pinned_[static_cast<size_t>(o.stage)] = 1;
    for (const Stage& s : c.stages)  // argmax reads its source positionally: keep every word
      if (s.kind == StageKind::argmax) pinned_[static_cast<size_t>(s.source)] = 1;
    build();
    repl_.resize(nodes_.size());
    for (size_t i = 0; i < repl_.size(); ++i) repl_[i] = static_cast<int>(i);
  }

  bool pinned(int stage) const { return pinned_[static_cast<size_t>(stage)] != 0; }
  const std::vector<DagNode>& nodes() const { return nodes_; }
  const std::vector<int>& words(int stage) const { return words_[static_cast<size_t>(stage)]; }

  int resolve(int id) {
    int r = id;
    while (repl_[static_cast<size_t>(r)] != r) r = repl_[static_cast<size_t>(r)];
    while (repl_[static_cast<size_t>(id)] != r) {  // path compression
      const int next = repl_[static_cast<size_t>(id)];
      repl_[static_cast<size_t>(id)] = r;
      id = next;
    }
    return r;
  }
  bool replaced(int id) const { return repl_[static_cast<size_t>(id)] != id; }
  bool in_pinned_stage(int id) const {
    const int h = nodes_[static_cast<size_t>(id)].home;
    return h >= 0 && pinned(h);
  }

  // Rewrites node `id` in place: inputs resolved, constants folded, ignored and repeated LUT inputs
  // dropped, LUT inputs in canonical (ascending id) order. Returns the node it equals (a constant,
  // or the bit an identity comparator reads), or -1.
  int normalize(int id) {
    DagNode& n = nodes_[static_cast<size_t>(id)];
    for (int& x : n.in) x = resolve(x);
    switch (n.kind) {
      case Kind::compare: {
        const DagNode& src = nodes_[static_cast<size_t>(n.in[0])];
        if (n.threshold == 0) return kConst1;
        if (n.threshold >= (uint64_t{1} << src.width)) return kConst0;
        if (src.kind == Kind::popcount && src.in.empty())
          return static_cast<uint64_t>(src.offset) >= n.threshold ? kConst1 : kConst0;
        // A bit compared with 1 is the bit itself (a conv layer's padding stage passes its bits
        // through this way): the node is replaced by its source.
        if (n.threshold == 1 && src.width == 1) return n.in[0];
        return -1;
      }
      case Kind::popcount: {
        std::vector<int> keep;
        for (int x : n.in) {
          const DagNode& v = nodes_[static_cast<size_t>(x)];
          if (v.kind == Kind::constant)
            n.offset += v.value;
          else
            keep.push_back(x);
        }
        n.in = std::move(keep);
        return -1;
      }
      case Kind::lut: return normalize_lut(n);
      default: return -1;
    }
  }

  // Present (not replaced, not a constant) node counts, optionally only those in `live`.
  NetlistCounts counts(const std::vector<char>* live) const {
    NetlistCounts c;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const DagNode& n = nodes_[i];
      if (repl_[i] != static_cast<int>(i) || (live && !(*live)[i])) continue;
      if (n.kind == Kind::compare) ++c.comparators;
      if (n.kind == Kind::lut) {
        ++c.lut_nodes;
        c.lut_inputs += static_cast<int64_t>(n.in.size());
      }
      if (n.kind == Kind::popcount) c.popcount_inputs += static_cast<int64_t>(n.in.size());
    }
    return c;
  }

  void replace(int id, int by) { repl_[static_cast<size_t>(id)] = by; }

 private:
  int add(DagNode n) {
    nodes_.push_back(std::move(n));
    return static_cast<int>(nodes_.size() - 1);
  }

  void build() {
    const auto& st = circuit_.stages;
    words_.resize(st.size());
    for (int64_t f = 0; f < st[0].size; ++f)
      words_[0].push_back(add({.kind = Kind::input, .home = 0, .pos = f, .width = st[0].width}));
    for (size_t s = 1; s < st.size(); ++s) {
      const Stage& g = st[s];
      const std::vector<int>& src = words_[static_cast<size_t>(g.source)];
      std::vector<int>& out = words_[s];
      const int home = static_cast<int>(s);
      auto src_word = [&](int64_t m) { return src[static_cast<size_t>(m)]; };
      switch (g.kind) {
        case StageKind::wires:
          for (int64_t m : g.index) out.push_back(src_word(m));
          break;
        case StageKind::compare:
          for (int64_t m = 0; m < g.size; ++m)
            out.push_back(add({.kind = Kind::compare,
                               .home = home,
                               .pos = m,
                               .in = {src_word(g.index[static_cast<size_t>(m)])},
                               .threshold = g.threshold[static_cast<size_t>(m)]}));
          break;
        case StageKind::lut: {
          const LutLayout l = lut_layout(g);
          for (int64_t j = 0; j < g.size; ++j) {
            DagNode n{.kind = Kind::lut, .home = home, .pos = j};
            for (int64_t i = l.input_begin[static_cast<size_t>(j)];
                 i < l.input_begin[static_cast<size_t>(j) + 1]; ++i)
              n.in.push_back(src_word(i));
            n.table.assign(g.table.begin() + l.table_begin[static_cast<size_t>(j)],
                           g.table.begin() + l.table_begin[static_cast<size_t>(j) + 1]);
            out.push_back(add(std::move(n)));
          }
          break;
        }
        case StageKind::popcount:
          for (int64_t c = 0; c < g.size; ++c) {
            DagNode n{.kind = Kind::popcount,
                      .home = home,
                      .pos = c,
                      .width = g.width,
                      .offset = g.group_offset(c)};
            for (int64_t m = g.group_begin[static_cast<size_t>(c)];
                 m < g.group_end[static_cast<size_t>(c)]; ++m)
              n.in.push_back(src_word(m));
            out.push_back(add(std::move(n)));
          }
          break;
        case StageKind::argmax:
          out.push_back(
              add({.kind = Kind::argmax, .home = home, .pos = 0, .width = g.width, .in = src}));
          break;
        case StageKind::input: break;
      }
    }
  }

  // table' over new inputs: old input l reads new input map[l] (>= 0) or the constant -map[l] - 1.
  static std::vector<uint8_t> reindex(const std::vector<uint8_t>& t, int old_k,
                                      const std::vector<int>& map, int new_k) {
    std::vector<uint8_t> out(size_t{1} << new_k);
    for (size_t a = 0; a < out.size(); ++a) {
      size_t old = 0;
      for (int l = 0; l < old_k; ++l) {
        const int m = map[static_cast<size_t>(l)];
        const size_t bit = m >= 0 ? (a >> m) & 1 : static_cast<size_t>(-m - 1);
        old |= bit << l;
      }
      out[a] = t[old];
    }
    return out;
  }

  int normalize_lut(DagNode& n) {
    const int k = static_cast<int>(n.in.size());
    // Distinct non-constant inputs in ascending id order; constants folded in.
    std::vector<int> distinct;
    for (int x : n.in)
      if (nodes_[static_cast<size_t>(x)].kind != Kind::constant) distinct.push_back(x);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    std::vector<int> map(static_cast<size_t>(k));
    for (int l = 0; l < k; ++l) {
      const int x = n.in[static_cast<size_t>(l)];
      const DagNode& v = nodes_[static_cast<size_t>(x)];
      map[static_cast<size_t>(l)] =
          v.kind == Kind::constant
              ? -v.value - 1
              : static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), x) -
                                 distinct.begin());
    }
    std::vector<uint8_t> t = reindex(n.table, k, map, static_cast<int>(distinct.size()));
    std::vector<int> in = distinct;
    // Drop inputs the table does not depend on.
    for (int l = static_cast<int>(in.size()) - 1; l >= 0; --l) {
      bool depends = false;
      for (size_t a = 0; a < t.size() && !depends; ++a) depends = t[a] != t[a ^ (size_t{1} << l)];
      if (depends) continue;
      std::vector<int> m(in.size());
      for (size_t i = 0; i < in.size(); ++i)
        m[i] = static_cast<int>(i) < l    ? static_cast<int>(i)
               : static_cast<int>(i) == l ? -1
                                          : static_cast<int>(i) - 1;
      t = reindex(t, static_cast<int>(in.size()), m, static_cast<int>(in.size()) - 1);
      in.erase(in.begin() + l);
    }
    n.in = std::move(in);
    n.table = std::move(t);
    if (n.in.empty()) return n.table[0] ? kConst1 : kConst0;
    return -1;
  }

  const Circuit& circuit_;
  std::vector<DagNode> nodes_;
  std::vector<std::vector<int>> words_;
  std::vector<int> repl_;
  std::vector<char> pinned_;
};

// --- the passes -----------------------------------------------------------------------------------

void pass_constants(Dag& d) {
  for (int id = 2; id < static_cast<int>(d.nodes().size()); ++id) {
    const int c = d.normalize(id);
    if (c >= 0 && !d.in_pinned_stage(id)) d.replace(id, c);
  }
}

void pass_duplicates(Dag& d) {
  std::map<std::tuple<int, int, std::vector<int>, std::vector<uint8_t>, uint32_t>, int> seen;
  for (int id = 2; id < static_cast<int>(d.nodes().size()); ++id) {
    if (d.replaced(id)) continue;
    const int c = d.normalize(id);
    const DagNode& n = d.nodes()[static_cast<size_t>(id)];
    if (d.in_pinned_stage(id)) continue;
    if (c >= 0) {
      d.replace(id, c);
      continue;
    }
    if (n.kind != Kind::compare && n.kind != Kind::lut) continue;
    auto key = std::make_tuple(static_cast<int>(n.kind), n.home, n.in, n.table, n.threshold);
    auto [it, fresh] = seen.emplace(std::move(key), id);
    if (!fresh) d.replace(id, it->second);
  }
}

// Nodes the output ports depend on.
std::vector<char> live_nodes(Dag& d, const Circuit& c) {
  std::vector<char> live(d.nodes().size(), 0);
  std::vector<int> stack;
  for (size_t s = 0; s < c.stages.size(); ++s)
    if (d.pinned(static_cast<int>(s)))
      for (int w : d.words(static_cast<int>(s))) stack.push_back(w);
  while (!stack.empty()) {
    const int id = d.resolve(stack.back());
    stack.pop_back();
    if (live[static_cast<size_t>(id)]) continue;
    live[static_cast<size_t>(id)] = 1;
    for (int x : d.nodes()[static_cast<size_t>(id)].in) stack.push_back(x);
  }
  return live;
}

// --- rebuilding stages ----------------------------------------------------------------------------

class Rebuilder {
 public:
  Rebuilder(Dag& d, const Circuit& c, const std::vector<char>& live) : d_(d), c_(c), live_(live) {
    where_.assign(d.nodes().size(), {-1, -1});
    new_stage_.assign(c.stages.size(), -1);
    names_.insert(c.stages[0].name);
  }

  // False when the circuit is degenerate in a way the rebuild does not handle (the caller then
  // keeps the literal circuit).
  bool run(Circuit& out) {
    out.input_port = c_.input_port;
    out.stages.push_back(c_.stages[0]);
    new_stage_[0] = 0;
    for (size_t i = 0; i < d_.words(0).size(); ++i)
      where_[static_cast<size_t>(d_.words(0)[i])] = {0, static_cast<int64_t>(i)};
    for (size_t s = 1; s < c_.stages.size(); ++s) {
      const Stage& g = c_.stages[s];
      if (g.kind == StageKind::wires) continue;
      const std::vector<int> nodes = stage_nodes(static_cast<int>(s));
      if (nodes.empty() && !d_.pinned(static_cast<int>(s))) continue;
      if (!emit(out, static_cast<int>(s), nodes)) return false;
    }
    for (const OutputPort& o : c_.outputs) {
      const int ns = new_stage_[static_cast<size_t>(o.stage)];
      if (ns < 0) return false;
      out.outputs.push_back({o.port, ns});
    }
    out.validate();
    return true;
  }

 private:
  // The nodes a rebuilt stage holds: every word's node for pinned stages, else the live
  // representatives belonging to it, in the order of their words.
  std::vector<int> stage_nodes(int s) {
    std::vector<int> out;
    if (d_.pinned(s)) return d_.words(s);
    std::set<int> seen;
    for (int w : d_.words(s)) {
      const int r = d_.resolve(w);
      const DagNode& n = d_.nodes()[static_cast<size_t>(r)];
      if (n.home != s || !live_[static_cast<size_t>(r)] || !seen.insert(r).second) continue;
      out.push_back(r);
    }
    return out;
  }

  std::string unique_name(const std::string& base) {
    std::string n = base;
    for (int i = 2; names_.count(n); ++i) n = str_cat(base, "_", i);
    names_.insert(n);
    return n;
  }

  // The single rebuilt stage that holds every input of `nodes` (-1 if they read none; -2 if they
  // span stages, which the lowering never produces).
  int source_of(const std::vector<int>& nodes) {
    int src = -1;
    for (int id : nodes)
      for (int x : d_.nodes()[static_cast<size_t>(id)].in) {
        const int st = where_[static_cast<size_t>(d_.resolve(x))].first;
        if (st < 0) return -2;
        if (src >= 0 && st != src) return -2;
        src = st;
      }
    return src;
  }

  int push(Circuit& out, Stage st, const Stage& from, bool same_words) {
    st.node_name = from.node_name;
    st.op = from.op;
    st.node_id = same_words ? from.node_id : -1;
    out.stages.push_back(std::move(st));
    return static_cast<int>(out.stages.size() - 1);
  }

  // A wires stage selecting `sel` (DAG ids) from rebuilt stage `src`, named after the original
  // source of stage s when that was a wires stage (the mapping it implements).
  int push_selection(Circuit& out, int s, int src, const std::vector<int>& sel) {
    const Stage& g = c_.stages[static_cast<size_t>(s)];
    const Stage& orig_src = c_.stages[static_cast<size_t>(g.source)];
    Stage w;
    w.kind = StageKind::wires;
    w.name = unique_name(orig_src.kind == StageKind::wires ? orig_src.name : g.name + "_in");
    w.source = src;
    w.size = static_cast<int64_t>(sel.size());
    w.width = 1;
    w.decode = {0.0, 1.0};
    for (int x : sel) w.index.push_back(where_[static_cast<size_t>(d_.resolve(x))].second);
    return push(out, std::move(w), orig_src.kind == StageKind::wires ? orig_src : g, false);
  }

  bool emit(Circuit& out, int s, const std::vector<int>& nodes) {
    const Stage& g = c_.stages[static_cast<size_t>(s)];
    const bool pinned = d_.pinned(s);
    const int src = source_of(nodes);
    if (src == -2 || (src == -1 && g.kind != StageKind::popcount)) return false;
    Stage st;
    st.kind = g.kind;
    st.name = unique_name(g.name);
    st.size = static_cast<int64_t>(nodes.size());
    st.width = g.width;
    st.decode = g.decode;
    switch (g.kind) {
      case StageKind::compare:
        st.source = src;
        for (int id : nodes) {
          const DagNode& n = d_.nodes()[static_cast<size_t>(id)];
          st.index.push_back(where_[static_cast<size_t>(n.in[0])].second);
          st.threshold.push_back(n.threshold);
          st.threshold_value.push_back(g.threshold_value[static_cast<size_t>(n.pos)]);
        }
        break;
      case StageKind::lut: {
        std::vector<int> sel;
        for (int id : nodes) {
          const DagNode& n = d_.nodes()[static_cast<size_t>(id)];
          sel.insert(sel.end(), n.in.begin(), n.in.end());
          st.fanin.push_back(static_cast<uint8_t>(n.in.size()));
          st.k = std::max(st.k, static_cast<int>(n.in.size()));
          st.table.insert(st.table.end(), n.table.begin(), n.table.end());
        }
        if (sel.empty()) return false;
        st.source = push_selection(out, s, src, sel);
        break;
      }
      case StageKind::popcount: {
        std::vector<int> sel;
        for (int id : nodes) {
          const DagNode& n = d_.nodes()[static_cast<size_t>(id)];
          st.group_begin.push_back(static_cast<int64_t>(sel.size()));
          sel.insert(sel.end(), n.in.begin(), n.in.end());
          st.group_end.push_back(static_cast<int64_t>(sel.size()));
          st.offset.push_back(n.offset);
        }
        if (sel.empty()) return false;
        st.source = push_selection(out, s, src, sel);
        break;
      }
      case StageKind::argmax:
        // Reads a pinned stage, which was rebuilt word for word.
        st.source = new_stage_[static_cast<size_t>(g.source)];
        if (st.source < 0) return false;
        break;
      case StageKind::wires:
      case StageKind::input: return false;
    }
    const int ns = push(out, std::move(st), g, pinned);
    new_stage_[static_cast<size_t>(s)] = ns;
    for (size_t i = 0; i < nodes.size(); ++i) {
      auto& w = where_[static_cast<size_t>(nodes[i])];
      if (w.first < 0) w = {ns, static_cast<int64_t>(i)};
    }
    return true;
  }

  Dag& d_;
  const Circuit& c_;
  const std::vector<char>& live_;
  std::vector<std::pair<int, int64_t>> where_;  // DAG id -> (rebuilt stage, word)
  std::vector<int> new_stage_;                  // input stage -> rebuilt stage
  std::set<std::string> names_;
};

}  // namespace

std::string NetlistCounts::str() const {
  return str_cat("comparators ", comparators, ", LUT nodes ", lut_nodes, ", LUT inputs ",
                 lut_inputs, ", popcount inputs ", popcount_inputs);
}

std::string PassSummary::str() const {
  return str_cat(pass, ": comparators ", before.comparators, " -> ", after.comparators,
                 ", LUT nodes ", before.lut_nodes, " -> ", after.lut_nodes, ", LUT inputs ",
                 before.lut_inputs, " -> ", after.lut_inputs, ", popcount inputs ",
                 before.popcount_inputs, " -> ", after.popcount_inputs);
}

NetlistCounts count_netlist(const Circuit& circuit) {
  NetlistCounts c;
  for (const Stage& s : circuit.stages) {
    if (s.kind == StageKind::compare) c.comparators += s.size;
    if (s.kind == StageKind::lut) {
      c.lut_nodes += s.size;
      for (int64_t j = 0; j < s.size; ++j) c.lut_inputs += s.lut_fanin(j);
    }
    if (s.kind == StageKind::popcount)
      for (int64_t g = 0; g < s.size; ++g)
        c.popcount_inputs +=
            s.group_end[static_cast<size_t>(g)] - s.group_begin[static_cast<size_t>(g)];
  }
  return c;
}

OptimizedCircuit optimize_circuit(const Circuit& circuit) {
  circuit.validate();
  OptimizedCircuit r;
  Dag d(circuit);
  NetlistCounts before = d.counts(nullptr);
  pass_constants(d);
  NetlistCounts after = d.counts(nullptr);
  r.passes.push_back({"constants", before, after});
  before = after;
  pass_duplicates(d);
  after = d.counts(nullptr);
  r.passes.push_back({"duplicates", before, after});
  before = after;
  const std::vector<char> live = live_nodes(d, circuit);
  after = d.counts(&live);
  r.passes.push_back({"dead logic", before, after});
  Rebuilder rb(d, circuit, live);
  if (!rb.run(r.circuit)) {
    // Degenerate netlists (e.g. every input of the popcounts constant) keep their literal form.
    r.circuit = circuit;
    const NetlistCounts literal = count_netlist(circuit);
    for (PassSummary& p : r.passes) p.before = p.after = literal;
  }
  return r;
}

}  // namespace difflut::hdl
