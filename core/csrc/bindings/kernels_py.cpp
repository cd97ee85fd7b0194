// Raw kernel bindings (numpy in, numpy out) used by kernel tests and bench/.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace zh {
void bind_kernels(py::module_& m) { (void)m; }
}  // namespace zh
