#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace zh {
void bind_tensor(py::module_& m) { (void)m; }
}  // namespace zh
