// Bindings of the shape ops (ops/ops_shape.h); PyTorch-style signatures are parsed in core/_shape_ops.py.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/registry.h"
#include "ops/ops_shape.h"

namespace py = pybind11;

namespace zh {

namespace {

void bind_shape_ops(py::module_& m) {
  const auto rel = py::call_guard<py::gil_scoped_release>();
  m.def("cat", &cat, rel);
  m.def("stack", &stack, rel);
  m.def("split", &split, rel);
  m.def("split_with_sizes", &split_with_sizes, rel);
  m.def("chunk", &chunk, rel);
  m.def("flip", &flip, rel);
  m.def("repeat", &repeat, rel);
  m.def("tril", &tril, rel);
  m.def("triu", &triu, rel);
  m.def("gather", &gather, rel);
  m.def("scatter", &scatter, rel);
  m.def("scatter_value", &scatter_value, rel);
  m.def("scatter_add", &scatter_add, rel);
  m.def("sort", &sort, rel);
  m.def("argsort", &argsort, rel);
  m.def("topk", &topk, rel);
  m.def("cumsum", &cumsum, rel);
  m.def("cumprod", &cumprod, rel);
  m.def("var", &var, rel);
  m.def("std", &std_dev, rel);
  m.def("logsumexp", &logsumexp, rel);
}

const RegisterBindings register_shape(10, &bind_shape_ops);

}  // namespace

}  // namespace zh
