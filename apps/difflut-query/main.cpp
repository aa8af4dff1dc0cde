// difflut-query: reads the tracking database (the original DiffLUT's query_results): lists the
// experiments with their best metrics, filtered by name and status; --show ID prints one
// experiment's per-epoch metrics; --csv / --json export what would be shown. Errors are one line
// "difflut-query: error: ..." and exit code 2.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/io/mini_json.h"
#include "common/config/cli.h"
#include "common/tracking/json_number.h"
#include "common/tracking/seed_groups.h"
#include "common/tracking/tracking_sqlite.h"
#include "tensor/error.h"

namespace {

using namespace difflut;
using namespace difflut::app;

constexpr const char* kProgram = "difflut-query";

const char* kUsage =
    R"(usage: difflut-query [--db PATH] [--name PATTERN] [--status STATUS] [--id N]...
                     [--show ID | --seeds] [--csv FILE|-] [--json FILE|-]

Lists the experiments of the tracking database with their best metrics.

options:
  --db PATH        the database (default: $DIFFLUT_TRACKING_DB, else results/experiments.db)
  --name PATTERN   experiments whose name contains PATTERN (SQL LIKE with % or _)
  --status STATUS  only this status: running, completed, failed, interrupted, created
  --id N           only experiment N (repeatable)
  --show ID        one experiment: its settings and a table of its per-epoch metrics
  --seeds          one row per configuration run with several seeds: completed experiments
                   whose configs differ only in seed (and output_dir, data_root, tracking.*,
                   training.resume, device) and that ran on one device, with the test
                   accuracy's mean, standard deviation, minimum and maximum, the seeds and
                   the experiment ids
  --csv FILE       write the list (or the --show table) as CSV to FILE ('-': stdout)
  --json FILE      write the list (or the --show experiment) as JSON to FILE ('-': stdout)

A status "running*" marks a run whose process is gone on this host (killed): resume it with
difflut-train training.resume=<its run_dir>.
)";

struct Options {
  std::string db = default_tracking_db();
  ExperimentFilter filter;
  int64_t show = 0;
  bool seeds = false;
  std::string csv, json;
  bool help = false;
};

int64_t parse_id(const std::string& flag, const std::string& v) {
  size_t used = 0;
  long long id = 0;
  try {
    id = std::stoll(v, &used);
  } catch (...) {
    used = 0;
  }
  DIFFLUT_CHECK(used == v.size() && id > 0, flag,
                ": expected an experiment id (an integer >= 1), found '", v, "'");
  return id;
}

Options parse(int argc, char** argv) {
  Options o;
  for (FlagCursor f(argc, argv); f.next();) {
    const std::string& a = f.name();
    auto next = [&] { return f.value(); };
    if (a == "-h" || a == "--help")
      o.help = true;
    else if (a == "--db")
      o.db = next();
    else if (a == "--name")
      o.filter.name = next();
    else if (a == "--status")
      o.filter.status = next();
    else if (a == "--id")
      o.filter.ids.push_back(parse_id(a, next()));
    else if (a == "--show")
      o.show = parse_id(a, next());
    else if (a == "--seeds")
      o.seeds = true;
    else if (a == "--csv")
      o.csv = next();
    else if (a == "--json")
      o.json = next();
    else
      DIFFLUT_FAIL("unknown argument '", f.raw(), "' (see --help)");
  }
  static const std::set<std::string> kStatuses = {kStatusCreated, kStatusRunning, kStatusCompleted,
                                                  kStatusFailed, kStatusInterrupted};
  DIFFLUT_CHECK(
      o.filter.status.empty() || kStatuses.count(o.filter.status),
      "--status: expected one of created, running, completed, failed, interrupted, found '",
      o.filter.status, "'");
  DIFFLUT_CHECK(!(o.seeds && o.show), "--seeds and --show: expected one of them, found both");
  return o;
}

// ---- cells -------------------------------------------------------------------------------------

// A table cell: text, or a number printed with a fixed precision (JSON gets the full value).
struct Cell {
  std::string text;
  std::optional<double> number;
  bool is_int = false;

