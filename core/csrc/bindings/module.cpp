// The one extension module, core._C. Each bindings file registers itself (registry.h); this file runs them.
#include <algorithm>

#include "bindings/registry.h"

namespace py = pybind11;

namespace zh {
std::vector<std::pair<int, BindFn>>& binders() {
  static std::vector<std::pair<int, BindFn>> list;
  return list;
}
void bind_kernels(py::module_& m);
}  // namespace zh

PYBIND11_MODULE(_C, m) {
  m.doc() = "zoohub tensor engine (C++)";
  auto& list = zh::binders();
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, fn] : list) fn(m);
  py::module_ k = m.def_submodule("_kernels", "raw kernels over numpy buffers, for tests and benchmarks");
  zh::bind_kernels(k);
}
