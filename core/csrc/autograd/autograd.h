// Reverse-mode autograd: each op that produced a tensor from inputs needing gradients leaves a Node whose
// backward closure (written beside the op's forward) maps the output gradient to its inputs' gradients.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace zh {

// grads[i] for input i; an input whose needs[i] is false may get an undefined Tensor.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad, const std::vector<bool>& needs)>;

struct Edge {
  std::shared_ptr<Node> fn;          // the node that produced the input, or
  std::shared_ptr<TensorImpl> leaf;  // the leaf whose .grad accumulates
};

// Tensor.register_hook: called with the gradient flowing into a tensor, returns its replacement, or an undefined
// Tensor to leave it as it is.
using GradHook = std::function<Tensor(const Tensor& grad)>;

// One tensor's gradient hooks. A leaf keeps them on its TensorImpl and they see its whole gradient of the backward
// before it is added to .grad; a non-leaf keeps them on its grad_fn, whose single output is the tensor, so they see
// the gradient summed over its consumers before the node's backward runs (PyTorch's tensor pre-hooks). One mutex
// in engine.cpp guards every GradHooks and the `hooks` slots holding them: a backward reads them with the GIL
// released while Python threads register and remove hooks.
struct GradHooks {
  std::vector<std::pair<int64_t, GradHook>> fns;  // (id, hook), run in registration order
  int64_t next_id = 0;
  // retain_grad: the non-leaves made by this node whose .grad takes the gradient after every hook; weak, as each
  // tensor holds the node
  std::vector<std::weak_ptr<TensorImpl>> retains;
};

// A tensor whose values a node's backward reads, as an op names it to attach. An in-place write to it between
// the forward and the backward would change the gradient, so the node records its storage's version.
// `for_grads` (bit i: the gradient of input i reads it; 0: none does) leaves it out when none of those inputs
// requires grad, as PyTorch saves mul's other operand only for the operand that requires grad.
struct Saved {
  const Tensor& t;  // only read inside attach: the closure keeps what it needs
  uint32_t for_grads;
  Saved(const Tensor& tensor, uint32_t grads = ~0u) : t(tensor), for_grads(grads) {}
};
constexpr uint32_t grad_of(int input) { return 1u << input; }

// The record of one Saved: run_backward compares the storage's version before the backward reads it.
struct SavedVersion {
  static constexpr int kOutput = -1, kOther = -2;
  std::weak_ptr<Storage> storage;  // weak: a storage nobody holds any more cannot feed the backward
  uint64_t version;
  int slot;  // the input's index, kOutput, or kOther (an index tensor, a mask)
  DType dtype;
  Shape shape;
};

// enable_shared_from_this: under create_graph a backward rebuilds its op's output with this node as grad_fn
// (saved_output), and the engine only holds raw pointers while it runs.
struct Node : std::enable_shared_from_this<Node> {
  Node();
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  std::string name;
  std::vector<Edge> edges;
  std::vector<bool> needs;
  std::vector<Shape> input_shapes;
  std::vector<DType> input_dtypes;
  std::vector<SavedVersion> saved;
  BackwardFn backward;
  bool released = false;
  std::shared_ptr<GradHooks> hooks;  // those of the tensor this node made; null when it has none
};

struct GradMode {
  static bool enabled();
  static void set_enabled(bool on);
};

struct NoGradGuard {
  bool prev;
  explicit NoGradGuard(bool enable = false) : prev(GradMode::enabled()) { GradMode::set_enabled(enable); }
  ~NoGradGuard() { GradMode::set_enabled(prev); }
};

// Records `name` as the producer of `out` when grad mode is on and some input requires grad. `saved` names
// exactly the tensors (inputs, `out`, others) whose values `backward` reads; {} when it reads none (add, views).
Tensor attach(const char* name, Tensor out, const std::vector<Tensor>& inputs, std::initializer_list<Saved> saved,
              BackwardFn backward);
// The backward of a differentiable op we have not written yet: raises NotImplementedError naming it.
BackwardFn no_backward(const char* name);

// Inside a backward: the op's own output, given as the detached copy its closure keeps. Under create_graph it
// comes back as a view of those values whose grad_fn is the running node, so what the backward computes from it
// is differentiable through this op again (as PyTorch unpacks a saved output). The closure never holds the
// output itself: out -> grad_fn -> closure -> out would be a shared_ptr cycle, a leak of every graph.
Tensor saved_output(const Tensor& detached_out);
// Inside a backward: a gradient computed by a kernel or loop that autograd cannot see through. Under create_graph
// it gets a node whose backward raises NotImplementedError naming `op`, so differentiating it again fails at
// the second backward instead of treating it as a constant; its values are unchanged. Plain mode: grad itself.
Tensor second_order_unsupported(const char* op, const Tensor& grad, const std::vector<Tensor>& inputs);
// Inside a backward: `placed`, the gradient g written into zeros of the input's shape by a copy autograd does not
// record (slice, select, index_select), made differentiable in g. Placing is linear in g, so the node's backward
// is `take`: the same region taken out of its incoming gradient again. Plain mode: placed itself.
Tensor placed_gradient(const char* name, const Tensor& placed, const Tensor& g,
                       std::function<Tensor(const Tensor&)> take);

// Tensor.register_hook: adds hook to t's hooks (its grad_fn's when t is not a leaf) and returns where it went and
// its id, for remove_grad_hook. A tensor that does not require grad refuses.
std::pair<std::weak_ptr<GradHooks>, int64_t> register_grad_hook(const Tensor& t, GradHook hook);
// Takes hook `id` out again; nothing happens when it or its tensor is gone.
void remove_grad_hook(const std::weak_ptr<GradHooks>& where, int64_t id);
// For Python's cyclic collector (bindings/tensor_py.cpp), which sees a hook's closure only through a Python object
// holding t: calls visit on each hook of the lists that only t reaches (its TensorImpl's when t alone holds the
// TensorImpl, and its grad_fn's when that TensorImpl alone holds the node too), under the lock of the hook lists,
// and returns the first nonzero result. visit must not register or remove hooks.
int visit_hooks_only_held_by(const Tensor& t, const std::function<int(const GradHook&)>& visit);
// Takes the hooks visit_hooks_only_held_by shows out of their lists, for the collector to break a cycle through
// them; the caller drops them after the lock is released.
std::vector<GradHook> take_hooks_only_held_by(const Tensor& t);
// Tensor.retain_grad: a non-leaf keeps its gradient in .grad from now on (a leaf does anyway).
void retain_grad(const Tensor& t);
bool retains_grad(const Tensor& t);
// An in-place write made `t` the output of a new node: retain_grad follows it there, its hooks stay with `old`
// (they see the gradient of the value they were registered on), as in PyTorch.
void move_retain_grad(const Tensor& t, const std::shared_ptr<Node>& old);

// Nodes alive in this process: the leak tests check that a freed graph gives them all back.
int64_t live_nodes();

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph, bool create_graph);

// The engine behind backward() and autograd.grad(): differentiates the sum over i of roots[i] weighted by
// grads[i] (undefined: ones, for a one-element root). With `inputs` null it adds into every reached leaf's .grad
// (backward). Otherwise it returns the gradient of each input (undefined where nothing reached it), leaf or not,
// and runs only the nodes that lie between the roots and the inputs; `accumulate` then adds those gradients into
// the inputs' .grad (backward(inputs=...)), and without it no .grad anywhere changes (autograd.grad). `api` names
// the caller in the shape-mismatch message.
std::vector<Tensor> run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                                 bool retain_graph, bool create_graph, const std::vector<Tensor>* inputs,
                                 bool accumulate, const char* api);

}  // namespace zh
