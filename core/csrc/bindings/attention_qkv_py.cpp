// core._C.attention_qkv: inference self-attention straight from a fused projection's output [B, T, 3H] (rows
// [q; k; v], each split into heads), written as [B, T, H]: the fused kernel reads every head through strides, so
// neither the head split before it nor the head merge after it is copied. No autograd: callers take this path
// under no_grad only.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>

#include "bindings/registry.h"
#include "kernels/attention.h"
#include "ops/ops.h"

namespace py = pybind11;

namespace zh {

namespace {

// The additive mask as a view of [B, heads, T, T]: 1 to 4 dims, right-aligned, each of size 1 (broadcast) or full.
// `keep` holds the tensor the view reads (a copy only when the keys are not contiguous or are broadcast).
cpu::AttnView mask_view(const Tensor& mask, const Shape& scores, Tensor& keep) {
  if (mask.dtype() != DType::Float32)
    type_error("attention_qkv: mask must be an additive float32 tensor, got ", dtype_name(mask.dtype()),
               "; turn a 0/1 mask into 0 / -inf (or the most negative float) first");
  const int64_t nd = mask.dim();
  bool fits = nd >= 1 && nd <= 4;
  for (int64_t i = 0; fits && i < nd; ++i) {
    const int64_t got = mask.shape()[i], want = scores[4 - nd + i];
    fits = got == want || got == 1;
  }
  if (!fits)
    value_error("attention_qkv: mask of shape ", shape_str(mask.shape()), " does not broadcast to the scores' shape ",
                shape_str(scores), " [batch, heads, queries, keys]");
  keep = detach(mask);
  if (keep.shape().back() != scores[3] || (scores[3] > 1 && keep.strides().back() != 1)) {
    Shape full = keep.shape();
    full.back() = scores[3];
    keep = contiguous(expand(keep, full));  // the kernel reads each query's keys as one contiguous row
  }
  int64_t strides[4] = {0, 0, 0, 0};
  for (int64_t i = 0; i < nd; ++i)
    if (keep.shape()[i] > 1) strides[4 - nd + i] = keep.strides()[i];
  cpu::AttnView v;
  v.data = keep.data<float>();
  v.sb = strides[0];
  v.sh = strides[1];
  v.sl = strides[2];
  return v;
}

Tensor attention_qkv(const Tensor& qkv_in, int64_t num_heads, std::optional<Tensor> mask_in,
                     std::optional<double> scale) {
  if (qkv_in.dtype() != DType::Float32)
    type_error("attention_qkv: qkv must be float32, got ", dtype_name(qkv_in.dtype()), "; convert it with .float()");
  if (qkv_in.dim() != 3)
    value_error("attention_qkv: qkv must be 3-d [batch, length, 3 * hidden], got shape ", shape_str(qkv_in.shape()));
  const int64_t B = qkv_in.shape()[0], T = qkv_in.shape()[1], width = qkv_in.shape()[2];
  if (num_heads < 1 || width % (3 * num_heads) != 0 || width == 0)
    value_error("attention_qkv: the last dim of qkv (", width, ") must be a positive multiple of 3 * num_heads (",
                3 * num_heads, "); num_heads must be >= 1");
  const int64_t H = width / 3, D = H / num_heads;
  const Tensor qkv = qkv_in.strides()[2] == 1 ? detach(qkv_in) : contiguous(detach(qkv_in));
  Tensor out = empty({B, T, H}, DType::Float32);
  if (B * T == 0) return out;
  cpu::AttnArgs a;
  a.batch = B;
  a.heads = num_heads;
  a.lq = a.lk = T;
  a.d = a.dv = D;
  const float* base = qkv.data<float>();
  const int64_t sb = qkv.strides()[0], sl = qkv.strides()[1];
  a.q = {base, sb, D, sl, nullptr};
  a.k = {base + H, sb, D, sl, nullptr};
  a.v = {base + 2 * H, sb, D, sl, nullptr};
  Tensor keep;
  if (mask_in) a.mask = mask_view(*mask_in, Shape{B, num_heads, T, T}, keep);
  a.out = out.data<float>();
  a.out_sb = T * H;
  a.out_sh = D;
  a.out_sl = H;
  a.scale = static_cast<float>(scale ? *scale : 1.0 / std::sqrt(static_cast<double>(D)));
  py::gil_scoped_release release;
  cpu::sdpa_forward(a);
  return out;
}

void bind_attention_qkv(py::module_& m) {
  m.def("attention_qkv", &attention_qkv, py::arg("qkv"), py::arg("num_heads"), py::arg("mask") = py::none(),
        py::arg("scale") = py::none(),
        "softmax(q k^T * scale + mask) v per head, for qkv [B, T, 3H] holding q, k, v side by side; returns "
        "[B, T, H] with the heads merged. mask: additive float32 broadcasting to [B, heads, T, T]; scale "
        "defaults to 1/sqrt(H / num_heads). No gradient.");
}

const RegisterBindings register_attention_qkv(51, bind_attention_qkv);

}  // namespace

}  // namespace zh
