// Run facts for the tracking database (see tracking_info.h).
#include "common/tracking/tracking_info.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#include "autograd/io/mini_json.h"
#include "common/tracking/json_number.h"

namespace difflut::app {
namespace {

void append_json(std::string& out, const ConfigNode& n) {
  switch (n.kind()) {
    case ConfigNode::Kind::kNull: out += "null"; return;
    case ConfigNode::Kind::kBool: out += n.as_bool() ? "true" : "false"; return;
    case ConfigNode::Kind::kInt: out += std::to_string(n.as_int()); return;
    case ConfigNode::Kind::kDouble: {
      const std::string text = json_number(n.as_double());
      out += text;
      // Keep a number that was a double recognisable as one (1.0 rather than 1).
      if (text != "null" && text.find_first_of(".eE") == std::string::npos) out += ".0";
      return;
    }
    case ConfigNode::Kind::kString: json::write_string(out, n.as_string()); return;
    case ConfigNode::Kind::kList: {
      out += '[';
      bool first = true;
      for (const ConfigNode& item : n.items()) {
        if (!first) out += ',';
        first = false;
        append_json(out, item);
      }
      out += ']';
      return;
    }
    case ConfigNode::Kind::kMap: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : n.entries()) {
        if (!first) out += ',';
        first = false;
        json::write_string(out, key);
        out += ':';
        append_json(out, value);
      }
      out += '}';
      return;
    }
  }
}

std::string string_at(const Config& c, std::string_view key) {
  const ConfigNode* n = c.find(key);
  if (!n || !n->is_scalar() || n->is_null()) return "";
  return n->kind() == ConfigNode::Kind::kString ? n->as_string() : n->to_flow();
}

std::optional<int64_t> int_at(const Config& c, std::string_view key) {
  const ConfigNode* n = c.find(key);
  if (!n || n->kind() != ConfigNode::Kind::kInt) return std::nullopt;
  return n->as_int();
}

std::optional<double> double_at(const Config& c, std::string_view key) {
  const ConfigNode* n = c.find(key);
  if (!n || (n->kind() != ConfigNode::Kind::kInt && n->kind() != ConfigNode::Kind::kDouble))
    return std::nullopt;
  return n->as_double();
}

// Output of a shell command (stdout only, trailing whitespace cut) and whether it exited 0.
bool capture(const std::string& command, std::string& out) {
  out.clear();
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return false;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\r'))
    out.pop_back();
  return status == 0;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

}  // namespace

std::string config_to_json(const ConfigNode& node) {
  std::string out;
  append_json(out, node);
  return out;
}

ExperimentStart ExperimentStart::from_config(const Config& c) {
  ExperimentStart s;
  s.name = string_at(c, "experiment_name");
  s.config_json = config_to_json(c.root());
  s.model_name = string_at(c, "model.name");
  s.node_type = string_at(c, "model.params.node_type");
  s.layer_type = string_at(c, "model.params.layer_type");
  s.n = int_at(c, "model.params.num_inputs");
  if (const ConfigNode* h = c.find("model.params.hidden_sizes"); h && h->is_list()) {
    int64_t total = 0;
    bool ints = true;
    for (const ConfigNode& item : h->items()) {
      if (item.kind() != ConfigNode::Kind::kInt) {
        ints = false;
        break;
      }
      total += item.as_int();
    }
    s.num_layers = static_cast<int64_t>(h->items().size());
    if (ints && !h->items().empty()) {
      s.hidden_size = h->items().front().as_int();
      s.lut_count = total;  // every LUT layer's nodes: the hardware cost the sweep plot uses
    }
  }
  s.dataset_name = string_at(c, "dataloaders.name");
  s.batch_size = int_at(c, "training.batch_size");
  s.epochs = int_at(c, "training.epochs");
  s.learning_rate = double_at(c, "training.lr");
  s.optimizer = string_at(c, "training.optimizer");
  s.encoder_name = string_at(c, "model.params.encoder.name");
  if (const ConfigNode* e = c.find("model.params.encoder"); e && e->is_map())
    s.encoder_params_json = config_to_json(*e);
  s.device = string_at(c, "device");
  s.hostname = current_hostname();
  s.pid = static_cast<int64_t>(::getpid());
  s.slurm_job_id = current_slurm_job();
  return s;
}

std::string current_git_commit(const std::optional<std::string>& dir) {
  std::vector<std::string> candidates;
  if (dir) {
    candidates.push_back(*dir);
  } else {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(exe.parent_path().string());
    candidates.push_back(std::filesystem::current_path(ec).string());
  }
  for (const std::string& d : candidates) {
    const std::string git = "git -C " + shell_quote(d);
    std::string head;
    if (!capture(git + " rev-parse HEAD 2>/dev/null", head) || head.size() < 7) continue;
    std::string ignored;
    const bool clean = capture(git + " diff --quiet HEAD -- 2>/dev/null", ignored);
    return clean ? head : head + "-dirty";
  }
  return "";
}

std::string current_slurm_job() {
  const char* array_job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
  if (array_job && *array_job && task && *task) return std::string(array_job) + "_" + task;
  const char* job = std::getenv("SLURM_JOB_ID");
  return job ? job : "";
}

std::string current_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  std::string h = buf;
  return h.substr(0, h.find('.'));
}

std::string config_hash(const std::string& config_json) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : config_json) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace difflut::app
