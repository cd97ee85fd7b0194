// Bindings of Tensor and the ops. Argument conversion happens with the GIL held; every op then runs with
// the GIL released. PyTorch-style signatures (varargs, dim=None, ...) are parsed in core/_tensor.py.
#include <optional>
#include <tuple>
#include <utility>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "autograd/autograd.h"
#include "bindings/registry.h"
#include "ops/op_table.h"
#include "ops/ops.h"
#include "ops/ops_index.h"

namespace py = pybind11;

namespace zh {

namespace {

using Dims = std::vector<int64_t>;

// A Python integer (or numpy integer) as an exact wrapped int64; past int64 an OverflowError, as PyTorch.
Tensor int_operand(py::handle h) {
  try {
    return wrapped_int(h.cast<int64_t>());
  } catch (const py::cast_error&) {
    throw std::overflow_error("value " + std::string(py::str(h)) +
                              " cannot be converted to core.int64 without overflow");
  }
}

// A Python operand: a Tensor, or a number that becomes a wrapped 0-d tensor (lowest promotion priority).
Tensor to_operand(py::handle h) {
  if (py::isinstance<Tensor>(h)) return h.cast<Tensor>();
  if (py::isinstance<py::bool_>(h)) return wrapped_scalar(h.cast<bool>() ? 1 : 0, DType::Bool);
  if (py::isinstance<py::int_>(h)) return int_operand(h);
  if (py::isinstance<py::float_>(h)) return wrapped_scalar(h.cast<double>(), DType::Float64);
  py::object np = py::module_::import("numpy");
  if (py::isinstance(h, np.attr("generic"))) {
    py::object kind = h.attr("dtype").attr("kind");
    std::string k = kind.cast<std::string>();
    if (k == "b") return wrapped_scalar(h.cast<bool>(), DType::Bool);
    if (k == "i" || k == "u") return int_operand(h);
    if (k == "f") return wrapped_scalar(h.cast<double>(), DType::Float64);
  }
  // a numpy array is a tensor operand (its own dtype, no scalar rank), as PyTorch takes t + np.ones(2)
  if (py::isinstance(h, np.attr("ndarray"))) return py::module_::import("core").attr("as_tensor")(h).cast<Tensor>();
  type_error("expected a Tensor or a number, got ", std::string(py::str(py::type::of(h).attr("__name__"))));
}

// The operands of a binary op. A Python int past int64 beside a floating-point tensor becomes a float, as PyTorch
// computes `t + 2**63` for a float t; beside anything else it stays an OverflowError.
std::pair<Tensor, Tensor> to_operands(py::handle a, py::handle b) {
  auto operand = [](py::handle h, py::handle other) {
    if (py::isinstance<py::int_>(h) && !py::isinstance<py::bool_>(h) && py::isinstance<Tensor>(other) &&
        is_floating(other.cast<Tensor>().dtype())) {
      int overflow = 0;
      PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
      if (overflow != 0) {
        const double v = PyLong_AsDouble(h.ptr());
        if (v == -1.0 && PyErr_Occurred()) {
          PyErr_Clear();
          throw std::overflow_error("int too large to convert to float: " + std::to_string(py::len(py::str(h))) +
                                    " digits");
        }
        return wrapped_scalar(v, DType::Float64);
      }
    }
    return to_operand(h);
  };
  return {operand(a, b), operand(b, a)};
}

// The alpha of add / sub (input + alpha * other) as an operand, or none for 1; an integer result refuses a float
// alpha, as PyTorch, since it could not hold it.
std::optional<Tensor> alpha_operand(const Tensor& input, const Tensor& other, py::handle alpha, const char* op) {
  if (py::isinstance<py::int_>(alpha) && alpha.cast<py::int_>().equal(py::int_(1))) return std::nullopt;
  Tensor a = to_operand(alpha);
  if (is_floating(a.dtype()) && !is_floating(result_type({input, other})))
    type_error(op, ": alpha must be an integer for integer or bool tensors, got ", std::string(py::str(alpha)));
  return a;
}

// div with rounding_mode: 'floor' is floor_divide; 'trunc' rounds the true quotient toward zero, which for integers
// is computed exactly as (a - fmod(a, b)) // b (the numerator is then a multiple of b) instead of through float32.
Tensor rounded_div(const Tensor& a, const Tensor& b, const std::string& mode) {
  if (mode == "floor") return floor_divide(a, b);
  if (mode != "trunc")
    value_error("div: rounding_mode must be None, 'trunc' or 'floor', got '", mode, "'");
  if (is_floating(result_type({a, b}))) return trunc(div(a, b));
  return floor_divide(sub(a, fmod(a, b)), b);
}

template <typename F>
Tensor nogil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

// Keeps a Python object alive from C++ and drops it with the GIL held, whichever thread frees it.
std::shared_ptr<void> hold_py(py::object obj) {
  auto* raw = new py::object(std::move(obj));
  return std::shared_ptr<void>(raw, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
}

DType numpy_to_dtype(const py::dtype& dt) {
  char kind = dt.kind();
  int64_t size = dt.itemsize();
  if (kind == 'b') return DType::Bool;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 2) return DType::Float16;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'i' && size == 4) return DType::Int32;
  type_error("numpy dtype ", std::string(py::str(dt)),
             " is not supported (supported: bool, int32, int64, float16, float32, float64)");
}

py::dtype dtype_to_numpy(DType t) {
  switch (t) {
    case DType::Bool: return py::dtype("bool");
    case DType::Int32: return py::dtype("int32");
    case DType::Int64: return py::dtype("int64");
    case DType::Float16: return py::dtype("float16");
    case DType::Float32: return py::dtype("float32");
    case DType::Float64: return py::dtype("float64");
    case DType::BFloat16: break;
  }
  type_error("bfloat16 has no numpy dtype; convert first with .float()");
}

// Shares the numpy array's memory when its strides are whole elements and non-negative.
Tensor from_numpy(py::array arr) {
  if (!arr.dtype().attr("isnative").cast<bool>())  // byte-swapped data: convert (a copy), never reinterpret
    return from_numpy(py::array(arr.attr("astype")(arr.dtype().attr("newbyteorder")("="))));
  DType dt = numpy_to_dtype(arr.dtype());
  const int64_t isz = itemsize(dt);
  Shape shape(arr.ndim()), strides(arr.ndim());
  bool ok = true;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    shape[i] = arr.shape(i);
    py::ssize_t s = arr.strides(i);
    if (s < 0 || s % isz != 0) ok = false;
    strides[i] = s / isz;
  }
  // A fresh C-ordered copy: ensure() would hand back a one-element array unchanged and recurse forever.
  if (!ok) return from_numpy(py::array(arr.attr("copy")("C")));
  int64_t span = 1;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 0) span += (shape[i] - 1) * strides[i];
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::wrap(const_cast<void*>(arr.data()), span * isz, hold_py(arr));
  impl->dtype = dt;
  impl->shape = shape;
  impl->strides = strides;
  return Tensor(impl);
}

