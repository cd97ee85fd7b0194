// The one extension module, core._C. Each area binds itself; this file only wires them.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace zh {
void bind_tensor(py::module_& m);
void bind_kernels(py::module_& m);
}  // namespace zh

PYBIND11_MODULE(_C, m) {
  m.doc() = "zoohub tensor engine (C++)";
  zh::bind_tensor(m);
  py::module_ k = m.def_submodule("_kernels", "raw kernels over numpy buffers, for tests and benchmarks");
  zh::bind_kernels(k);
}
