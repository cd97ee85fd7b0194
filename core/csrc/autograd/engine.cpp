#include <atomic>
#include <mutex>
#include <unordered_map>

#include "autograd/autograd.h"
#include "ops/ops.h"

namespace zh {

namespace {
thread_local bool grad_enabled = true;
thread_local Node* running = nullptr;  // the node whose backward is being called, for saved_output
std::atomic<int64_t> node_count{0};
// Guards every GradHooks and the TensorImpl::hooks / Node::hooks slots. Held only to read or change them, never
// while a hook runs or a hook's Python object is dropped (that takes the GIL, whose holder may be waiting here).
std::mutex hooks_mutex;

// old += g elementwise, for a .grad that accumulates where it is (no temporary as large as the parameter); bumps
// the storage's version as copy_ does.
template <typename T>
void add_in_place(const Tensor& old, const Tensor& g) {
  T* o = static_cast<T*>(old.data_ptr());
  const T* v = static_cast<const T*>(g.data_ptr());
  for (int64_t i = 0, n = old.numel(); i < n; ++i) o[i] += v[i];
  old.storage()->version.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

Node::Node() { node_count.fetch_add(1, std::memory_order_relaxed); }
Node::~Node() { node_count.fetch_sub(1, std::memory_order_relaxed); }
int64_t live_nodes() { return node_count.load(std::memory_order_relaxed); }

bool GradMode::enabled() { return grad_enabled; }
void GradMode::set_enabled(bool on) { grad_enabled = on; }

Tensor attach(const char* name, Tensor out, const std::vector<Tensor>& inputs, std::initializer_list<Saved> saved,
              BackwardFn backward) {
  if (!grad_enabled) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& t : inputs) {
    bool need = t.defined() && t.requires_grad();
    node->needs.push_back(need);
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
    node->input_dtypes.push_back(t.defined() ? t.dtype() : DType::Float32);
    Edge e;
    if (need) {
      if (t.grad_fn()) e.fn = t.grad_fn();
      else e.leaf = t.impl_ptr();
    }
    node->edges.push_back(e);
  }
  node->saved.reserve(saved.size());
  for (const Saved& s : saved) {
    if (!s.t.defined() || !s.t.storage()) continue;
    bool used = s.for_grads == ~0u;
    for (size_t i = 0; !used && i < inputs.size() && i < 32; ++i) used = (s.for_grads >> i & 1u) && node->needs[i];
    if (!used) continue;
    int slot = s.t.impl() == out.impl() ? SavedVersion::kOutput : SavedVersion::kOther;
    for (size_t i = 0; slot == SavedVersion::kOther && i < inputs.size(); ++i)
      if (inputs[i].impl() == s.t.impl()) slot = static_cast<int>(i);
    node->saved.push_back({s.t.storage(), s.t.storage()->version.load(std::memory_order_relaxed), slot, s.t.dtype(),
                           s.t.shape()});
  }
  node->backward = std::move(backward);
  out.impl()->grad_fn = node;
  out.impl()->requires_grad = true;
  return out;
}

BackwardFn no_backward(const char* name) {
  std::string op = name;
  return [op](const Tensor&, const std::vector<bool>&) -> std::vector<Tensor> {
    throw NotImplementedError("the derivative of '" + op + "' is not implemented");
  };
}

Tensor saved_output(const Tensor& detached_out) {
  if (!grad_enabled || !running || !detached_out.defined()) return detached_out;
  Tensor live = make_view(detached_out, detached_out.shape(), detached_out.strides(), detached_out.offset());
  live.impl()->grad_fn = running->shared_from_this();
  live.impl()->requires_grad = true;
  return live;
}

Tensor second_order_unsupported(const char* op, const Tensor& grad, const std::vector<Tensor>& inputs) {
  if (!grad_enabled || !grad.defined()) return grad;
  std::string name = op;
  // a view, so the caller's tensor is not marked: the node belongs to the returned gradient only
  Tensor g = make_view(grad, grad.shape(), grad.strides(), grad.offset());
  return attach(op, g, inputs, {}, [name](const Tensor&, const std::vector<bool>&) -> std::vector<Tensor> {
    throw NotImplementedError("the second derivative of '" + name +
                              "' is not implemented (backward with create_graph=True)");
  });
}

Tensor placed_gradient(const char* name, const Tensor& placed, const Tensor& g,
                       std::function<Tensor(const Tensor&)> take) {
  return attach(name, placed, {g}, {}, [take = std::move(take)](const Tensor& gg, const std::vector<bool>&) {
    return std::vector<Tensor>{take(gg)};
  });
}

std::pair<std::weak_ptr<GradHooks>, int64_t> register_grad_hook(const Tensor& t, GradHook hook) {
  if (!t.requires_grad())
    throw std::runtime_error(
        "register_hook: cannot register a hook on a tensor that doesn't require gradient; set requires_grad=True "
        "on the leaf, or hook a tensor computed from one");
  std::lock_guard<std::mutex> lock(hooks_mutex);
  std::shared_ptr<GradHooks>& slot = t.grad_fn() ? t.grad_fn()->hooks : t.impl()->hooks;
  if (!slot) slot = std::make_shared<GradHooks>();
  const int64_t id = slot->next_id++;
  slot->fns.emplace_back(id, std::move(hook));
  return {slot, id};
}

void remove_grad_hook(const std::weak_ptr<GradHooks>& where, int64_t id) {
  std::shared_ptr<GradHooks> hooks = where.lock();  // declared before the lock: dropped after it is released
  GradHook removed;
  if (!hooks) return;
  std::lock_guard<std::mutex> lock(hooks_mutex);
  auto& fns = hooks->fns;
  for (auto it = fns.begin(); it != fns.end(); ++it)
    if (it->first == id) {
      removed = std::move(it->second);
      fns.erase(it);
      return;
    }
}

namespace {
// The hook lists that only t reaches (see visit_hooks_only_held_by); called under hooks_mutex. A sole owner is
// the test because any other holder (a second Python object, a graph's edge) may be reachable from elsewhere.
std::vector<GradHooks*> lists_only_held_by(const Tensor& t) {
  std::vector<GradHooks*> lists;
  if (!t.defined() || t.impl_ptr().use_count() != 1) return lists;
  if (t.impl()->hooks) lists.push_back(t.impl()->hooks.get());
  const std::shared_ptr<Node>& fn = t.impl()->grad_fn;
  if (fn && fn.use_count() == 1 && fn->hooks) lists.push_back(fn->hooks.get());
  return lists;
}
}  // namespace

int visit_hooks_only_held_by(const Tensor& t, const std::function<int(const GradHook&)>& visit) {
  std::lock_guard<std::mutex> lock(hooks_mutex);
  for (GradHooks* hooks : lists_only_held_by(t))
    for (const auto& entry : hooks->fns)
      if (int r = visit(entry.second)) return r;
  return 0;
}

std::vector<GradHook> take_hooks_only_held_by(const Tensor& t) {
  std::vector<GradHook> taken;
  std::lock_guard<std::mutex> lock(hooks_mutex);
  for (GradHooks* hooks : lists_only_held_by(t)) {
    for (auto& entry : hooks->fns) taken.push_back(std::move(entry.second));
    hooks->fns.clear();
  }
  return taken;
}

namespace {
// Where t's entry in its node's retains list is (end() when t is not retained there).
std::vector<std::weak_ptr<TensorImpl>>::iterator find_retained(GradHooks& hooks, const TensorImpl* t) {
  auto& r = hooks.retains;
  for (auto it = r.begin(); it != r.end(); ++it)
    if (it->lock().get() == t) return it;
  return r.end();
}
}  // namespace

void retain_grad(const Tensor& t) {
  if (!t.requires_grad())
    throw std::runtime_error("retain_grad: can't retain_grad on a tensor that has requires_grad=False");
  if (t.is_leaf()) return;
  std::lock_guard<std::mutex> lock(hooks_mutex);
  std::shared_ptr<GradHooks>& slot = t.grad_fn()->hooks;
  if (!slot) slot = std::make_shared<GradHooks>();
  if (find_retained(*slot, t.impl()) == slot->retains.end()) slot->retains.push_back(t.impl_ptr());
}

bool retains_grad(const Tensor& t) {
  if (t.is_leaf()) return false;
  std::lock_guard<std::mutex> lock(hooks_mutex);
  const std::shared_ptr<GradHooks>& hooks = t.grad_fn()->hooks;
  return hooks && find_retained(*hooks, t.impl()) != hooks->retains.end();
}

void move_retain_grad(const Tensor& t, const std::shared_ptr<Node>& old) {
  if (!old || old == t.grad_fn()) return;
  {
    std::lock_guard<std::mutex> lock(hooks_mutex);
    if (!old->hooks) return;
    auto it = find_retained(*old->hooks, t.impl());
    if (it == old->hooks->retains.end()) return;
    old->hooks->retains.erase(it);
  }
  if (t.requires_grad()) retain_grad(t);
}

namespace {

// A tensor's hooks and retained non-leaves as they are now, copied under hooks_mutex so that the engine runs them
// without it: a hook may register or remove hooks (its own, through its handle), and so may other threads.
struct HooksNow {
  std::vector<GradHook> fns;
  std::vector<std::weak_ptr<TensorImpl>> retains;
};

HooksNow hooks_now(const std::shared_ptr<GradHooks>& slot) {
  HooksNow now;
  std::lock_guard<std::mutex> lock(hooks_mutex);
  if (!slot) return now;
  now.fns.reserve(slot->fns.size());
  for (const auto& entry : slot->fns) now.fns.push_back(entry.second);
  now.retains = slot->retains;
  return now;
}

bool has_hooks(const std::shared_ptr<GradHooks>& slot) {
  std::lock_guard<std::mutex> lock(hooks_mutex);
  return slot && !slot->fns.empty();
}

// The gradient g of a tensor through its hooks, in registration order; a hook that returns a tensor replaces g
// for the hooks after it.
Tensor run_hooks(const std::vector<GradHook>& fns, Tensor g) {
  for (const GradHook& fn : fns) {
    Tensor r = fn(g);
    if (!r.defined()) continue;
    if (r.shape() != g.shape())
      value_error("register_hook: a hook returned a gradient of shape ", shape_str(r.shape()),
                  " for a tensor of shape ", shape_str(g.shape()), "; return one of the same shape, or None");
    if (r.dtype() != g.dtype())
      type_error("register_hook: a hook returned a ", dtype_name(r.dtype()), " gradient for a ", dtype_name(g.dtype()),
                 " tensor; return one of the gradient's dtype, or None");
    g = std::move(r);
  }
  return g;
}

// PyTorch's refusal: the backward would read values an in-place write changed after the forward saved them.
void check_saved_versions(const Node& n) {
  for (const SavedVersion& s : n.saved) {
    std::shared_ptr<Storage> st = s.storage.lock();
    if (!st) continue;
    const uint64_t now = st->version.load(std::memory_order_relaxed);
    if (now == s.version) continue;
    std::string what = s.slot == SavedVersion::kOutput ? "the output of " + n.name
                       : s.slot >= 0 ? "input " + std::to_string(s.slot) + " of " + n.name
                                     : "a tensor that " + n.name + " reads";
    throw std::runtime_error(
        "one of the variables needed for gradient computation has been modified by an inplace operation: [" +
        std::string(dtype_name(s.dtype)) + " " + torch_shape_str(s.shape) + "] is at version " + std::to_string(now) +
        "; expected version " + std::to_string(s.version) + " instead (" + what +
        ", saved for its backward). Hint: write to a clone() of it, or make the write before the forward pass.");
  }
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph, bool create_graph) {
  run_backward({root}, {grad}, retain_graph, create_graph, nullptr, false, "backward");
}

std::vector<Tensor> run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                                 bool retain_graph, bool create_graph, const std::vector<Tensor>* inputs,
                                 bool accumulate, const char* api) {
  if (grads.size() != roots.size())
    value_error(api, ": got ", grads.size(), " gradients for ", roots.size(), " outputs");
  std::vector<Tensor> seeds(roots.size());
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    if (!root.requires_grad())
      throw std::runtime_error("element " + std::to_string(r) +
                               " of tensors does not require grad and does not have a grad_fn");
    Tensor g = grads[r];
    if (!g.defined()) {
      if (root.numel() != 1)
        throw std::runtime_error("grad can be implicitly created only for scalar outputs; pass a gradient of shape " +
                                 shape_str(root.shape()));
      g = ones_like(root);
    } else if (g.shape() != root.shape()) {
      if (roots.size() == 1 && !inputs)  // backward()'s own wording
        value_error("backward: gradient of shape ", shape_str(g.shape()), " does not match the output's shape ",
                    shape_str(root.shape()));
      value_error(api, ": the gradient of output ", r, " has shape ", shape_str(g.shape()),
                  " but the output has shape ", shape_str(root.shape()));
    }
    seeds[r] = std::move(g);
  }