py::array to_numpy(const Tensor& t) {
  if (t.requires_grad() && GradMode::enabled())
    throw std::runtime_error("can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()");
  py::dtype dt = dtype_to_numpy(t.dtype());
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * itemsize(t.dtype()));
  auto* keep = new std::shared_ptr<Storage>(t.storage());
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(dt, shape, strides, t.data_ptr(), base);
}

// Raw bits of a bfloat16 / float16 tensor as a uint16 numpy array (copy), and back: for core.io.
py::array half_bits(const Tensor& t) {
  if (t.dtype() != DType::BFloat16 && t.dtype() != DType::Float16)
    type_error("half_bits: expected a float16 or bfloat16 tensor, got ", dtype_name(t.dtype()));
  Tensor c = contiguous(detach(t));
  py::array_t<uint16_t> out(std::vector<py::ssize_t>(c.shape().begin(), c.shape().end()));
  std::memcpy(out.mutable_data(), c.data_ptr(), static_cast<size_t>(c.numel() * 2));
  return out;
}

Tensor from_half_bits(py::array_t<uint16_t, py::array::c_style> bits, DType dt) {
  if (dt != DType::BFloat16 && dt != DType::Float16) type_error("from_half_bits: dtype must be float16 or bfloat16");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::wrap(const_cast<uint16_t*>(bits.data()), bits.nbytes(), hold_py(bits));
  impl->dtype = dt;
  impl->shape.assign(bits.shape(), bits.shape() + bits.ndim());
  impl->strides = contiguous_strides(impl->shape);
  return Tensor(impl);
}

