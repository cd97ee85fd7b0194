// The public ops of the tensor engine. Every op is registered in the op table (op_table.h) with whether it
// is differentiable; its forward and its backward are written next to each other in one .cpp file.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace zh {

// ---- dtypes and broadcasting
DType result_type(const std::vector<Tensor>& ts);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// ---- creation
Tensor zeros(const Shape& shape, DType dtype);
Tensor ones(const Shape& shape, DType dtype);
Tensor full(const Shape& shape, double value, DType dtype);
Tensor full(const Shape& shape, const Tensor& value, DType dtype);  // value: a 0-d number, checked
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor arange(double start, double end, double step, DType dtype);
Tensor arange_int(int64_t start, int64_t end, int64_t step, DType dtype);  // exact past 2**53
Tensor linspace(double start, double end, int64_t steps, DType dtype);
Tensor eye(int64_t n, int64_t m, DType dtype);
void manual_seed(uint64_t seed);
uint64_t initial_seed();
Tensor rand(const Shape& shape, DType dtype);
Tensor randn(const Shape& shape, DType dtype);
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype);

// ---- copies and casts
Tensor to_dtype(const Tensor& t, DType dtype);
Tensor contiguous(const Tensor& t);
Tensor clone(const Tensor& t);
Tensor detach(const Tensor& t);
void copy_(const Tensor& dst, const Tensor& src);  // src broadcast to dst's shape; no autograd
void fill_(const Tensor& dst, double value);
void fill_(const Tensor& dst, const Tensor& value);  // a 0-d number that dst's dtype must hold (check_number_fits)

// ---- views (share storage; see docs/tensors.md for when reshape copies)
Tensor as_strided_view(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset);
Tensor view(const Tensor& t, const Shape& shape);
Tensor reshape(const Tensor& t, const Shape& shape);
Tensor permute(const Tensor& t, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& t, int64_t d0, int64_t d1);
Tensor expand(const Tensor& t, const Shape& shape);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor squeeze(const Tensor& t, std::optional<int64_t> dim);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step);
// Sum of g over the dims that expand() broadcast, giving back `shape` (expand's backward).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

// ---- unary
Tensor neg(const Tensor& t);
Tensor abs(const Tensor& t);
Tensor sign(const Tensor& t);
Tensor exp(const Tensor& t);
Tensor log(const Tensor& t);
Tensor log1p(const Tensor& t);
Tensor sqrt(const Tensor& t);
Tensor rsqrt(const Tensor& t);
Tensor sin(const Tensor& t);
Tensor cos(const Tensor& t);
Tensor tanh(const Tensor& t);
Tensor sigmoid(const Tensor& t);
Tensor relu(const Tensor& t);
Tensor gelu(const Tensor& t, bool tanh_approx);
Tensor silu(const Tensor& t);
Tensor erf(const Tensor& t);
Tensor clamp(const Tensor& t, std::optional<Tensor> lo, std::optional<Tensor> hi);  // bounds: 0-d numbers
Tensor pow_scalar(const Tensor& t, double exponent);
Tensor floor(const Tensor& t);
Tensor ceil(const Tensor& t);
Tensor round(const Tensor& t, int64_t decimals = 0);  // halves to even
Tensor trunc(const Tensor& t);
Tensor logical_not(const Tensor& t);

// ---- binary (broadcasting, type promotion)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Tensor& b);     // sign of b, as Python's %
Tensor fmod(const Tensor& a, const Tensor& b);          // sign of a, as C's %
Tensor floor_divide(const Tensor& a, const Tensor& b);  // rounds toward -inf, as Python's //
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill(const Tensor& t, const Tensor& mask, const Tensor& value);
Tensor mul_scalar(const Tensor& t, double s);  // t * s keeping t's dtype
Tensor add_scalar(const Tensor& t, double s);

// ---- reductions (dims empty = all)
Tensor sum(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim, std::optional<DType> dtype = std::nullopt);
Tensor mean(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim);
Tensor amax(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim);
Tensor amin(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim);
std::pair<Tensor, Tensor> max_dim(const Tensor& t, int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> min_dim(const Tensor& t, int64_t dim, bool keepdim);
Tensor argmax(const Tensor& t, std::optional<int64_t> dim, bool keepdim);
Tensor argmin(const Tensor& t, std::optional<int64_t> dim, bool keepdim);
Tensor prod(const Tensor& t, std::optional<int64_t> dim, bool keepdim);
Tensor any(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim);
Tensor all(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim);
// (sum |x|^ord)^(1/ord) over dims; ord may be +-inf (max / min of |x|) or 0 (count of nonzeros). Floating only.
Tensor vector_norm(const Tensor& t, double ord, const std::vector<int64_t>& dims, bool keepdim);

// ---- linear algebra
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias);  // bias may be undefined

}  // namespace zh
