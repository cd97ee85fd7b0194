// Joining, splitting, reordering and selecting along a dim, and the reductions that need whole rows
// (cumsum, cumprod, var/std, logsumexp). Each op's forward and backward sit side by side in ops/shape_*.cpp.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace zh {

// ---- shape_join.cpp: new tensors built from pieces (copies), and views that cut one into pieces
Tensor cat(const std::vector<Tensor>& ts, int64_t dim);
Tensor stack(const std::vector<Tensor>& ts, int64_t dim);
std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim);  // views
std::vector<Tensor> split_with_sizes(const Tensor& t, const std::vector<int64_t>& sizes, int64_t dim);  // views
std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim);  // views
Tensor flip(const Tensor& t, const std::vector<int64_t>& dims);
Tensor repeat(const Tensor& t, const std::vector<int64_t>& repeats);

// ---- shape_select.cpp: triangles, and gather/scatter along a dim by an int64 index tensor
Tensor tril(const Tensor& t, int64_t diagonal);
Tensor triu(const Tensor& t, int64_t diagonal);
Tensor gather(const Tensor& t, int64_t dim, const Tensor& index);
Tensor scatter(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_value(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& value);  // value: 0-d number
Tensor scatter_add(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src);

// ---- shape_sort.cpp: stable sorts (NaN sorts as the largest value, as in PyTorch)
std::pair<Tensor, Tensor> sort(const Tensor& t, int64_t dim, bool descending);
Tensor argsort(const Tensor& t, int64_t dim, bool descending);
std::pair<Tensor, Tensor> topk(const Tensor& t, int64_t k, int64_t dim, bool largest, bool sorted);

// ---- shape_reduce.cpp (dims empty = all)
Tensor cumsum(const Tensor& t, int64_t dim, std::optional<DType> dtype);
Tensor cumprod(const Tensor& t, int64_t dim, std::optional<DType> dtype);
Tensor var(const Tensor& t, const std::vector<int64_t>& dims, double correction, bool keepdim);
Tensor std_dev(const Tensor& t, const std::vector<int64_t>& dims, double correction, bool keepdim);
Tensor logsumexp(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim);

// A contiguous tensor seen as [outer, size, inner] around one dim (0-d tensors count as one element).
struct AlongDim {
  int64_t dim = 0, outer = 1, size = 1, inner = 1;
};
AlongDim along_dim(const Shape& shape, int64_t dim, const char* op);

}  // namespace zh