py::object item(const Tensor& t) {
  if (t.numel() != 1)
    value_error("item: only one-element tensors can be converted to a Python number, got shape ",
                shape_str(t.shape()));
  Shape zero(t.dim(), 0);
  double v = read_as_double(t, zero);
  switch (t.dtype()) {
    case DType::Bool: return py::bool_(v != 0);
    case DType::Int32: return py::int_(static_cast<int64_t>(v));
    case DType::Int64: {
      const int64_t* p = static_cast<const int64_t*>(t.data_ptr());
      return py::int_(*p);
    }
    default: return py::float_(v);
  }
}

// A Python callable registered with Tensor.register_hook. The engine calls hooks with the GIL released, so the
// call takes it; the collector finds the callable through target<PyHook>() (tensor_traverse).
struct PyHook {
  std::shared_ptr<void> fn;  // a py::object (hold_py)

  PyObject* callable() const { return static_cast<py::object*>(fn.get())->ptr(); }

  Tensor operator()(const Tensor& g) const {
    py::gil_scoped_acquire gil;
    py::object r = py::reinterpret_borrow<py::object>(callable())(g);
    if (r.is_none()) return Tensor();
    if (!py::isinstance<Tensor>(r))
      type_error("register_hook: a hook must return a Tensor or None, got ",
                 std::string(py::str(py::type::of(r).attr("__name__"))));
    return r.cast<Tensor>();
  }
};

// The Tensor inside a Python Tensor object, or null before its __init__ has made one.
const Tensor* held_tensor(PyObject* self) {
  py::detail::value_and_holder v = reinterpret_cast<py::detail::instance*>(self)->get_value_and_holder();
  return v.holder_constructed() ? v.value_ptr<Tensor>() : nullptr;
}

// Tensor's tp_traverse: besides __dict__, the Python hooks that only this object reaches through its tensor, so
// that the collector sees cycles such as tensor -> hook -> closure -> module -> tensor (PyTorch's
// THPVariable_subclass_traverse makes the same sole-owner test).
int tensor_traverse(PyObject* self, visitproc visit, void* arg) {
  if (int r = py::detail::pybind11_traverse(self, visit, arg)) return r;
  const Tensor* t = held_tensor(self);
  if (!t) return 0;
  return visit_hooks_only_held_by(*t, [&](const GradHook& hook) {
    const PyHook* py_hook = hook.target<PyHook>();
    return py_hook ? visit(py_hook->callable(), arg) : 0;
  });
}

// Tensor's tp_clear: drops what tensor_traverse showed, which breaks the cycle. The object is unreachable and
// alone holds those lists, so no backward can run those hooks any more.
int tensor_clear(PyObject* self) {
  py::detail::pybind11_clear(self);
  if (const Tensor* t = held_tensor(self)) take_hooks_only_held_by(*t);  // dropped here, outside the lock
  return 0;
}

}  // namespace

