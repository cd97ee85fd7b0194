// core._C._kernels: the backend's knobs (backend_info, threads) and every kernel on numpy float32 arrays with an
// explicit ISA, so tests and bench/ can force each ISA in turn. Arguments are checked with the GIL held; the
// kernel itself always runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>

#include "kernels/attention.h"
#include "kernels/cpu_isa.h"
#include "kernels/gemm.h"
#include "kernels/rowops.h"
#include "kernels/threadpool.h"
#include "tensor/error.h"

namespace py = pybind11;

namespace zh {

namespace {

using F32 = py::array_t<float, 0>;   // no forcecast: a float64 array is refused rather than silently copied
using F64 = py::array_t<double, 0>;

cpu::Isa isa_arg(const std::optional<std::string>& name) {
  if (!name) return cpu::active_isa();
  const cpu::Isa isa = cpu::parse_isa(*name);
  cpu::check_isa(isa, "isa");
  return isa;
}

// A 2-d operand whose rows are contiguous: pointer, rows, cols and the row stride in elements.
template <typename T>
struct Mat {
  T* p;
  int64_t rows, cols, ld;
};

template <typename T, typename A>
Mat<T> mat(A& a, const char* who, const char* name) {
  if (a.ndim() != 2) value_error(who, ": ", name, " must be 2-d, got ", a.ndim(), " dims");
  const int64_t r = a.shape(0), c = a.shape(1), es = static_cast<int64_t>(sizeof(T));
  const int64_t s0 = a.strides(0), s1 = a.strides(1);
  if (r * c == 0) return {const_cast<T*>(reinterpret_cast<const T*>(a.data())), r, c, std::max<int64_t>(c, 1)};
  if (c > 1 && s1 != es)
    value_error(who, ": ", name, " needs contiguous rows (element stride ", s1 / es,
                "); pass the stored matrix and a trans flag instead of a transposed view");
  if (r > 1 && (s0 % es != 0 || s0 / es < c))
    value_error(who, ": ", name, " row stride ", s0, " bytes is not a multiple of ", es, " at least the row length");
  const int64_t ld = r > 1 ? s0 / es : std::max<int64_t>(c, 1);
  return {const_cast<T*>(reinterpret_cast<const T*>(a.data())), r, c, std::max<int64_t>(ld, 1)};
}

template <typename T>
void gemm_shapes(const Mat<T>& a, const Mat<T>& b, bool ta, bool tb, int64_t& M, int64_t& N, int64_t& K) {
  M = ta ? a.cols : a.rows;
  K = ta ? a.rows : a.cols;
  N = tb ? b.rows : b.cols;
  const int64_t kb = tb ? b.cols : b.rows;
  if (kb != K) value_error("gemm: op(a) is ", M, " x ", K, " but op(b) is ", kb, " x ", N);
}

template <typename T, typename Arr, typename Gemm>
Arr gemm_entry(const Arr& a_in, const Arr& b_in, bool ta, bool tb, double alpha, double beta,
               std::optional<Arr> c_in, Gemm gemm) {
  Arr a = a_in, b = b_in;
  Mat<T> A = mat<T>(a, "gemm", "a"), B = mat<T>(b, "gemm", "b");
  int64_t M, N, K;
  gemm_shapes<T>(A, B, ta, tb, M, N, K);
  Arr c = c_in ? *c_in : Arr({M, N});
  if (!c_in && beta != 0.0) value_error("gemm: beta != 0 needs an output array c");
  if (c.ndim() != 2 || c.shape(0) != M || c.shape(1) != N)
    value_error("gemm: c must have shape (", M, ", ", N, ")");
  if (!c.writeable()) value_error("gemm: c is read-only");
  Mat<T> C = mat<T>(c, "gemm", "c");
  {
    py::gil_scoped_release release;
    gemm(ta, tb, M, N, K, static_cast<T>(alpha), A.p, A.ld, B.p, B.ld, static_cast<T>(beta), C.p, C.ld);
  }
  return c;
}

cpu::Epilogue epilogue_arg(const std::string& name) {
  if (name == "none") return cpu::Epilogue::None;
  if (name == "relu") return cpu::Epilogue::Relu;
  if (name == "gelu") return cpu::Epilogue::Gelu;
  if (name == "gelu_tanh") return cpu::Epilogue::GeluTanh;
  value_error("epilogue must be one of none, relu, gelu, gelu_tanh; got '", name, "'");
}

cpu::UnaryOp unary_arg(const std::string& name) {
  const char* names[] = {"exp", "relu", "gelu", "gelu_tanh", "sigmoid", "silu"};
  for (int i = 0; i < 6; ++i)
    if (name == names[i]) return static_cast<cpu::UnaryOp>(i);
  value_error("unary op must be one of exp, relu, gelu, gelu_tanh, sigmoid, silu; got '", name, "'");
}

cpu::BinaryOp binary_arg(const std::string& name) {
  const char* names[] = {"add", "sub", "mul", "div"};
  for (int i = 0; i < 4; ++i)
    if (name == names[i]) return static_cast<cpu::BinaryOp>(i);
  value_error("binary op must be one of add, sub, mul, div; got '", name, "'");
}

// A C-contiguous float32 array (row ops and elementwise kernels read the last dim contiguously).
const float* contiguous_data(const F32& a, const char* who) {
  if (!(a.flags() & py::array::c_style)) value_error(who, ": expected a C-contiguous float32 array");
  return a.data();
}

// Rows view of an array whose last dim is contiguous and whose other dims collapse into one row stride.
Mat<float> rows_of(F32& x, const char* who) {
  if (x.ndim() == 1) {
    if (x.shape(0) > 1 && x.strides(0) != 4) value_error(who, ": expected a contiguous 1-d array");
    return {const_cast<float*>(x.data()), 1, x.shape(0), std::max<int64_t>(x.shape(0), 1)};
  }
  if (x.ndim() == 2) return mat<float>(x, who, "x");
  value_error(who, ": expected a 1-d or 2-d array, got ", x.ndim(), " dims");
}

cpu::AttnView attn_view(const F32& t, const char* who, const char* name, int64_t d) {
  if (t.ndim() != 4) value_error(who, ": ", name, " must be 4-d [batch, heads, rows, dim], got ", t.ndim(), " dims");
  if (t.shape(3) != d) value_error(who, ": ", name, " last dim is ", t.shape(3), ", expected ", d);
  if (t.shape(3) > 1 && t.strides(3) != 4) value_error(who, ": ", name, " needs a contiguous last dim");
  for (int i = 0; i < 3; ++i)
    if (t.strides(i) % 4 != 0) value_error(who, ": ", name, " strides must be multiples of 4 bytes");
  return {t.data(), t.shape(0) == 1 ? 0 : t.strides(0) / 4, t.shape(1) == 1 ? 0 : t.strides(1) / 4,
          t.shape(2) == 1 ? 0 : t.strides(2) / 4};
}

py::dict backend_info() {
  py::dict d;
  d["isa"] = cpu::isa_name(cpu::active_isa());
  py::list avail;
  for (cpu::Isa i : cpu::available_isas()) avail.append(cpu::isa_name(i));
  d["available_isas"] = avail;
  d["threads"] = cpu::num_threads();
  d["compiler"] = ZOOHUB_COMPILER;
  d["build_type"] = ZOOHUB_BUILD_TYPE;
  d["git_commit"] = ZOOHUB_GIT_COMMIT;
  py::dict flags;
  flags["common"] = ZOOHUB_FLAGS_COMMON;
  flags["avx2"] = ZOOHUB_FLAGS_AVX2;
  flags["avx512"] = ZOOHUB_FLAGS_AVX512;
  d["build_flags"] = flags;
  const cpu::KernelTable& t = cpu::kernel_table(cpu::active_isa());
  d["gemm_tile"] = py::make_tuple(t.mr, t.nr);
  return d;
}

// y = epilogue(x w^T + bias) + residual for either kind of packed weight.
template <typename Packed>
F32 linear_packed_entry(const F32& x_in, const Packed& w, std::optional<F32> bias, const std::string& epilogue,
                        std::optional<F32> residual) {
  F32 x = x_in;
  Mat<float> X = mat<float>(x, "linear_packed", "x");
  if (X.cols != w.in_features) value_error("linear_packed: x has ", X.cols, " features, the weight expects ", w.in_features);
  const float* bp = nullptr;
  if (bias) {
    if (bias->ndim() != 1 || bias->shape(0) != w.out_features)
      value_error("linear_packed: bias must have shape (", w.out_features, ",)");
    bp = contiguous_data(*bias, "linear_packed");
  }
  const float* rp = nullptr;
  if (residual) {
    if (residual->ndim() != 2 || residual->shape(0) != X.rows || residual->shape(1) != w.out_features)
      value_error("linear_packed: residual must have shape (", X.rows, ", ", w.out_features, ")");
    rp = contiguous_data(*residual, "linear_packed");
  }
  const cpu::Epilogue ep = epilogue_arg(epilogue);
  F32 y({X.rows, w.out_features});
  float* yp = y.mutable_data();
  {
    py::gil_scoped_release release;
    const int64_t ldy = std::max<int64_t>(w.out_features, 1);
    cpu::linear_packed(X.p, X.rows, X.ld, w, bp, ep, yp, ldy, rp, ldy);
  }
  return y;
}

}  // namespace

void bind_kernels(py::module_& m) {
  // Validate the environment now, so a bad ZOOHUB_CPU_ISA / ZOOHUB_NUM_THREADS fails `import core` clearly.
  cpu::active_isa();
  cpu::default_num_threads();

  m.def("backend_info", &backend_info, "ISA in use, ISAs this CPU can run, threads, compiler and build flags.");
  m.def("set_num_threads", &cpu::set_num_threads, py::arg("n"), "Threads used by every kernel (>= 1).");
  m.def("get_num_threads", &cpu::num_threads, "Threads used by every kernel.");

  m.def(
      "sgemm",
      [](const F32& a, const F32& b, bool ta, bool tb, double alpha, double beta, std::optional<F32> c,
         std::optional<std::string> isa) {
        const cpu::Isa i = isa_arg(isa);
        return gemm_entry<float, F32>(a, b, ta, tb, alpha, beta, c,
                                      [i](bool x, bool y, int64_t M, int64_t N, int64_t K, float al, const float* A,
                                          int64_t lda, const float* B, int64_t ldb, float be, float* C, int64_t ldc) {
                                        cpu::sgemm_isa(i, x, y, M, N, K, al, A, lda, B, ldb, be, C, ldc);
                                      });
      },
      py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("alpha") = 1.0,
      py::arg("beta") = 0.0, py::arg("c") = py::none(), py::arg("isa") = py::none(),
      "c = alpha op(a) op(b) + beta c with op = transpose when trans_*; rows of a, b, c must be contiguous.");
  m.def(
      "dgemm",
      [](const F64& a, const F64& b, bool ta, bool tb, double alpha, double beta, std::optional<F64> c) {
        return gemm_entry<double, F64>(a, b, ta, tb, alpha, beta, c, cpu::dgemm);
      },
      py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("alpha") = 1.0,
      py::arg("beta") = 0.0, py::arg("c") = py::none(), "Float64 version of sgemm.");

  py::class_<cpu::PackedWeight>(m, "PackedWeight", "A Linear weight [out, in] packed once for one ISA.")
      .def_readonly("out_features", &cpu::PackedWeight::out_features)
      .def_readonly("in_features", &cpu::PackedWeight::in_features)
      .def_property_readonly("isa", [](const cpu::PackedWeight& p) { return cpu::isa_name(p.isa); });
  // pack(w, out, in, ldw, isa) on a numpy weight [out, in] for the given or the active ISA, without the GIL.
  auto pack_entry = [](const char* who, auto pack) {
    return [who, pack](const F32& w_in, std::optional<std::string> isa) {
      F32 w = w_in;
      Mat<float> W = mat<float>(w, who, "w");
      const cpu::Isa i = isa_arg(isa);
      py::gil_scoped_release release;
      return pack(W.p, W.rows, W.cols, W.ld, i);
    };
  };
  m.def("pack_weight",
        pack_entry("pack_weight", [](const float* w, int64_t o, int64_t n, int64_t ld, cpu::Isa i) {
          return cpu::pack_weight(w, o, n, ld, i);
        }),
        py::arg("w"), py::arg("isa") = py::none(), "Packs a Linear weight [out, in] for linear_packed.");
  m.def("pack_weight_half", pack_entry("pack_weight_half", cpu::pack_weight_half), py::arg("w"),
        py::arg("isa") = py::none(),
        "The float16 copy of a Linear weight [out, in] for linear_packed, or None if some value is not a float16.");
  m.def("linear_packed", &linear_packed_entry<cpu::PackedWeight>, py::arg("x"), py::arg("w"),
        py::arg("bias") = py::none(), py::arg("epilogue") = "none", py::arg("residual") = py::none(),
        "y = epilogue(x w^T + bias) + residual with a packed weight (pack_weight or pack_weight_half); epilogue in "
        "none, relu, gelu, gelu_tanh.");
  m.def("linear_packed", &linear_packed_entry<cpu::HalfWeight>, py::arg("x"), py::arg("w"),
        py::arg("bias") = py::none(), py::arg("epilogue") = "none", py::arg("residual") = py::none());

  auto row_kernel = [&m](const char* name, auto fn, const char* doc) {
    m.def(
        name,
        [fn, name](const F32& x_in, std::optional<std::string> isa) {
          F32 x = x_in;
          Mat<float> X = rows_of(x, name);
          const cpu::Isa i = isa_arg(isa);
          std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
          F32 y(shape);
          float* yp = y.mutable_data();
          {
            py::gil_scoped_release release;
            fn(X.p, X.ld, yp, X.cols, X.rows, X.cols, i);
          }
          return y;
        },
        py::arg("x"), py::arg("isa") = py::none(), doc);
  };
  row_kernel("softmax", cpu::softmax_rows, "Softmax over the last dim of a 1-d or 2-d array (rows contiguous).");
  row_kernel("log_softmax", cpu::log_softmax_rows, "Log-softmax over the last dim of a 1-d or 2-d array.");

  m.def(
      "layer_norm",
      [](const F32& x_in, std::optional<F32> w, std::optional<F32> b, double eps, std::optional<std::string> isa) {
        F32 x = x_in;
        Mat<float> X = rows_of(x, "layer_norm");
        const cpu::Isa i = isa_arg(isa);
        auto vec = [&](const std::optional<F32>& v, const char* name) -> const float* {
          if (!v) return nullptr;
          if (v->ndim() != 1 || v->shape(0) != X.cols)
            value_error("layer_norm: ", name, " must have shape (", X.cols, ",)");
          return contiguous_data(*v, "layer_norm");
        };
        const float *wp = vec(w, "weight"), *bp = vec(b, "bias");
        std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
        F32 y(shape), mean({X.rows}), rstd({X.rows});
        float *yp = y.mutable_data(), *mp = mean.mutable_data(), *rp = rstd.mutable_data();
        {
          py::gil_scoped_release release;
          cpu::layer_norm_rows(X.p, X.ld, yp, X.cols, X.rows, X.cols, wp, bp, static_cast<float>(eps), mp, rp, i);
        }
        return py::make_tuple(y, mean, rstd);
      },
      py::arg("x"), py::arg("weight") = py::none(), py::arg("bias") = py::none(), py::arg("eps") = 1e-5,
      py::arg("isa") = py::none(), "Layer norm over the last dim; returns (y, mean, rstd) with one mean/rstd per row.");

  m.def(
      "unary",
      [](const std::string& op, const F32& x, std::optional<std::string> isa) {
        const cpu::UnaryOp o = unary_arg(op);
        const float* xp = contiguous_data(x, "unary");
        const cpu::Isa i = isa_arg(isa);
        std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
        F32 y(shape);
        float* yp = y.mutable_data();
        const int64_t n = x.size();
        {
          py::gil_scoped_release release;
          cpu::unary(o, xp, yp, n, i);
        }
        return y;
      },
      py::arg("op"), py::arg("x"), py::arg("isa") = py::none(),
      "y = op(x) elementwise on a C-contiguous array; op in exp, relu, gelu, gelu_tanh, sigmoid, silu.");
  m.def(
      "binary",
      [](const std::string& op, const F32& a, const F32& b, std::optional<std::string> isa) {
        const cpu::BinaryOp o = binary_arg(op);
        const float* ap = contiguous_data(a, "binary");
        const float* bp = contiguous_data(b, "binary");
        const bool scalar = b.size() == 1;
        if (!scalar && b.size() != a.size())
          value_error("binary: b must have one element or as many as a (", a.size(), "), got ", b.size());
        const cpu::Isa i = isa_arg(isa);
        std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
        F32 y(shape);
        float* yp = y.mutable_data();
        const int64_t n = a.size();
        {
          py::gil_scoped_release release;
          cpu::binary(o, ap, bp, yp, n, scalar, i);
        }
        return y;
      },
      py::arg("op"), py::arg("a"), py::arg("b"), py::arg("isa") = py::none(),
      "y = a op b elementwise (b of a's size, or one element); op in add, sub, mul, div.");
  m.def(
      "sum",
      [](const F32& x, std::optional<std::string> isa) {
        const float* xp = contiguous_data(x, "sum");
        const cpu::Isa i = isa_arg(isa);
        const int64_t n = x.size();
        py::gil_scoped_release release;
        return cpu::sum(xp, n, i);
      },
      py::arg("x"), py::arg("isa") = py::none(), "Sum of every element of a C-contiguous array, as a Python float.");
  m.def(
      "sum_rows",
      [](const F32& x_in, std::optional<std::string> isa) {
        F32 x = x_in;
        Mat<float> X = rows_of(x, "sum_rows");
        const cpu::Isa i = isa_arg(isa);
        F32 out({X.rows});
        float* op = out.mutable_data();
        {
          py::gil_scoped_release release;
          cpu::sum_rows(X.p, X.ld, X.rows, X.cols, op, i);
        }
        return out;
      },
      py::arg("x"), py::arg("isa") = py::none(), "Sum of each row of a 2-d array with contiguous rows.");

  m.def(
      "sdpa",
      [](const F32& q, const F32& k, const F32& v, std::optional<F32> mask, std::optional<double> scale, bool causal,
         std::optional<std::string> isa) {
        if (q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4)
          value_error("sdpa: q, k and v must be 4-d [batch, heads, length, dim]");
        cpu::AttnArgs a;
        a.batch = q.shape(0);
        a.heads = q.shape(1);
        a.lq = q.shape(2);
        a.d = q.shape(3);
        a.lk = k.shape(2);
        a.dv = v.shape(3);
        for (int i = 0; i < 2; ++i)
          if (k.shape(i) != q.shape(i) || v.shape(i) != q.shape(i))
            value_error("sdpa: q, k, v must agree on batch and heads");
        if (v.shape(2) != a.lk) value_error("sdpa: k and v must have the same length");
        a.q = attn_view(q, "sdpa", "q", a.d);
        a.k = attn_view(k, "sdpa", "k", a.d);
        a.v = attn_view(v, "sdpa", "v", a.dv);
        if (mask) {
          if (mask->ndim() != 4 || mask->shape(2) != a.lq || mask->shape(3) != a.lk)
            value_error("sdpa: mask must be 4-d [batch or 1, heads or 1, ", a.lq, ", ", a.lk, "]");
          for (int i = 0; i < 2; ++i)
            if (mask->shape(i) != 1 && mask->shape(i) != q.shape(i))
              value_error("sdpa: mask dim ", i, " must be 1 or ", q.shape(i));
          a.mask = attn_view(*mask, "sdpa", "mask", a.lk);
        }
        a.scale = static_cast<float>(scale ? *scale : 1.0 / std::sqrt(static_cast<double>(a.d)));
        a.causal = causal;
        const cpu::Isa i = isa_arg(isa);
        F32 out({a.batch, a.heads, a.lq, a.dv}), lse({a.batch, a.heads, a.lq});
        a.out = out.mutable_data();
        a.out_sb = a.heads * a.lq * a.dv;
        a.out_sh = a.lq * a.dv;
        a.out_sl = a.dv;
        a.lse = lse.mutable_data();
        {
          py::gil_scoped_release release;
          cpu::sdpa_forward(a, i);
        }
        return py::make_tuple(out, lse);
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("mask") = py::none(), py::arg("scale") = py::none(),
      py::arg("causal") = false, py::arg("isa") = py::none(),
      "Fused attention forward: returns (out [B, H, Lq, Dv], logsumexp [B, H, Lq]).");
}

}  // namespace zh