  // What to capture: a leaf input at its leaf edges, a non-leaf input as the gradient arriving at its grad_fn
  // (every node has one output, so that is the tensor's gradient, summed over its consumers).
  const bool capture = inputs != nullptr;
  std::vector<Tensor> targets;   // one per distinct leaf impl / node
  std::vector<Tensor> captured;  // their gradients
  std::vector<size_t> input_slot;
  std::unordered_map<TensorImpl*, size_t> leaf_slot;
  std::unordered_map<Node*, size_t> node_slot;
  if (capture) {
    for (const Tensor& t : *inputs) {
      if (!t.requires_grad()) throw std::runtime_error("One of the differentiated Tensors does not require grad");
      const size_t fresh = targets.size();
      const size_t slot = t.grad_fn() ? node_slot.emplace(t.grad_fn().get(), fresh).first->second
                                      : leaf_slot.emplace(t.impl(), fresh).first->second;
      if (slot == fresh) targets.push_back(t);
      input_slot.push_back(slot);
    }
    captured.resize(targets.size());
  }
  // no in-place adds anywhere: a captured gradient may be the very tensor a backward returned
  auto add_into = [](Tensor& slot, const Tensor& g) { slot = slot.defined() ? add(slot, g) : g; };
  // .grad accumulates in place (an earlier reference to it sees the sum, as in PyTorch) unless the backward is
  // itself recorded (create_graph) or the stored gradient is in the graph or not a plain contiguous tensor.
  auto add_to_grad = [create_graph](const Tensor& t, const Tensor& g) {
    Tensor gl = to_dtype(g, t.dtype());
    const Tensor& old = t.grad();
    if (!old.defined()) {
      t.impl()->grad = clone(gl);
    } else if (!create_graph && !old.requires_grad() && old.is_contiguous() && old.shape() == t.shape() &&
               old.dtype() == t.dtype()) {
      const bool dense = gl.is_contiguous() && gl.shape() == old.shape();
      if (dense && old.dtype() == DType::Float32) {
        add_in_place<float>(old, gl);
      } else if (dense && old.dtype() == DType::Float64) {
        add_in_place<double>(old, gl);
      } else {
        copy_(old, add(old, gl));
      }
    } else {
      t.impl()->grad = add(old, gl);
    }
  };

