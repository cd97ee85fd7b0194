// Neural-network ops (softmax, normalisation, losses, attention, convolution, pooling, embedding, padding).
// Each op's forward and backward sit together in one nn_*.cpp file; the inner compute is a small function over
// raw contiguous rows so the SIMD kernels (kernels/rowops.h, kernels/attention.h) can replace it in place.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace zh {

enum class Reduction { None, Mean, Sum };
Reduction parse_reduction(const std::string& name, const char* op);

// ---- nn_activation.cpp
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- nn_norm.cpp: weight and bias may be undefined
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps);

// ---- nn_loss.cpp: weight may be undefined; targets are class indices (int64 / int32)
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction);

// ---- nn_conv.cpp: padding is per spatial dim (before = after) unless `same` asks for PyTorch's 'same' split
struct ConvArgs {
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
  bool same = false;
};
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvArgs& args);
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvArgs& args);

// ---- nn_pool.cpp: (values, int64 indices into each H*W plane)
struct PoolArgs {
  std::vector<int64_t> kernel, stride, padding, dilation;
  bool ceil_mode = false;
};
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const PoolArgs& args);
Tensor avg_pool2d(const Tensor& x, const PoolArgs& args, bool count_include_pad, std::optional<int64_t> divisor);

// ---- nn_attention.cpp: attn_mask may be undefined (bool: true takes part; float: added to the scores)
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale);

// ---- nn_misc.cpp
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx);
Tensor dropout(const Tensor& x, double p, bool training);
Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, const std::string& mode, double value);
Tensor one_hot(const Tensor& t, int64_t num_classes);

}  // namespace zh
