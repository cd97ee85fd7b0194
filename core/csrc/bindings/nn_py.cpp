// Bindings of the nn ops (ops/ops_nn.h), GIL released. Python-side defaults and int-or-tuple arguments are
// parsed in core/_nn_ops.py; this layer takes them explicit.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/registry.h"
#include "ops/ops_nn.h"

namespace py = pybind11;

namespace zh {

namespace {

Tensor opt(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }

ConvArgs conv_args(std::vector<int64_t> stride, std::vector<int64_t> padding, bool same, std::vector<int64_t> dilation,
                   int64_t groups) {
  ConvArgs a;
  a.stride = std::move(stride);
  a.padding = std::move(padding);
  a.same = same;
  a.dilation = std::move(dilation);
  a.groups = groups;
  return a;
}

PoolArgs pool_args(std::vector<int64_t> kernel, std::vector<int64_t> stride, std::vector<int64_t> padding,
                   std::vector<int64_t> dilation, bool ceil_mode) {
  PoolArgs a;
  a.kernel = std::move(kernel);
  a.stride = std::move(stride);
  a.padding = std::move(padding);
  a.dilation = std::move(dilation);
  a.ceil_mode = ceil_mode;
  return a;
}

void bind_nn(py::module_& m) {
  const auto rel = py::call_guard<py::gil_scoped_release>();
  m.def("softmax", &softmax, py::arg("input"), py::arg("dim"), rel);
  m.def("log_softmax", &log_softmax, py::arg("input"), py::arg("dim"), rel);
  m.def(
      "layer_norm",
      [](const Tensor& x, const Shape& ns, std::optional<Tensor> w, std::optional<Tensor> b, double eps) {
        return layer_norm(x, ns, opt(w), opt(b), eps);
      },
      rel);
  m.def(
      "cross_entropy",
      [](const Tensor& x, const Tensor& t, std::optional<Tensor> w, int64_t ignore, const std::string& red,
         double smoothing) {
        return cross_entropy(x, t, opt(w), ignore, parse_reduction(red, "cross_entropy"), smoothing);
      },
      rel);
  m.def(
      "mse_loss",
      [](const Tensor& x, const Tensor& t, const std::string& red) {
        return mse_loss(x, t, parse_reduction(red, "mse_loss"));
      },
      rel);
  m.def(
      "conv2d",
      [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, std::vector<int64_t> stride,
         std::vector<int64_t> padding, bool same, std::vector<int64_t> dilation, int64_t groups) {
        return conv2d(x, w, opt(b), conv_args(stride, padding, same, dilation, groups));
      },
      rel);
  m.def(
      "conv1d",
      [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, std::vector<int64_t> stride,
         std::vector<int64_t> padding, bool same, std::vector<int64_t> dilation, int64_t groups) {
        return conv1d(x, w, opt(b), conv_args(stride, padding, same, dilation, groups));
      },
      rel);
  m.def(
      "max_pool2d",
      [](const Tensor& x, std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> p,
         std::vector<int64_t> d, bool ceil_mode) { return max_pool2d(x, pool_args(k, s, p, d, ceil_mode)); },
      rel);
  m.def(
      "avg_pool2d",
      [](const Tensor& x, std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> p, bool ceil_mode,
         bool count_include_pad, std::optional<int64_t> divisor) {
        return avg_pool2d(x, pool_args(k, s, p, {}, ceil_mode), count_include_pad, divisor);
      },
      rel);
  m.def(
      "scaled_dot_product_attention",
      [](const Tensor& q, const Tensor& k, const Tensor& v, std::optional<Tensor> mask, double dropout_p,
         bool is_causal, std::optional<double> scale) {
        return scaled_dot_product_attention(q, k, v, opt(mask), dropout_p, is_causal, scale);
      },
      rel);
  m.def("embedding", &embedding, rel);
  m.def("dropout", &dropout, rel);
  m.def("pad", &pad, rel);
  m.def("one_hot", &one_hot, rel);
}

}  // namespace

static RegisterBindings register_nn(2, &bind_nn);

}  // namespace zh