  static Cell str(std::string s) { return Cell{std::move(s), std::nullopt, false}; }
  static Cell real(std::optional<double> v, int digits = 4) {
    if (!v) return Cell{};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*f", digits, *v);
    return Cell{buf, v, false};
  }
  static Cell integer(std::optional<int64_t> v) {
    if (!v) return Cell{};
    return Cell{std::to_string(*v), static_cast<double>(*v), true};
  }
};

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;
};

void print_text(const Table& t, std::ostream& out) {
  std::vector<size_t> width(t.columns.size());
  for (size_t c = 0; c < t.columns.size(); ++c) {
    width[c] = t.columns[c].size();
    for (const auto& row : t.rows) width[c] = std::max(width[c], row[c].text.size());
  }
  auto emit = [&](const std::vector<std::string>& cells, const std::vector<bool>& right) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - cells[c].size(), ' ');
      if (c) line += "  ";
      line += right[c] ? pad + cells[c] : cells[c] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  std::vector<bool> right(t.columns.size(), false);
  for (size_t c = 0; c < t.columns.size(); ++c)
    for (const auto& row : t.rows)
      if (row[c].number) right[c] = true;
  emit(t.columns, right);
  std::vector<std::string> rule;
  for (size_t w : width) rule.push_back(std::string(w, '-'));
  emit(rule, std::vector<bool>(t.columns.size(), false));
  for (const auto& row : t.rows) {
    std::vector<std::string> cells;
    for (const Cell& c : row) cells.push_back(c.text);
    emit(cells, right);
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string to_csv(const Table& t) {
  std::string s;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (c) s += ',';
    s += csv_field(t.columns[c]);
  }
  s += "\n";
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      std::string v = row[c].text;
      if (row[c].number && !row[c].is_int) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.10g", *row[c].number);
        v = buf;
      }
      if (c) s += ',';
      s += csv_field(v);
    }
    s += "\n";
  }
  return s;
}

std::string json_cell(const Cell& c) {
  if (c.number) return json_number(*c.number);
  if (c.text.empty()) return "null";
  std::string s;
  json::write_string(s, c.text);
  return s;
}

// Rows as a JSON array of objects keyed by column name.
std::string rows_json(const Table& t, const std::string& indent) {
  std::string s = "[";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    s += r ? ",\n" : "\n";
    s += indent + "  {";
    for (size_t c = 0; c < t.columns.size(); ++c) {
      std::string key;
      json::write_string(key, t.columns[c]);
      if (c) s += ", ";
      s += key + ": " + json_cell(t.rows[r][c]);
    }
    s += "}";
  }
  return s + (t.rows.empty() ? "]" : "\n" + indent + "]");
}

void write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  DIFFLUT_CHECK(out.good(), "cannot write '", path, "'");
  out << text;
  DIFFLUT_CHECK(out.good(), "cannot write '", path, "'");
}

std::string display_status(const ExperimentRow& e) {
  if (e.status == kStatusRunning && e.pid && e.hostname == current_hostname() &&
      !process_alive(*e.pid))
    return e.status + "*";
  return e.status;
}

