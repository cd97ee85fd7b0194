// Strided loops over several same-shape operands: dimensions that can merge are merged, then the outer
// index space is split into chunks on the thread pool and each chunk walks inner rows with their strides.
#pragma once
#include <array>
#include <cstdint>

#include "kernels/threadpool.h"
#include "tensor/tensor.h"

namespace zh {

template <int N>
struct Loop {
  Shape shape;                       // merged shape; the last dim is the inner row
  std::array<Shape, N> strides;      // per operand, in elements
  std::array<char*, N> base;
  std::array<int64_t, N> elsize;
};

// Operands must all have `shape` (broadcast already applied as stride-0 expands).
template <int N>
Loop<N> make_loop(const Shape& shape, const std::array<Tensor, N>& ops) {
  Loop<N> L;
  for (int k = 0; k < N; ++k) {
    L.base[k] = static_cast<char*>(ops[k].data_ptr());
    L.elsize[k] = itemsize(ops[k].dtype());
  }
  // Drop size-1 dims, then merge neighbours that are contiguous with each other for every operand.
  Shape sh;
  std::array<Shape, N> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    sh.push_back(shape[d]);
    for (int k = 0; k < N; ++k) st[k].push_back(ops[k].strides()[d]);
  }
  if (sh.empty()) {
    sh.push_back(1);
    for (int k = 0; k < N; ++k) st[k].push_back(0);
  }
  L.shape.push_back(sh[0]);
  for (int k = 0; k < N; ++k) L.strides[k].push_back(st[k][0]);
  for (size_t d = 1; d < sh.size(); ++d) {
    bool merge = true;
    for (int k = 0; k < N; ++k) merge = merge && (L.strides[k].back() == st[k][d] * sh[d]);
    if (merge) {
      L.shape.back() *= sh[d];
      for (int k = 0; k < N; ++k) L.strides[k].back() = st[k][d];
    } else {
      L.shape.push_back(sh[d]);
      for (int k = 0; k < N; ++k) L.strides[k].push_back(st[k][d]);
    }
  }
  return L;
}

// fn(ptrs, inner_strides_in_elements, n): processes one inner row of n elements.
template <int N, typename Fn>
void run_loop(const Loop<N>& L, int64_t total, Fn&& fn) {
  if (total == 0) return;
  const int64_t nd = static_cast<int64_t>(L.shape.size());
  const int64_t inner = L.shape[nd - 1];
  const int64_t outer = total / inner;
  std::array<int64_t, N> istride;
  for (int k = 0; k < N; ++k) istride[k] = L.strides[k][nd - 1];
  auto body = [&](int64_t begin, int64_t end) {
    std::array<char*, N> p;
    for (int64_t o = begin; o < end; ++o) {
      int64_t rem = o;
      for (int k = 0; k < N; ++k) p[k] = L.base[k];
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t i = rem % L.shape[d];
        rem /= L.shape[d];
        for (int k = 0; k < N; ++k) p[k] += i * L.strides[k][d] * L.elsize[k];
      }
      fn(p, istride, inner);
    }
  };
  const int64_t grain = inner >= 32768 ? 1 : (32768 + inner - 1) / inner;
  if (outer == 1 && inner >= 65536) {
    // One long row: split the row itself.
    cpu::parallel_for(inner, 16384, [&](int64_t b, int64_t e) {
      std::array<char*, N> p;
      for (int k = 0; k < N; ++k) p[k] = L.base[k] + b * istride[k] * L.elsize[k];
      fn(p, istride, e - b);
    });
    return;
  }
  cpu::parallel_for(outer, grain, body);
}

}  // namespace zh
