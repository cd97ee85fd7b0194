// Reverse-mode autograd: each op that produced a tensor from inputs needing gradients leaves a Node whose
// backward closure (written beside the op's forward) maps the output gradient to its inputs' gradients.
#pragma once
#include <functional>
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

struct Node {
  std::string name;
  std::vector<Edge> edges;
  std::vector<bool> needs;
  std::vector<Shape> input_shapes;
  std::vector<DType> input_dtypes;
  BackwardFn backward;
  bool released = false;
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

// Records `name` as the producer of `out` when grad mode is on and some input requires grad.
Tensor attach(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward);
// The backward of a differentiable op we have not written yet: raises NotImplementedError naming it.
BackwardFn no_backward(const char* name);

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph, bool create_graph);

}  // namespace zh