std::optional<double> best(const ExperimentRow& e, const std::string& key) {
  auto it = e.best.find(key);
  if (it == e.best.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> best_epoch(const ExperimentRow& e, const std::string& key) {
  auto it = e.best_epoch.find(key);
  if (it == e.best_epoch.end()) return std::nullopt;
  return it->second;
}

// ---- the list ----------------------------------------------------------------------------------

Table list_table(const std::vector<ExperimentRow>& rows, bool all_metrics) {
  Table t;
  t.columns = {
      "id",     "name",       "status",  "dataset",           "node_type",      "layer_type",
      "lr",     "luts",       "epochs",  "best_val_accuracy", "best_val_epoch", "test_accuracy",
      "device", "start_time", "end_time"};
  // Every other "<phase>/<metric>" best value as its own column (exports only).
  std::vector<std::string> extra;
  if (all_metrics) {
    std::set<std::string> seen = {"val/accuracy", "test/accuracy"};
    for (const ExperimentRow& e : rows)
      for (const auto& [key, v] : e.best)
        if (seen.insert(key).second) extra.push_back(key);
    for (const std::string& k : extra) t.columns.push_back("best_" + k);
    t.columns.insert(t.columns.end(), {"git_commit", "run_dir", "best_checkpoint", "slurm_job_id"});
  }
  for (const ExperimentRow& e : rows) {
    std::string epochs = std::to_string(e.epochs_done);
    if (e.epochs) epochs += "/" + std::to_string(*e.epochs);
    std::vector<Cell> r = {Cell::integer(e.id),
                           Cell::str(e.name),
                           Cell::str(display_status(e)),
                           Cell::str(e.dataset_name),
                           Cell::str(e.node_type),
                           Cell::str(e.layer_type),
                           Cell::real(e.learning_rate, 5),
                           Cell::integer(e.lut_count),
                           Cell::str(epochs),
                           Cell::real(best(e, "val/accuracy")),
                           Cell::integer(best_epoch(e, "val/accuracy")),
                           Cell::real(best(e, "test/accuracy")),
                           Cell::str(e.device),
                           Cell::str(e.start_time.substr(0, 19)),
                           Cell::str(e.end_time.substr(0, 19))};
    if (all_metrics) {
      for (const std::string& k : extra) r.push_back(Cell::real(best(e, k), 6));
      r.push_back(Cell::str(e.git_commit));
      r.push_back(Cell::str(e.run_dir));
      r.push_back(Cell::str(e.best_checkpoint));
      r.push_back(Cell::str(e.slurm_job_id));
    }
    t.rows.push_back(std::move(r));
  }
  return t;
}

// ---- seed spreads -------------------------------------------------------------------------------

Table seeds_table(const std::vector<SeedGroup>& groups) {
  Table t;
  t.columns = {"name", "dataset",   "node_type", "layer_type", "lr",       "epochs", "device",
               "runs", "test_mean", "test_sd",   "test_min",   "test_max", "seeds",  "ids"};
  auto joined = [](const auto& items) {
    std::string s;
    for (const auto& v : items) {
      std::ostringstream one;
      one << v;
      if (!s.empty()) s += ' ';
      s += one.str();
    }
    return s;
  };
  for (const SeedGroup& g : groups)
    t.rows.push_back({Cell::str(g.name), Cell::str(g.dataset), Cell::str(g.node_type),
                      Cell::str(g.layer_type), Cell::real(g.learning_rate, 5),
                      Cell::integer(g.epochs), Cell::str(g.device),
                      Cell::integer(static_cast<int64_t>(g.ids.size())), Cell::real(g.mean),
                      Cell::real(g.sd), Cell::real(g.min), Cell::real(g.max),
                      Cell::str(joined(g.seeds)), Cell::str(joined(g.ids))});
  return t;
}

int seeds(const Tracker& db, const Options& o) {
  const Table t = seeds_table(group_by_seed(db.experiments(o.filter)));
  if (!o.csv.empty()) write_output(o.csv, to_csv(t));
  if (!o.json.empty()) write_output(o.json, "{\"seed_groups\": " + rows_json(t, "") + "}\n");
  if (o.csv.empty() && o.json.empty()) {
    if (t.rows.empty())
      std::cout << "no completed experiments with a test accuracy match in " << o.db << "\n";
    else
      print_text(t, std::cout);
  }
  return 0;
}

// ---- one experiment ----------------------------------------------------------------------------

// One row per epoch; one column per "<phase>/<metric>" (first-seen order) plus the train timing.
Table epoch_table(const std::vector<MeasurementRow>& points) {
  Table t;
  t.columns = {"epoch"};
  std::map<std::string, size_t> col;
  std::map<int64_t, std::map<size_t, std::optional<double>>> by_epoch;
  std::map<int64_t, std::optional<double>> epoch_time;
  for (const MeasurementRow& p : points) {
    if (p.phase == "train" && p.epoch_time) epoch_time[p.epoch] = p.epoch_time;
    auto& slot = by_epoch[p.epoch];
    for (const auto& [name, value] : p.metrics) {
      const std::string key = p.phase + "/" + name;
      auto [it, fresh] = col.emplace(key, t.columns.size());
      if (fresh) t.columns.push_back(key);
      slot[it->second] = value;
    }
  }
  t.columns.push_back("epoch_time_s");
  for (const auto& [epoch, values] : by_epoch) {
    std::vector<Cell> r(t.columns.size());
    r[0] = Cell::integer(epoch);
    for (const auto& [c, v] : values) r[c] = v ? Cell::real(*v, 5) : Cell::str("nan");
    r.back() = Cell::real(epoch_time.count(epoch) ? epoch_time[epoch] : std::nullopt, 2);
    t.rows.push_back(std::move(r));
  }
  return t;
}

std::vector<std::pair<std::string, std::string>> settings_of(const ExperimentRow& e) {
  auto opt = [](const auto& v) {
    std::ostringstream s;
    if (v) s << *v;
    return s.str();
  };
  return {
      {"name", e.name},
      {"status", display_status(e)},
      {"dataset", e.dataset_name},
      {"model", e.model_name},
      {"node_type", e.node_type},
      {"layer_type", e.layer_type},
      {"hidden_sizes[0]", opt(e.hidden_size)},
      {"num_layers", opt(e.num_layers)},
      {"luts", opt(e.lut_count)},
      {"n (LUT inputs)", opt(e.n)},
      {"encoder", e.encoder_name},
      {"optimizer", e.optimizer},
      {"lr", opt(e.learning_rate)},
      {"batch_size", opt(e.batch_size)},
      {"epochs", std::to_string(e.epochs_done) + (e.epochs ? "/" + std::to_string(*e.epochs) : "")},
      {"device", e.device},
      {"host", e.hostname},
      {"slurm_job_id", e.slurm_job_id},
      {"git_commit", e.git_commit},
      {"start_time", e.start_time},
      {"end_time", e.end_time},
      {"run_dir", e.run_dir},
      {"best_checkpoint", e.best_checkpoint}};
}

int show(const Tracker& db, const Options& o) {
  const std::optional<ExperimentRow> e = db.experiment(o.show);
  DIFFLUT_CHECK(e.has_value(), "--show ", o.show, ": no experiment with that id in ", db.path());
  const Table t = epoch_table(db.measurements(o.show));
  if (!o.csv.empty()) write_output(o.csv, to_csv(t));
  if (!o.json.empty()) {
    std::string s = "{\n  \"id\": " + std::to_string(e->id);
    for (const auto& [k, v] : settings_of(*e)) {
      std::string key, value;
      json::write_string(key, k);
      json::write_string(value, v);
      s += ",\n  " + key + ": " + value;
    }
    s += ",\n  \"config\": " + (e->config_json.empty() ? std::string("null") : e->config_json);
    s += ",\n  \"per_epoch\": " + rows_json(t, "  ") + "\n}\n";
    write_output(o.json, s);
  }
  if (o.csv.empty() && o.json.empty()) {
    std::cout << "experiment " << e->id << "\n";
    for (const auto& [k, v] : settings_of(*e))
      if (!v.empty()) std::cout << "  " << k << ": " << v << "\n";
    std::cout << "\n";
    if (t.rows.empty())
      std::cout << "(no measurements yet)\n";
    else
      print_text(t, std::cout);
  }
  return 0;
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  const Tracker db(o.db, existing_database_options());
  if (o.show) return show(db, o);
  if (o.seeds) return seeds(db, o);
  const std::vector<ExperimentRow> rows = db.experiments(o.filter);
  if (!o.csv.empty()) write_output(o.csv, to_csv(list_table(rows, true)));
  if (!o.json.empty()) {
    Table t = list_table(rows, true);
    write_output(
        o.json, "{\"database\": " +
                    [&] {
                      std::string s;
                      json::write_string(s, o.db);
                      return s;
                    }() +
                    ", \"experiments\": " + rows_json(t, "") + "}\n");
  }
  if (o.csv.empty() && o.json.empty()) {
    if (rows.empty()) {
      std::cout << "no experiments match in " << o.db << "\n";
      return 0;
    }
    const Table t = list_table(rows, false);
    print_text(t, std::cout);
    bool stale = false;
    for (const ExperimentRow& e : rows) stale |= display_status(e) != e.status;
    if (stale)
      std::cout << "\n* its process is gone: the run was killed; resume it with\n"
                   "  difflut-train training.resume=<run_dir> (difflut-query --show ID shows it)\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_guarded(kProgram, [&] { return run(argc, argv); });
}
