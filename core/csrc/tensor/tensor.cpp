#include "tensor/tensor.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "autograd/autograd.h"

namespace zh {

std::shared_ptr<Storage> Storage::allocate(int64_t nbytes) {
  auto s = std::make_shared<Storage>();
  size_t n = static_cast<size_t>(nbytes > 0 ? nbytes : 1);
  n = (n + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
  void* p = std::aligned_alloc(64, n);
  if (!p) throw std::bad_alloc();
  s->data = p;
  s->nbytes = nbytes;
  s->owner = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, int64_t nbytes, std::shared_ptr<void> owner) {
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->owner = std::move(owner);
  return s;
}

DType Tensor::dtype() const { return impl_->dtype; }
const Shape& Tensor::shape() const { return impl_->shape; }
const Shape& Tensor::strides() const { return impl_->strides; }
int64_t Tensor::offset() const { return impl_->offset; }
int64_t Tensor::dim() const { return static_cast<int64_t>(impl_->shape.size()); }
int64_t Tensor::numel() const { return numel_of(impl_->shape); }
int64_t Tensor::size(int64_t d) const { return impl_->shape[wrap_dim(d, dim(), "size")]; }
const std::shared_ptr<Storage>& Tensor::storage() const { return impl_->storage; }
void* Tensor::data_ptr() const {
  return static_cast<char*>(impl_->storage->data) + impl_->offset * itemsize(impl_->dtype);
}
bool Tensor::requires_grad() const { return impl_->requires_grad; }
void Tensor::set_requires_grad(bool r) {
  if (r && !is_floating(impl_->dtype))
    type_error("only floating point tensors can require gradients, got dtype ", dtype_name(impl_->dtype));
  if (!r && impl_->grad_fn)
    value_error("requires_grad can only be changed on leaf tensors; use detach() for a non-leaf");
  impl_->requires_grad = r;
}
const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }
Tensor Tensor::grad() const { return impl_->grad; }
void Tensor::set_grad(const Tensor& g) { impl_->grad = g; }
bool Tensor::is_leaf() const { return impl_->grad_fn == nullptr; }
bool Tensor::is_wrapped_number() const { return impl_->wrapped_number; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (impl_->shape[i] == 1) continue;
    if (impl_->strides[i] != expected) return false;
    expected *= impl_->shape[i];
  }
  return true;
}

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) value_error("negative dimension ", d, " in shape ", shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) value_error("shape ", shape_str(shape), " is too large");
    n *= d;
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape s(shape.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i] > 0 ? shape[i] : 1;
  }
  return s;
}

Tensor empty(const Shape& shape, DType dtype) {
  int64_t n = numel_of(shape);
  constexpr int64_t kMaxBytes = int64_t(1) << 40;
  if (n > kMaxBytes / itemsize(dtype)) value_error("cannot allocate a tensor of shape ", shape_str(shape), ": too large");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(n * itemsize(dtype));
  impl->dtype = dtype;
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  return Tensor(impl);
}

Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage();
  impl->dtype = t.dtype();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  return Tensor(impl);
}

Tensor wrapped_scalar(double v, DType dtype) {
  Tensor t = empty({}, dtype);
  switch (dtype) {
    case DType::Bool: *t.data<uint8_t>() = v != 0; break;
    case DType::Int32: *t.data<int32_t>() = static_cast<int32_t>(v); break;
    case DType::Int64: *t.data<int64_t>() = static_cast<int64_t>(v); break;
    case DType::Float16: *t.data<uint16_t>() = float_to_half(static_cast<float>(v)); break;
    case DType::BFloat16: *t.data<uint16_t>() = float_to_bf16(static_cast<float>(v)); break;
    case DType::Float32: *t.data<float>() = static_cast<float>(v); break;
    case DType::Float64: *t.data<double>() = v; break;
  }
  t.impl()->wrapped_number = true;
  return t;
}

Tensor wrapped_int(int64_t v) {
  Tensor t = empty({}, DType::Int64);
  *t.data<int64_t>() = v;
  t.impl()->wrapped_number = true;
  return t;
}

namespace {

// Python's repr of a float for messages: the shortest digits that read back to v, in positional form from 1e-4 up
// to 1e16 ("1000000.0", "2.7") and in exponent form outside it ("1e+300"); "nan", "inf".
std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  const double a = std::fabs(v);
  const bool positional = a == 0 || (a >= 1e-4 && a < 1e16);
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, positional ? std::chars_format::fixed
                                                                    : std::chars_format::scientific);
  std::string s(buf, r.ptr);
  if (positional && s.find('.') == std::string::npos) s += ".0";
  return s;
}

}  // namespace

void check_number_fits(const Tensor& number, DType dtype) {
  const bool integral = !is_floating(number.dtype());
  const Shape at(number.dim(), 0);
  int64_t i = 0;
  double d = 0;
  if (number.dtype() == DType::Int64) i = *reinterpret_cast<const int64_t*>(number.data_ptr());
  else if (integral) i = static_cast<int64_t>(read_as_double(number, at));  // bool and int32: exact
  else d = read_as_double(number, at);
  const double v = integral ? static_cast<double>(i) : d;
  // Comparisons against the bounds are false for NaN, so NaN fails the integer dtypes and passes the float ones.
  auto float_fits = [&](double max) { return !(std::fabs(v) > max) || std::isinf(v); };
  bool fits = true;
  switch (dtype) {
    case DType::Bool:
    case DType::Float64: break;
    case DType::Int32:
      fits = integral ? i >= std::numeric_limits<int32_t>::min() && i <= std::numeric_limits<int32_t>::max()
                      : d >= -2147483648.0 && d <= 2147483647.0;
      break;
    case DType::Int64: fits = integral || (d >= -9223372036854775808.0 && d < 9223372036854775808.0); break;
    case DType::Float16: fits = float_fits(65504.0); break;
    case DType::BFloat16: fits = float_fits(3.3895313892515355e38); break;
    case DType::Float32: fits = float_fits(std::numeric_limits<float>::max()); break;
  }
  if (!fits)
    throw std::runtime_error("value " + (integral ? std::to_string(i) : float_repr(d)) +
                             " cannot be converted to core." + dtype_name(dtype) + " without overflow");
}

double read_as_double(const Tensor& t, const Shape& index) {
  int64_t off = 0;
  for (size_t i = 0; i < index.size(); ++i) off += index[i] * t.strides()[i];
  const char* p = static_cast<const char*>(t.data_ptr()) + off * itemsize(t.dtype());
  switch (t.dtype()) {
    case DType::Bool: return *reinterpret_cast<const uint8_t*>(p) ? 1.0 : 0.0;
    case DType::Int32: return *reinterpret_cast<const int32_t*>(p);
    case DType::Int64: return static_cast<double>(*reinterpret_cast<const int64_t*>(p));
    case DType::Float16: return half_to_float(*reinterpret_cast<const uint16_t*>(p));
    case DType::BFloat16: return bf16_to_float(*reinterpret_cast<const uint16_t*>(p));
    case DType::Float32: return *reinterpret_cast<const float*>(p);
    case DType::Float64: return *reinterpret_cast<const double*>(p);
  }
  return 0;
}

}  // namespace zh
