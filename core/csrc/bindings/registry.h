// Each bindings file registers itself here, so adding one never touches module.cpp.
#pragma once
#include <pybind11/pybind11.h>

#include <utility>
#include <vector>

namespace zh {

using BindFn = void (*)(pybind11::module_&);
std::vector<std::pair<int, BindFn>>& binders();

// Lower `order` binds first; the Tensor class itself is order 0.
struct RegisterBindings {
  RegisterBindings(int order, BindFn fn) { binders().emplace_back(order, fn); }
};

}  // namespace zh
