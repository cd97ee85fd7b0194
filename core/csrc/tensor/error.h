// Errors for people: each maps to the Python exception a PyTorch user expects (see bindings/errors.cpp).
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace zh {

struct TypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct NotImplementedError : std::runtime_error { using std::runtime_error::runtime_error; };
using ValueError = std::invalid_argument;  // pybind11 turns it into ValueError
using IndexError = std::out_of_range;      // and this into IndexError

inline std::string join_dims(const std::vector<int64_t>& s) {
  std::ostringstream os;
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  return os.str();
}

// A shape as a Python tuple, "(3, 4)" or "(3,)", for our messages.
inline std::string shape_str(const std::vector<int64_t>& s) {
  return "(" + join_dims(s) + (s.size() == 1 ? ",)" : ")");
}

// A shape as PyTorch's messages print it, "[3, 4]", where we repeat one of them.
inline std::string torch_shape_str(const std::vector<int64_t>& s) { return "[" + join_dims(s) + "]"; }

template <typename... Args>
std::string cat_str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <typename... Args>
[[noreturn]] void value_error(const Args&... args) { throw ValueError(cat_str(args...)); }
template <typename... Args>
[[noreturn]] void type_error(const Args&... args) { throw TypeError(cat_str(args...)); }
template <typename... Args>
[[noreturn]] void index_error(const Args&... args) { throw IndexError(cat_str(args...)); }

// Wraps a possibly negative dim into [0, ndim), or raises IndexError naming the op.
inline int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = ndim == 0 ? 1 : ndim;  // 0-d tensors accept dim 0 and -1, as in PyTorch
  if (dim < -n || dim >= n)
    index_error(op, ": dimension ", dim, " is out of range for a tensor with ", ndim,
                " dimension", ndim == 1 ? "" : "s", " (expected to be in [", -n, ", ", n - 1, "])");
  return dim < 0 ? dim + n : dim;
}

}  // namespace zh
