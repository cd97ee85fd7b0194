// core._C.pack_linear_weight / linear_packed: inference Linear layers on core Tensors with the weight re-laid once
// into the GEMM's panel layout (core.nn.Linear keeps one per module in eval mode), bias and activation fused into
// the GEMM epilogue. No autograd: core.nn only takes this path under no_grad.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <string>

#include "bindings/registry.h"
#include "kernels/gemm.h"
#include "ops/ops.h"

namespace py = pybind11;

namespace zh {

namespace {

cpu::Epilogue epilogue_named(const std::string& name) {
  if (name == "none") return cpu::Epilogue::None;
  if (name == "relu") return cpu::Epilogue::Relu;
  if (name == "gelu") return cpu::Epilogue::Gelu;
  if (name == "gelu_tanh") return cpu::Epilogue::GeluTanh;
  value_error("linear_packed: epilogue must be one of none, relu, gelu, gelu_tanh; got '", name, "'");
}

void check_float32(const Tensor& t, const char* who, const char* name) {
  if (t.dtype() != DType::Float32)
    type_error(who, ": ", name, " must be float32, got ", dtype_name(t.dtype()), "; convert it with .float()");
}

cpu::PackedWeight pack_linear_weight(const Tensor& w_in) {
  check_float32(w_in, "pack_linear_weight", "weight");
  if (w_in.dim() != 2) value_error("pack_linear_weight: weight must be 2-d [out, in], got ", w_in.dim(), " dims");
  Tensor w = contiguous(detach(w_in));
  py::gil_scoped_release release;
  return cpu::pack_weight(w.data<float>(), w.shape()[0], w.shape()[1], std::max<int64_t>(w.shape()[1], 1));
}

std::optional<cpu::HalfWeight> pack_linear_weight_half(const Tensor& w_in) {
  check_float32(w_in, "pack_linear_weight_half", "weight");
  if (w_in.dim() != 2)
    value_error("pack_linear_weight_half: weight must be 2-d [out, in], got ", w_in.dim(), " dims");
  Tensor w = contiguous(detach(w_in));
  py::gil_scoped_release release;
  return cpu::pack_weight_half(w.data<float>(), w.shape()[0], w.shape()[1], std::max<int64_t>(w.shape()[1], 1),
                               cpu::active_isa());
}

// y = epilogue(x W^T + bias) + residual for a packed weight of either kind (PackedWeight or HalfWeight).
template <class Packed>
Tensor linear_packed_op(const Tensor& x_in, const Packed& w, std::optional<Tensor> bias_in,
                        const std::string& epilogue, std::optional<Tensor> residual_in) {
  check_float32(x_in, "linear_packed", "input");
  if (x_in.dim() == 0 || x_in.shape().back() != w.in_features)
    value_error("linear_packed: input of shape ", shape_str(x_in.shape()), " does not match the packed weight [",
                w.out_features, ", ", w.in_features, "] (last input dim must be ", w.in_features, ")");
  const cpu::Epilogue ep = epilogue_named(epilogue);
  Tensor bias;
  if (bias_in) {
    check_float32(*bias_in, "linear_packed", "bias");
    if (bias_in->dim() != 1 || bias_in->shape()[0] != w.out_features)
      value_error("linear_packed: bias of shape ", shape_str(bias_in->shape()), " does not match ", w.out_features,
                  " output features");
    bias = contiguous(detach(*bias_in));
  }
  Tensor x = contiguous(detach(x_in));
  Shape out_shape = x.shape();
  out_shape.back() = w.out_features;
  Tensor residual;
  if (residual_in) {
    check_float32(*residual_in, "linear_packed", "residual");
    if (residual_in->shape() != out_shape)
      value_error("linear_packed: residual of shape ", shape_str(residual_in->shape()), " does not match the output ",
                  shape_str(out_shape), " (no broadcasting)");
    residual = contiguous(detach(*residual_in));
  }
  Tensor y = empty(out_shape, DType::Float32);
  const int64_t rows = numel_of(Shape(out_shape.begin(), out_shape.end() - 1));
  py::gil_scoped_release release;
  const float* b = bias.defined() ? bias.data<float>() : nullptr;
  const float* r = residual.defined() ? residual.data<float>() : nullptr;
  const int64_t ldx = std::max<int64_t>(w.in_features, 1), ldy = std::max<int64_t>(w.out_features, 1);
  cpu::linear_packed(x.data<float>(), rows, ldx, w, b, ep, y.data<float>(), ldy, r, ldy);
  return y;
}

void bind_packed_linear(py::module_& m) {
  m.def("pack_linear_weight", &pack_linear_weight, py::arg("weight"),
        "Re-lays a float32 Linear weight [out, in] once for linear_packed (a PackedWeight, for the active ISA).");
  py::class_<cpu::HalfWeight>(m, "HalfWeight",
                              "A Linear weight [out, in] whose values are all float16, kept in float16 for one ISA.")
      .def_readonly("out_features", &cpu::HalfWeight::out_features)
      .def_readonly("in_features", &cpu::HalfWeight::in_features)
      .def_property_readonly("isa", [](const cpu::HalfWeight& p) { return cpu::isa_name(p.isa); })
      .def_property_readonly("nbytes", [](const cpu::HalfWeight& p) { return p.npad * p.in_features * 2; });
  m.def("pack_linear_weight_half", &pack_linear_weight_half, py::arg("weight"),
        "The float16 copy of a float32 Linear weight [out, in] for linear_packed, or None when some value is not "
        "exactly a float16 (then the weight needs pack_linear_weight). Same results, half the bytes to read.");
  m.def("linear_packed", &linear_packed_op<cpu::PackedWeight>, py::arg("input"), py::arg("weight"),
        py::arg("bias") = py::none(), py::arg("epilogue") = "none", py::arg("residual") = py::none(),
        "epilogue(input @ W^T + bias) + residual with W packed by pack_linear_weight or pack_linear_weight_half; "
        "epilogue in none, relu, gelu, gelu_tanh; residual of the output's shape or None. No gradient.");
  m.def("linear_packed", &linear_packed_op<cpu::HalfWeight>, py::arg("input"), py::arg("weight"),
        py::arg("bias") = py::none(), py::arg("epilogue") = "none", py::arg("residual") = py::none());
}

const RegisterBindings register_packed_linear(50, bind_packed_linear);

}  // namespace

}  // namespace zh