  // A leaf with hooks gets its whole gradient of this backward at once, after the nodes ran, so its hooks are
  // called once, as PyTorch's; other leaves add each gradient to .grad as it comes.
  std::unordered_map<TensorImpl*, Tensor> hooked_sum;
  std::vector<std::shared_ptr<TensorImpl>> hooked_leaves;
  auto to_leaf = [&](const std::shared_ptr<TensorImpl>& leaf, const Tensor& g) {
    if (!has_hooks(leaf->hooks)) return add_to_grad(Tensor(leaf), g);
    auto [it, fresh] = hooked_sum.emplace(leaf.get(), Tensor());
    if (fresh) hooked_leaves.push_back(leaf);
    add_into(it->second, to_dtype(g, leaf->dtype));
  };

  NoGradGuard guard(create_graph);
  std::unordered_map<Node*, Tensor> pending;
  std::vector<Node*> root_nodes;
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    if (root.grad_fn()) {
      Node* n = root.grad_fn().get();
      auto it = pending.find(n);
      if (it == pending.end()) {
        pending[n] = seeds[r];
        root_nodes.push_back(n);
      } else {
        it->second = add(it->second, seeds[r]);
      }
    } else if (!capture) {  // a leaf: the gradient is the seed itself
      to_leaf(root.impl_ptr(), seeds[r]);
    } else if (auto it = leaf_slot.find(root.impl()); it != leaf_slot.end()) {
      add_into(captured[it->second], to_dtype(seeds[r], root.dtype()));
    }
  }

