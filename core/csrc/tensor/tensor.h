// Tensor = shared storage + dtype + shape + strides + offset (in elements). Views share the storage.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/error.h"

namespace zh {

using Shape = std::vector<int64_t>;

struct Storage {
  void* data = nullptr;
  int64_t nbytes = 0;
  std::shared_ptr<void> owner;  // keeps the memory alive (our allocation, a numpy array, a memory map)
  // Bumped by every in-place write through core (copy_, fill_, index_copy_ and what is built on them), shared
  // by all views of the storage, as PyTorch's tensor._version: caches derived from the values (a Linear's
  // packed weight) compare it. Writes through a numpy view of the memory are not seen.
  std::atomic<uint64_t> version{0};

  static std::shared_ptr<Storage> allocate(int64_t nbytes);
  static std::shared_ptr<Storage> wrap(void* data, int64_t nbytes, std::shared_ptr<void> owner);
};

struct Node;
struct TensorImpl;
struct GradHooks;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  DType dtype() const;
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;
  int64_t dim() const;
  int64_t numel() const;
  int64_t size(int64_t d) const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;
  void* data_ptr() const;  // address of element [0, ..., 0]
  template <typename T>
  T* data() const { return static_cast<T*>(data_ptr()); }

  bool requires_grad() const;
  void set_requires_grad(bool r);
  const std::shared_ptr<Node>& grad_fn() const;
  Tensor grad() const;
  void set_grad(const Tensor& g);
  bool is_leaf() const;
  bool is_wrapped_number() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  DType dtype = DType::Float32;
  Shape shape, strides;
  int64_t offset = 0;
  bool requires_grad = false;
  bool wrapped_number = false;  // a Python scalar: lowest priority in type promotion
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  std::shared_ptr<GradHooks> hooks;  // a leaf's register_hook hooks (a non-leaf's live on its grad_fn)
};

int64_t numel_of(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

// A new tensor with uninitialised contiguous memory.
Tensor empty(const Shape& shape, DType dtype);
// Metadata-only view over t's storage (no autograd; ops wrap it).
Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset);
// A 0-d tensor holding a Python number, marked for scalar promotion.
Tensor wrapped_scalar(double v, DType dtype);
// The same for a Python integer, kept exact (int64): through double, 2**53 + 1 would lose its last bit.
Tensor wrapped_int(int64_t v);
// Refuses (std::runtime_error, PyTorch's RuntimeError) a number, a 0-d tensor, that a tensor of `dtype` cannot hold
// when it is written into one (fill_, full, masked_fill, a number copied or assigned): NaN or an infinity into an
// integer dtype, or a finite value past the dtype's range, float dtypes included (1e300 into float32; infinities
// and NaN into a float dtype are kept). bool takes any number. The value is not otherwise rounded or checked:
// 2.7 written into an integer tensor is 2, as in PyTorch.
void check_number_fits(const Tensor& number, DType dtype);

// Reads element i (flat, row-major over the shape) as double, and writes one; for slow paths and tests.
double read_as_double(const Tensor& t, const Shape& index);

}  // namespace zh