void bind_tensor(py::module_& m) {
  py::register_exception<TypeError>(m, "TypeError_", PyExc_TypeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    }
  });

  py::enum_<DType>(m, "dtype")
      .value("bool", DType::Bool)
      .value("int32", DType::Int32)
      .value("int64", DType::Int64)
      .value("float16", DType::Float16)
      .value("bfloat16", DType::BFloat16)
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .def_property_readonly("itemsize", [](DType d) { return itemsize(d); })
      .def_property_readonly("is_floating_point", [](DType d) { return is_floating(d); })
      .def("__repr__", [](DType d) { return std::string("core.") + dtype_name(d); })
      .def("__str__", [](DType d) { return std::string("core.") + dtype_name(d); });

  py::class_<Tensor>(m, "Tensor", py::dynamic_attr(), py::custom_type_setup([](PyHeapTypeObject* heap_type) {
                      heap_type->ht_type.tp_traverse = tensor_traverse;
                      heap_type->ht_type.tp_clear = tensor_clear;
                    }))
      .def(py::init<const Tensor&>(), "A tensor sharing the other's storage and autograd identity")
      .def_property_readonly("shape", [](const Tensor& t) { return py::tuple(py::cast(t.shape())); })
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("ndim", &Tensor::dim)
      .def("dim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def(
          "stride",
          [](const Tensor& t, std::optional<int64_t> dim) -> py::object {
            if (!dim) return py::tuple(py::cast(t.strides()));
            if (t.dim() == 0) index_error("stride: dimension ", *dim, " given, but a 0-d tensor has no dimensions");
            return py::int_(t.strides()[wrap_dim(*dim, t.dim(), "stride")]);
          },
          py::arg("dim") = py::none())
      .def("storage_offset", &Tensor::offset)
      .def("element_size", [](const Tensor& t) { return itemsize(t.dtype()); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); })
      .def_property_readonly(
          "_version", [](const Tensor& t) { return t.storage() ? t.storage()->version.load() : uint64_t{0}; },
          "How many in-place writes through core its storage has had (shared by views), as in PyTorch.")
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("_shares_storage", [](const Tensor& a, const Tensor& b) { return a.storage() == b.storage(); })
      .def(
          "_storage_key", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.storage().get()); },
          "The same number for every view of one storage while it lives (deepcopy's memo key).")
      .def(
          "_storage_numel", [](const Tensor& t) { return t.storage()->nbytes / itemsize(t.dtype()); },
          "How many elements of t's dtype its whole storage holds.")
      .def(
          "_storage_users", [](const Tensor& t) { return t.storage() ? t.storage().use_count() : 0L; },
          "How many tensors hold t's storage: its views and the tensor it views, values a backward keeps, numpy "
          "arrays over it. 1 when t alone does.")
      .def(
          "_take_history",
          [](const Tensor& t, const Tensor& from) {
            // An in-place write recorded by autograd (core/_inplace.py): t, now holding from's values, becomes
            // from's output in the graph, as PyTorch rebases a tensor's grad_fn.
            if (t.shape() != from.shape() || t.dtype() != from.dtype())
              value_error("_take_history: shapes ", shape_str(t.shape()), " and ", shape_str(from.shape()),
                          " or dtypes differ");
            if (t.is_leaf() && t.requires_grad())
              throw std::runtime_error("a leaf tensor that requires grad cannot be written in place");
            if (from.requires_grad() && from.is_leaf())
              value_error("_take_history: the new history must come from an op, not a leaf");
            std::shared_ptr<Node> old = t.grad_fn();
            t.impl()->grad_fn = from.grad_fn();
            t.impl()->requires_grad = from.requires_grad();
            move_retain_grad(t, old);
          },
          "Internal: t takes from's place in the autograd graph after an in-place write of from's values.")
      .def_property("requires_grad", &Tensor::requires_grad, &Tensor::set_requires_grad)
      .def_property(
          "grad", [](const Tensor& t) -> py::object { return t.grad().defined() ? py::cast(t.grad()) : py::none(); },
          [](const Tensor& t, py::object g) {
            if (g.is_none()) {
              t.impl()->grad = Tensor();
              return;
            }
            Tensor gt = g.cast<Tensor>();
            if (gt.shape() != t.shape())
              value_error("assigned grad has shape ", shape_str(gt.shape()), " but the tensor has shape ",
                          shape_str(t.shape()));
            t.impl()->grad = gt;
          })
      .def_property_readonly("grad_fn",
                             [](const Tensor& t) -> py::object {
                               return t.grad_fn() ? py::cast(t.grad_fn()->name) : py::none();
                             })
      .def_property_readonly("is_leaf", &Tensor::is_leaf)
      .def(
          "_register_hook",
          [](const Tensor& t, py::function fn) {
            auto [where, id] = register_grad_hook(t, PyHook{hold_py(std::move(fn))});
            return py::make_tuple(py::cpp_function([where = where, id = id] { remove_grad_hook(where, id); }), id);
          },
          "Internal (Tensor.register_hook): adds the hook; returns (remove, id).")
      .def("retain_grad", &retain_grad,
           "Keeps this non-leaf's gradient in .grad on backward, as PyTorch's (a leaf keeps it anyway).")
      .def_property_readonly("retains_grad", &retains_grad,
                             "True for a non-leaf after retain_grad(); a leaf's is False, as in PyTorch.")
      .def("item", &item)
      .def(
          "numpy", [](const Tensor& t, bool force) { return to_numpy(force ? detach(t) : t); },
          "The values as a numpy array sharing memory; force=True detaches first, as PyTorch's",
          py::arg("force") = false)
      .def("_backward",
           [](const Tensor& t, py::object grad, bool retain_graph, bool create_graph) {
             Tensor g = grad.is_none() ? Tensor() : grad.cast<Tensor>();
             py::gil_scoped_release r;
             run_backward(t, g, retain_graph, create_graph);
           })
      .def("_grad_fn_inputs", [](const Tensor& t) {
        // Names of the nodes feeding this tensor's grad_fn (for tests of the graph shape).
        std::vector<std::string> names;
        if (t.grad_fn())
          for (const Edge& e : t.grad_fn()->edges) names.push_back(e.fn ? e.fn->name : (e.leaf ? "leaf" : "none"));
        return names;
      });

  m.def("from_numpy", &from_numpy, "A tensor sharing memory with a numpy array (copied if strides are unusual)");
  m.def("_half_bits", &half_bits);
  m.def("_from_half_bits", &from_half_bits);
  m.def("_to_operand", &to_operand);
  m.def("_check_number_fits", &check_number_fits);
  m.def("op_table", [] {
    std::vector<std::pair<std::string, bool>> out;
    for (const OpInfo& o : op_table()) out.emplace_back(o.name, o.differentiable);
    return out;
  });
  m.def("is_grad_enabled", &GradMode::enabled);
  m.def("_live_autograd_nodes", &live_nodes, "Autograd nodes alive in the process (leak tests).");
  m.def(
      "_run_backward",
      [](const std::vector<Tensor>& outputs, const std::vector<std::optional<Tensor>>& grads, bool retain_graph,
         bool create_graph, const std::optional<std::vector<Tensor>>& inputs, bool accumulate, const std::string& api) {
        std::vector<Tensor> gs;
        for (const auto& g : grads) gs.push_back(g ? *g : Tensor());
        std::vector<Tensor> got;
        {
          py::gil_scoped_release r;
          got = run_backward(outputs, gs, retain_graph, create_graph, inputs ? &*inputs : nullptr, accumulate,
                             api.c_str());
        }
        std::vector<std::optional<Tensor>> out;  // None where no gradient reached the input
        for (Tensor& g : got) out.push_back(g.defined() ? std::optional<Tensor>(std::move(g)) : std::nullopt);
        return out;
      },
      "The autograd engine for core.autograd.grad / backward (validated there): the inputs' gradients, or [].");
  m.def("set_grad_enabled", &GradMode::set_enabled);

  const auto rel = py::call_guard<py::gil_scoped_release>();
  // creation
  m.def("empty", &empty, rel);
  m.def("zeros", &zeros, rel);
  m.def("ones", &ones, rel);
  m.def("full", [](const Shape& shape, py::handle value, DType dtype) {
    Tensor v = to_operand(value);
    return nogil([&] { return full(shape, v, dtype); });
  });
  m.def("arange", &arange, rel);
  m.def("arange_int", &arange_int, rel);
  m.def("linspace", &linspace, rel);
  m.def("eye", &eye, rel);
  m.def("manual_seed", &manual_seed);
  m.def("initial_seed", &initial_seed);
  m.def("rand", &rand, rel);
  m.def("randn", &randn, rel);
  m.def("randint", &randint, rel);
  // copies and casts
  m.def("to_dtype", &to_dtype, rel);
  m.def("contiguous", &contiguous, rel, py::arg("input"));
  m.def("clone", &clone, rel, py::arg("input"));
  m.def("detach", &detach, rel, py::arg("input"));
  m.def("copy_", [](const Tensor& dst, py::handle src) {
    Tensor s = to_operand(src);
    py::gil_scoped_release r;
    copy_(dst, s);
  });
  m.def("fill_", [](const Tensor& dst, py::handle value) {
    Tensor v = to_operand(value);
    py::gil_scoped_release r;
    fill_(dst, v);
  });
  // views
  m.def("view", &view, rel);
  m.def("reshape", &reshape, rel);
  m.def("permute", &permute, rel);
  m.def("transpose", &transpose, rel, py::arg("input"), py::arg("dim0"), py::arg("dim1"));
  m.def("expand", &expand, rel);
  m.def("unsqueeze", &unsqueeze, rel, py::arg("input"), py::arg("dim"));
  m.def("squeeze", &squeeze, rel);
  m.def("narrow", &narrow, rel, py::arg("input"), py::arg("dim"), py::arg("start"), py::arg("length"));
  m.def("select", &select, rel, py::arg("input"), py::arg("dim"), py::arg("index"));
  m.def("slice", &slice, rel);
  m.def("as_strided", &as_strided_view, rel);
  // unary
  m.def("neg", &neg, rel, py::arg("input"));
  m.def("abs", &abs, rel, py::arg("input"));
  m.def("sign", &sign, rel, py::arg("input"));
  m.def("exp", &exp, rel, py::arg("input"));
  m.def("log", &log, rel, py::arg("input"));
  m.def("log1p", &log1p, rel, py::arg("input"));
  m.def("sqrt", &sqrt, rel, py::arg("input"));
  m.def("rsqrt", &rsqrt, rel, py::arg("input"));
  m.def("sin", &sin, rel, py::arg("input"));
  m.def("cos", &cos, rel, py::arg("input"));
  m.def("tanh", &tanh, rel, py::arg("input"));
  m.def("sigmoid", &sigmoid, rel, py::arg("input"));
  m.def("relu", &relu, rel, py::arg("input"));
  m.def("gelu", &gelu, rel);
  m.def("silu", &silu, rel, py::arg("input"));
  m.def("erf", &erf, rel, py::arg("input"));
  m.def("clamp", [](const Tensor& t, py::handle lo, py::handle hi) {
    std::optional<Tensor> l, h;
    if (!lo.is_none()) l = to_operand(lo);
    if (!hi.is_none()) h = to_operand(hi);
    return nogil([&] { return clamp(t, l, h); });
  });
  m.def("pow_scalar", &pow_scalar, rel);
  m.def("logical_not", &logical_not, rel, py::arg("input"));
  m.def("floor", &floor, rel, py::arg("input"));
  m.def("ceil", &ceil, rel, py::arg("input"));
  m.def("round", &round, rel, py::arg("input"), py::arg("decimals") = 0);
  m.def("trunc", &trunc, rel, py::arg("input"));
  // binary: the second (and for where, the first too) operand may be a Python number