  // Dependency counts over the nodes reachable from the roots (a root may also feed another), then Kahn's order.
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack;
  for (Node* n : root_nodes)
    if (deps.emplace(n, 0).second) stack.push_back(n);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->edges) {
      if (!e.fn) continue;
      auto it = deps.find(e.fn.get());
      if (it == deps.end()) {
        deps[e.fn.get()] = 1;
        stack.push_back(e.fn.get());
      } else {
        ++it->second;
      }
    }
  }

  // When capturing, a node runs only if an input lies below it: children come before parents in the reversed
  // topological order, so one pass marks them. The rest (and the nodes under a non-leaf input) are not run,
  // so neither freed nor version-checked, as in PyTorch.
  std::unordered_map<Node*, bool> leads_to_input;
  if (capture) {
    std::unordered_map<Node*, int> left = deps;
    std::vector<Node*> order, todo;
    for (Node* n : root_nodes)
      if (left[n] == 0) todo.push_back(n);
    while (!todo.empty()) {
      Node* n = todo.back();
      todo.pop_back();
      order.push_back(n);
      for (const Edge& e : n->edges)
        if (e.fn && --left[e.fn.get()] == 0) todo.push_back(e.fn.get());
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      bool below = false;
      for (const Edge& e : (*it)->edges)
        below = below || (e.leaf && leaf_slot.count(e.leaf.get())) ||
                (e.fn && (node_slot.count(e.fn.get()) || leads_to_input[e.fn.get()]));
      leads_to_input[*it] = below;
    }
  }

  std::vector<Node*> ready;
  for (Node* n : root_nodes)
    if (deps[n] == 0) ready.push_back(n);
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    Tensor gout = std::move(pending[n]);
    pending.erase(n);
    // the hooks of the tensor n made see its gradient before anything uses it (captured or n's backward)
    if (gout.defined() && (!capture || node_slot.count(n) || leads_to_input[n])) {
      const HooksNow hooks = hooks_now(n->hooks);
      gout = run_hooks(hooks.fns, std::move(gout));
      for (const auto& kept : hooks.retains)
        if (std::shared_ptr<TensorImpl> t = kept.lock()) add_to_grad(Tensor(t), gout);
    }
    if (capture && gout.defined())
      if (auto it = node_slot.find(n); it != node_slot.end()) add_into(captured[it->second], gout);
    if (!gout.defined() || (capture && !leads_to_input[n])) {  // nothing to do here: just unlock what it feeds
      for (const Edge& e : n->edges)
        if (e.fn && --deps[e.fn.get()] == 0) ready.push_back(e.fn.get());
      continue;
    }
    if (n->released)
      throw std::runtime_error("Trying to backward through the graph a second time (op '" + n->name +
                               "'); pass retain_graph=True to the first backward if you need to");
    check_saved_versions(*n);
    std::vector<Tensor> grads_in;
    {
      // restored even when the backward throws; a backward never starts another run_backward, but be exact
      struct Running {
        Node* prev;
        explicit Running(Node* n) : prev(running) { running = n; }
        ~Running() { running = prev; }
      } on(n);
      grads_in = n->backward(gout, n->needs);
    }
    if (!retain_graph) {
      n->backward = nullptr;
      n->saved.clear();
      n->released = true;
    }
    for (size_t i = 0; i < n->edges.size(); ++i) {
      const Edge& e = n->edges[i];
      if (!n->needs[i]) continue;
      Tensor gi = i < grads_in.size() ? grads_in[i] : Tensor();
      if (gi.defined() && gi.shape() != n->input_shapes[i])
        throw std::logic_error("internal: backward of '" + n->name + "' gave a gradient of shape " +
                               shape_str(gi.shape()) + " for an input of shape " + shape_str(n->input_shapes[i]));
      if (e.fn) {
        Node* next = e.fn.get();
        if (gi.defined()) {
          auto it = pending.find(next);
          if (it == pending.end() || !it->second.defined()) pending[next] = gi;
          else it->second = add(it->second, gi);
        }
        if (--deps[next] == 0) ready.push_back(next);
      } else if (e.leaf && gi.defined()) {
        if (!capture) {
          to_leaf(e.leaf, gi);
        } else if (auto it = leaf_slot.find(e.leaf.get()); it != leaf_slot.end()) {
          add_into(captured[it->second], to_dtype(gi, e.leaf->dtype));
        }
      }
    }
  }

  for (const auto& leaf : hooked_leaves)
    add_to_grad(Tensor(leaf), run_hooks(hooks_now(leaf->hooks).fns, hooked_sum[leaf.get()]));
  std::vector<Tensor> out;
  if (!capture) return out;
  for (size_t k = 0; k < targets.size(); ++k)  // a non-leaf input's hooks ran at its node
    if (captured[k].defined() && targets[k].is_leaf())
      captured[k] = run_hooks(hooks_now(targets[k].impl()->hooks).fns, captured[k]);
  if (accumulate)
    for (size_t k = 0; k < targets.size(); ++k)
      if (captured[k].defined()) add_to_grad(targets[k], captured[k]);
  out.reserve(input_slot.size());
  for (size_t k : input_slot) out.push_back(captured[k]);
  return out;
}

}  // namespace zh
