// DLPack both ways (CPU only). Tensor.__dlpack__ hands out a capsule whose manager keeps our storage alive
// (numpy.from_dlpack(t) then shares memory); core.from_dlpack(x) consumes a producer's capsule and wraps its
// memory in a Tensor whose storage calls the producer's deleter when the last view goes away.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/autograd.h"
#include "bindings/registry.h"
#include "ops/ops.h"

namespace py = pybind11;

namespace zh {

namespace {

// The DLPack ABI (dlpack.h, v1.x), declared here field by field.
struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor*);
};
struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned*);
  uint64_t flags;
  DLTensor dl_tensor;
};

constexpr int32_t kDLCPU = 1;
constexpr uint8_t kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLBool = 6;
constexpr uint64_t kFlagReadOnly = 1, kFlagIsCopied = 2;
constexpr const char* kLegacyName = "dltensor";
constexpr const char* kVersionedName = "dltensor_versioned";

DLDataType to_dl(DType t) {
  switch (t) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::Int32: return {kDLInt, 32, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Float16: return {kDLFloat, 16, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Float64: return {kDLFloat, 64, 1};
  }
  throw std::logic_error("bad dtype");
}

DType from_dl(DLDataType d) {
  if (d.lanes == 1) {
    if (d.code == kDLBool && d.bits == 8) return DType::Bool;
    if (d.code == kDLInt && d.bits == 32) return DType::Int32;
    if (d.code == kDLInt && d.bits == 64) return DType::Int64;
    if (d.code == kDLFloat && d.bits == 16) return DType::Float16;
    if (d.code == kDLFloat && d.bits == 32) return DType::Float32;
    if (d.code == kDLFloat && d.bits == 64) return DType::Float64;
    if (d.code == kDLBfloat && d.bits == 16) return DType::BFloat16;
  }
  const char* kind = d.code == kDLInt ? "int" : d.code == kDLUInt ? "uint" : d.code == kDLFloat ? "float" : "code ";
  type_error("from_dlpack: unsupported dtype ", kind, d.code > kDLFloat ? std::to_string(d.code) : "",
             static_cast<int>(d.bits), d.lanes == 1 ? "" : cat_str(" x", d.lanes),
             " (supported: bool, int32, int64, float16, bfloat16, float32, float64)");
}

// manager_ctx of an exported tensor: the storage and the shape/strides arrays the DLTensor points into.
struct Export {
  std::shared_ptr<Storage> storage;
  std::vector<int64_t> shape, strides;
};

template <typename Managed>
void delete_export(Managed* m) {
  delete static_cast<Export*>(m->manager_ctx);
  delete m;
}

template <typename Managed>
void fill_export(Managed* m, const Tensor& t) {
  auto* ctx = new Export{t.storage(), t.shape(), t.strides()};
  m->manager_ctx = ctx;
  m->deleter = &delete_export<Managed>;
  DLTensor& dl = m->dl_tensor;
  dl.data = t.storage()->data;
  dl.byte_offset = static_cast<uint64_t>(t.offset() * itemsize(t.dtype()));
  dl.device = {kDLCPU, 0};
  dl.ndim = static_cast<int32_t>(t.dim());
  dl.dtype = to_dl(t.dtype());
  dl.shape = ctx->shape.data();
  dl.strides = ctx->strides.data();
}

// An unconsumed capsule still owns its tensor; a consumer renames it to "used_..." and takes over.
template <typename Managed>
void capsule_destructor(PyObject* cap, const char* name) {
  PyObject *type, *value, *trace;
  PyErr_Fetch(&type, &value, &trace);
  if (PyCapsule_IsValid(cap, name)) {
    auto* m = static_cast<Managed*>(PyCapsule_GetPointer(cap, name));
    if (m->deleter) m->deleter(m);
  }
  PyErr_Restore(type, value, trace);
}
void legacy_destructor(PyObject* cap) { capsule_destructor<DLManagedTensor>(cap, kLegacyName); }
void versioned_destructor(PyObject* cap) { capsule_destructor<DLManagedTensorVersioned>(cap, kVersionedName); }

py::object to_dlpack(const Tensor& self, py::object stream, py::object max_version, py::object dl_device,
                     py::object copy) {
  if (self.requires_grad())
    throw std::runtime_error("__dlpack__: can't export a tensor that requires grad; use tensor.detach()");
  if (!stream.is_none()) value_error("__dlpack__: stream must be None for CPU tensors");
  if (!dl_device.is_none()) {
    auto dev = dl_device.cast<std::pair<int, int>>();
    if (dev.first != kDLCPU) throw py::buffer_error("__dlpack__: only the CPU device (1, 0) is supported");
  }
  const bool want_copy = !copy.is_none() && copy.cast<bool>();
  Tensor t = want_copy ? clone(detach(self)) : detach(self);
  bool versioned = false;
  if (!max_version.is_none()) versioned = max_version.cast<std::pair<int, int>>().first >= 1;
  PyObject* cap;
  if (versioned) {
    auto* m = new DLManagedTensorVersioned{};
    m->version = {1, 0};
    m->flags = want_copy ? kFlagIsCopied : 0;
    fill_export(m, t);
    cap = PyCapsule_New(m, kVersionedName, &versioned_destructor);
    if (!cap) delete_export(m);
  } else {
    auto* m = new DLManagedTensor{};
    fill_export(m, t);
    cap = PyCapsule_New(m, kLegacyName, &legacy_destructor);
    if (!cap) delete_export(m);
  }
  if (!cap) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(cap);
}

// Wraps a DLTensor whose lifetime `owner` controls. Negative strides and read-only memory are copied.
Tensor wrap_dl(const DLTensor& dl, std::shared_ptr<void> owner, bool read_only) {
  if (dl.device.device_type != kDLCPU)
    throw py::buffer_error(cat_str("from_dlpack: only CPU memory is supported, got device type ",
                                   dl.device.device_type));
  if (dl.ndim < 0) value_error("from_dlpack: negative number of dimensions ", dl.ndim);
  const DType dt = from_dl(dl.dtype);
  const int64_t isz = itemsize(dt);
  Shape shape(dl.shape, dl.shape + dl.ndim);
  const int64_t n = numel_of(shape);
  Shape strides = dl.strides ? Shape(dl.strides, dl.strides + dl.ndim) : contiguous_strides(shape);
  char* base = static_cast<char*>(dl.data) + dl.byte_offset;
  int64_t lo = 0, hi = 0;  // element offsets of the lowest and highest addresses touched
  bool negative = false;
  for (int32_t i = 0; i < dl.ndim && n > 0; ++i) {
    const int64_t reach = (shape[i] - 1) * strides[i];
    (reach < 0 ? lo : hi) += reach;
    negative = negative || strides[i] < 0;
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::wrap(base + lo * isz, n == 0 ? 0 : (hi - lo + 1) * isz, std::move(owner));
  impl->dtype = dt;
  impl->shape = shape;
  impl->strides = n == 0 ? contiguous_strides(shape) : strides;
  impl->offset = n == 0 ? 0 : -lo;
  Tensor t(impl);
  if (!negative && !read_only) return t;
  py::gil_scoped_release release;
  return clone(t);
}

Tensor from_dlpack(py::object obj) {
  py::object cap = obj;
  if (!PyCapsule_CheckExact(obj.ptr())) {
    if (!py::hasattr(obj, "__dlpack__"))
      type_error("from_dlpack: expected an object with __dlpack__ (a numpy array, a tensor) or a DLPack capsule, got ",
                 std::string(py::str(py::type::of(obj).attr("__name__"))));
    if (py::hasattr(obj, "__dlpack_device__")) {
      auto dev = obj.attr("__dlpack_device__")().cast<std::pair<int, int>>();
      if (dev.first != kDLCPU)
        throw py::buffer_error(cat_str("from_dlpack: only CPU memory is supported, got device type ", dev.first));
    }
    try {
      cap = obj.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(1, 0));
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_TypeError)) throw;
      cap = obj.attr("__dlpack__")();  // a producer from before DLPack 1.0
    }
  }
  PyObject* c = cap.ptr();
  if (PyCapsule_IsValid(c, kVersionedName)) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(c, kVersionedName));
    if (PyCapsule_SetName(c, "used_dltensor_versioned") != 0) throw py::error_already_set();
    std::shared_ptr<void> owner(m, [](void* p) {
      auto* mm = static_cast<DLManagedTensorVersioned*>(p);
      if (mm->deleter) mm->deleter(mm);
    });
    if (m->version.major != 1)
      value_error("from_dlpack: DLPack version ", m->version.major, ".", m->version.minor, " is not supported (1.x)");
    return wrap_dl(m->dl_tensor, std::move(owner), (m->flags & kFlagReadOnly) != 0);
  }
  if (PyCapsule_IsValid(c, kLegacyName)) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(c, kLegacyName));
    if (PyCapsule_SetName(c, "used_dltensor") != 0) throw py::error_already_set();
    std::shared_ptr<void> owner(m, [](void* p) {
      auto* mm = static_cast<DLManagedTensor*>(p);
      if (mm->deleter) mm->deleter(mm);
    });
    return wrap_dl(m->dl_tensor, std::move(owner), false);
  }
  value_error("from_dlpack: expected an unconsumed DLPack capsule (\"dltensor\" or \"dltensor_versioned\")");
}

void bind_dlpack(py::module_& m) {
  auto cls = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  cls.def("__dlpack__", &to_dlpack, py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
          py::arg("dl_device") = py::none(), py::arg("copy") = py::none(),
          "A DLPack capsule sharing this tensor's memory (copy=True exports a copy)");
  cls.def("__dlpack_device__", [](const Tensor&) { return py::make_tuple(kDLCPU, 0); });
  m.def("from_dlpack", &from_dlpack, py::arg("obj"),
        "A tensor sharing memory with a DLPack producer (numpy array, tensor) or capsule");
}

const RegisterBindings register_dlpack(11, &bind_dlpack);

}  // namespace

}  // namespace zh