#define ZH_BIND_BINARY(name, second)                                                           \
  m.def(                                                                                       \
      #name,                                                                                   \
      [](py::handle a, py::handle b) {                                                         \
        Tensor x, y;                                                                           \
        std::tie(x, y) = to_operands(a, b);                                                    \
        return nogil([&] { return name(x, y); });                                              \
      },                                                                                       \
      py::arg("input"), py::arg(second))
  ZH_BIND_BINARY(mul, "other");
  ZH_BIND_BINARY(pow, "exponent");
  ZH_BIND_BINARY(maximum, "other");
  ZH_BIND_BINARY(minimum, "other");
  ZH_BIND_BINARY(remainder, "other");
  ZH_BIND_BINARY(fmod, "other");
  ZH_BIND_BINARY(floor_divide, "other");
  ZH_BIND_BINARY(eq, "other");
  ZH_BIND_BINARY(ne, "other");
  ZH_BIND_BINARY(lt, "other");
  ZH_BIND_BINARY(le, "other");
  ZH_BIND_BINARY(gt, "other");
  ZH_BIND_BINARY(ge, "other");
  ZH_BIND_BINARY(logical_and, "other");
  ZH_BIND_BINARY(logical_or, "other");
  ZH_BIND_BINARY(matmul, "other");
  ZH_BIND_BINARY(bmm, "mat2");
