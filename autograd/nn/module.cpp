// Module tree bookkeeping: registration, dotted names, modes, device moves, flattening.
#include "autograd/nn/module.h"

#include <algorithm>

namespace difflut {

Var Module::forward(Graph&, Var) {
  DIFFLUT_FAIL(type_name(), ": forward(Graph&, Var) is not implemented for this module");
}

void Module::check_new_name(const std::string& name) const {
  DIFFLUT_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name(),
                ": expected a non-empty name without '.', found '", name, "'");
  for (const auto& [n, p] : params_)
    DIFFLUT_CHECK(n != name, type_name(), ": a parameter named '", name, "' is already registered");
  for (const auto& [n, c] : children_)
    DIFFLUT_CHECK(n != name, type_name(), ": a child module named '", name,
                  "' is already registered");
}

Parameter& Module::register_parameter(const std::string& name, Tensor init, bool requires_grad) {
  check_new_name(name);
  DIFFLUT_CHECK(init.defined(), type_name(), ": parameter '", name, "' has an undefined value");
  auto p = std::make_unique<Parameter>();
  p->name = name;
  p->value = std::move(init);
  p->requires_grad = requires_grad;
  params_.emplace_back(name, std::move(p));
  return *params_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name);
  DIFFLUT_CHECK(child != nullptr, type_name(), ": child module '", name, "' is null");
  DIFFLUT_CHECK(child.get() != this, type_name(), ": cannot register a module as its own child");
  child->rename_parameters(name + ".");
  children_.emplace_back(name, std::move(child));
}

void Module::rename_parameters(const std::string& prefix) {
  for (auto& [n, p] : params_) p->name = prefix + n;
  for (auto& [n, c] : children_) c->rename_parameters(prefix + n + ".");
}

void Module::collect(const std::string& prefix,
                     std::vector<std::pair<std::string, Parameter*>>& out,
                     std::vector<const Module*>& visited) {
  if (std::find(visited.begin(), visited.end(), this) != visited.end()) return;
  visited.push_back(this);
  for (auto& [n, p] : params_) out.emplace_back(prefix + n, p.get());
  for (auto& [n, c] : children_) c->collect(prefix + n + ".", out, visited);
}

std::vector<std::pair<std::string, Parameter*>> Module::named_parameters() {
  std::vector<std::pair<std::string, Parameter*>> out;
  std::vector<const Module*> visited;
  collect("", out, visited);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  std::vector<std::pair<std::string, Module*>> todo{{"", this}};
  while (!todo.empty()) {
    auto [path, m] = todo.back();
    todo.pop_back();
    const bool seen =
        std::any_of(out.begin(), out.end(), [&](const auto& e) { return e.second == m; });
    if (seen) continue;
    out.emplace_back(path, m);
    // Pushed in reverse so the first child is visited next (depth first, registration order).
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      todo.emplace_back(path.empty() ? it->first : path + "." + it->first, it->second.get());
  }
  return out;
}

void Module::check_extra_state(const NamedTensors& state) const {
  DIFFLUT_CHECK(state.empty(), type_name(), ": expected no extra state, found ", state.size(),
                " entries (the first '", state.empty() ? std::string() : state.front().first, "')");
}

std::vector<Parameter*> Module::parameters() {
  std::vector<Parameter*> out;
  for (auto& [n, p] : named_parameters()) out.push_back(p);
  return out;
}

Parameter& Module::parameter(const std::string& dotted_name) {
  const size_t dot = dotted_name.find('.');
  const std::string head = dotted_name.substr(0, dot);
  if (dot == std::string::npos) {
    for (auto& [n, p] : params_)
      if (n == head) return *p;
  } else {
    for (auto& [n, c] : children_)
      if (n == head) return c->parameter(dotted_name.substr(dot + 1));
  }
  DIFFLUT_FAIL(type_name(), ": no parameter named '", dotted_name, "'");
}

int64_t Module::num_parameters() {
  int64_t n = 0;
  for (Parameter* p : parameters()) n += p->value.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  on_train_mode_changed();
  for (auto& [n, c] : children_) c->train(on);
}

Module& Module::to(Device device) {
  const std::vector<std::pair<std::string, Module*>> modules = named_modules();
  for (const auto& [path, m] : modules) m->check_device_change(device);
  if (buffer_) {
    buffer_->ensure_bound();
    buffer_->to(device);
    // Parameters registered after flattening are not in the buffer yet: flatten() picks them up.
    flatten();
  } else {
    for (Parameter* p : parameters()) {
      p->value = p->value.to(device);
      if (p->grad.defined()) p->grad = p->grad.to(device);
    }
  }
  for (const auto& [path, m] : modules) m->on_device_changed(device);
  return *this;
}

void Module::zero_grad() {
  std::vector<Parameter*> params = parameters();
  if (buffer_) {
    buffer_->ensure_bound();
    buffer_->zero_grad();
    if (params == buffer_->params()) return;  // the common case: everything is in the buffer
  }
  for (Parameter* p : params) {
    // Parameters outside the buffer (added after flattening, or never flattened).
    if (buffer_ && buffer_->is_bound(*p)) continue;
    if (p->grad.defined()) p->grad.zero_();
    if (p->custom_zero_grad) p->custom_zero_grad(*p);
  }
}

void Module::drop_child_buffers() {
  for (auto& [n, c] : children_) {
    c->buffer_.reset();
    c->drop_child_buffers();
  }
}

const std::shared_ptr<ParameterBuffer>& Module::flatten() {
  rename_parameters("");
  std::vector<Parameter*> params = parameters();
  if (!buffer_) {
    drop_child_buffers();
    buffer_ = std::make_shared<ParameterBuffer>(std::move(params));
    return buffer_;
  }
  // Re-pack only when something changed: a new parameter, or one re-assigned since.
  if (params != buffer_->params()) {
    buffer_->pack(std::move(params));
  } else {
    buffer_->ensure_bound();
  }
  return buffer_;
}

// ------------------------------------------------------------------------------------------------
Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

Module& Sequential::operator[](size_t i) const {
  DIFFLUT_CHECK(i < children().size(), "Sequential: index ", i, " out of range (size ",
                children().size(), ")");
  return *children()[i].second;
}

Var Sequential::forward(Graph& g, Var x) {
  for (auto& [n, c] : children()) x = c->forward(g, x);
  return x;
}

}  // namespace difflut