#undef ZH_BIND_BINARY
  // add and sub take PyTorch's alpha (input + alpha * other), e.g. an optimizer's p.add_(g, alpha=-lr)
  using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);
  for (const auto& [name, op] :
       {std::pair<const char*, BinaryFn>{"add", &add}, std::pair<const char*, BinaryFn>{"sub", &sub}})
    m.def(
        name,
        [name = name, op = op](py::handle a, py::handle b, py::handle alpha) {
          Tensor x, y;
          std::tie(x, y) = to_operands(a, b);
          std::optional<Tensor> scale = alpha_operand(x, y, alpha, name);
          return nogil([&] { return op(x, scale ? mul(y, *scale) : y); });
        },
        py::arg("input"), py::arg("other"), py::kw_only(), py::arg("alpha") = 1);
  m.def(
      "div",
      [](py::handle a, py::handle b, std::optional<std::string> rounding_mode) {
        Tensor x, y;
        std::tie(x, y) = to_operands(a, b);
        return nogil([&] { return rounding_mode ? rounded_div(x, y, *rounding_mode) : div(x, y); });
      },
      py::arg("input"), py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none());
  m.def(
      "where",
      [](const Tensor& c, py::handle a, py::handle b) {
        Tensor x = to_operand(a), y = to_operand(b);
        return nogil([&] { return where(c, x, y); });
      },
      py::arg("condition"), py::arg("input"), py::arg("other"));
  m.def(
      "masked_fill",
      [](const Tensor& t, const Tensor& mask, py::handle v) {
        Tensor val = to_operand(v);
        return nogil([&] { return masked_fill(t, mask, val); });
      },
      py::arg("input"), py::arg("mask"), py::arg("value"));
  m.def("linear", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b) {
    return nogil([&] { return linear(x, w, b ? *b : Tensor()); });
  });
  // reductions
  m.def("sum", &sum, rel);
  m.def("mean", &mean, rel);
  m.def("amax", &amax, rel);
  m.def("amin", &amin, rel);
  m.def("max_dim", &max_dim, rel);
  m.def("min_dim", &min_dim, rel);
  m.def("argmax", &argmax, rel);
  m.def("argmin", &argmin, rel);
  m.def("prod", &prod, rel);
  m.def("any", &any, rel);
  m.def("all", &all, rel);
  m.def("vector_norm", &vector_norm, rel);
  m.def("result_type", [](py::handle a, py::handle b) { return result_type({to_operand(a), to_operand(b)}); });
}

void bind_index_ops(py::module_& m) {
  const auto rel = py::call_guard<py::gil_scoped_release>();
  m.def("index_select", &index_select, rel);
  m.def("index_add", &index_add, rel);
  m.def("nonzero", &nonzero, rel);
  m.def("index_copy_", &index_copy_, rel);
}

static RegisterBindings register_tensor(0, &bind_tensor);
static RegisterBindings register_index(1, &bind_index_ops);

}  // namespace zh
