// Compiled time loops for the hand-derived BPTT of elman_bptt.py, gru_bptt.py and lstm_bptt.py.
//
// Each op runs the whole loop over the steps of one layer (forward or backward) in one call. It
// fills the very buffers the Python loop of the same file fills (same shapes, same meaning), so
// what the autograd.Function saves, and the weight gradients it forms afterwards as one GEMM each,
// are shared by both paths; the Python loop stays the reference and the fallback. Per step: the
// recurrent GEMM goes straight to BLAS (MKL's sgemm_/dgemm_ inside libtorch, or at::mm when a
// build has none; MKL's packed GEMM for the float32 sequences of `packed_wins`, oneDNN's matmul for
// the float32 shapes of `onednn_wins`) into a preallocated buffer, and the element-wise gate math
// (the biases included) is a few passes over each batch row while it is in L1, with no allocation
// and no per-op dispatch. Equations are named as in the Python files; see their docstrings for the
// derivations.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <cstdlib>
#include <string>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
// Fortran BLAS (column-major), exported by libtorch_cpu when torch is built with MKL; weak so a
// torch without them still loads this library (and then takes the at::mm path below).
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*) __attribute__((weak));
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*) __attribute__((weak));
// MKL's packed GEMM (CBLAS, also exported by libtorch_cpu with MKL): op(W) packed once per sequence
// into MKL's internal layout, then every step's product computed from it. Weak, as above; the enum
// values are CBLAS's.
size_t cblas_sgemm_pack_get_size(int identifier, int m, int n, int k) __attribute__((weak));
void cblas_sgemm_pack(int layout, int identifier, int trans, int m, int n, int k, float alpha, const float* src,
                      int ld, float* dest) __attribute__((weak));
void cblas_sgemm_compute(int layout, int transa, int transb, int m, int n, int k, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc) __attribute__((weak));
}
enum : int { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112, CBLAS_B_MATRIX = 162, CBLAS_PACKED = 151 };

// For a loop whose iteration j reads and writes only index j of its rows: without it GCC cannot
// rule out that the row pointers overlap and leaves the loop scalar (seen with -fopt-info-vec).
#define RNNLAB_IVDEP _Pragma("GCC ivdep")

// oneDNN's matmul as torch wraps it (result = β result + A B, in place; aten/src/ATen/native/mkldnn/
// Matmul.h, not among torch's installed headers, so declared here). Weak: a torch without it, or
// with another signature (another mangled name), leaves it null and every product takes BLAS.
namespace at::native {
TORCH_API void mkldnn_matmul(const at::Tensor& mat1, const at::Tensor& mat2, const at::Tensor& result, float beta,
                             float alpha) __attribute__((weak));
}

namespace {

using at::Tensor;
using opt = const std::optional<Tensor>&;

enum Act : int64_t { TANH = 0, SIGMOID = 1, RELU = 2, IDENTITY = 3 };  // activations.py's names, in this order

// ---------------------------------------------------------------------------------------------
// GEMM, row-major: C (M, N) = op(A) op(B) + beta C, op = transpose where ta / tb. Row-major C is
// column-major Cᵀ = op(B)ᵀ op(A)ᵀ, hence the swapped call. Leading dimensions are row strides.
//
// float32 step products of the shapes where it measured faster go to oneDNN instead of MKL (torch's
// at::native::mkldnn_matmul: its AVX-512 kernels; MKL's sgemm takes a generic path on AMD CPUs).
// `onednn_wins` is the rule, from a sweep of (B, K, N, op(W)) on the development machine (AMD EPYC
// Zen 4, 1 thread, docs/speed.md): oneDNN's fixed cost per call loses below 16 rows and for small
// matrices (3× slower at B = 1, 2× at (16, 128, 128)); it wins 5-25 % for H ≥ 512 at B ≥ 16 and for
// the backward products of H = 256 (K = 3H, 4H) at B ≥ 32. Only the loops' products: routing the
// GEMMs over all T·B rows (weight gradients, input part) there too measured 1.05-1.3× faster alone
// but slower in a training step at the small and medium sizes (its scratch buffers, allocated per
// call, make glibc return and re-fault memory that torch's buffers then touch), and no faster at
// the large one. RNNLAB_ONEDNN_GEMM=0 (read once) keeps every product on BLAS.
enum Backend : int64_t { AUTO = -1, BLAS = 0, ONEDNN = 1, PACKED = 2 };

bool onednn_usable() {
  static const bool ok = [] {
    const char* env = std::getenv("RNNLAB_ONEDNN_GEMM");
    return &at::native::mkldnn_matmul != nullptr && at::hasMKLDNN() && !(env && std::string(env) == "0");
  }();
  return ok;
}

#ifndef RNNLAB_MKL_GENERIC
#define RNNLAB_MKL_GENERIC 0  // (set by the build: 1 on AMD CPUs)
#endif

// C (M, N) = A (M, K) op(W): a step's product, M the batch
bool onednn_wins(bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  if (ta || M < 16 || K < 256) return false;
  const int64_t kn = K * N;
  if (RNNLAB_MKL_GENERIC) {  // AMD EPYC (Zen 4): MKL's generic sgemm
    if (tb) return kn >= (1 << 19) || (M >= 64 && kn >= (1 << 18));  // h Uᵀ (forward): 1.04-1.3×
    return kn >= (1 << 18) || (M >= 32 && kn >= 3 * (1 << 16));      // ∂L/∂a U (backward): 1.0-1.12×
  }
  // Intel Xeon (AVX-512, AMX): MKL's own AVX-512 sgemm runs at 85-100 % of the core's peak from
  // 32 rows and wins everywhere except the forward of H ≥ 512 (oneDNN 1.01-1.28×) and the backward
  // of H = 1024 at 128 rows (1.10-1.20× for 1, 3 and 4 gates); oneDNN lost up to 2× elsewhere
  // (bench/gemm_backends.py --gates 4 / 3 / 1). (A sequence of 16 steps or more packs instead where
  // `packed_wins`, which beat both there.)
  if (tb) return kn >= (1 << 20);
  return M >= 128 && N >= 1024;
}

// C = op(A) op(B) + β C through oneDNN; each operand must be dense in its own layout (its rows, or its
// transpose's, contiguous), else oneDNN would copy it first.
template <typename T>
bool gemm_onednn(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
                 int64_t ldb, T beta, T* C, int64_t ldc) {
  if constexpr (!std::is_same_v<T, float>) {
    return false;
  } else {
    if (lda != (ta ? M : K) || ldb != (tb ? K : N) || ldc != N) return false;
    const auto o = at::TensorOptions().dtype(at::kFloat);
    Tensor a = at::from_blob(const_cast<float*>(A), {ta ? K : M, ta ? M : K}, o);
    Tensor b = at::from_blob(const_cast<float*>(B), {tb ? N : K, tb ? K : N}, o);
    Tensor c = at::from_blob(C, {M, N}, o);
    at::native::mkldnn_matmul(ta ? a.t() : a, tb ? b.t() : b, c, beta, 1.0f);
    return true;
  }
}

// For tests and benches: a backend every step product takes (AUTO: the rules), and how many
// products oneDNN and the packed GEMM have run (so a test can tell that a forced backend was used)
std::atomic<int64_t> forced_backend{AUTO};
std::atomic<int64_t> onednn_count{0}, packed_count{0};

template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb,
          T beta, T* C, int64_t ldc, Backend backend = AUTO) {
  if (M == 0 || N == 0) return;
  if (backend == AUTO) backend = Backend(forced_backend.load(std::memory_order_relaxed));
  if (backend == PACKED) backend = AUTO;  // (a single product: nothing to pack once for)
  if (std::is_same_v<T, float> && backend != BLAS && onednn_usable() &&
      (backend == ONEDNN || onednn_wins(ta, tb, M, N, K)) &&
      gemm_onednn<T>(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc)) {
    onednn_count.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const char opa = ta ? 'T' : 'N', opb = tb ? 'T' : 'N';
  const int m = N, n = M, k = K, la = ldb, lb = lda, lc = ldc;
  const T one = 1;
  if constexpr (std::is_same_v<T, float>) {
    if (sgemm_) return sgemm_(&opb, &opa, &m, &n, &k, &one, B, &la, A, &lb, &beta, C, &lc);
  } else {
    if (dgemm_) return dgemm_(&opb, &opa, &m, &n, &k, &one, B, &la, A, &lb, &beta, C, &lc);
  }
  // no BLAS symbols: the same product through ATen (strided views over the raw buffers)
  auto o = at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value);
  Tensor a = at::from_blob(const_cast<T*>(A), {ta ? K : M, ta ? M : K}, {lda, 1}, o);
  Tensor b = at::from_blob(const_cast<T*>(B), {tb ? N : K, tb ? K : N}, {ldb, 1}, o);
  Tensor c = at::from_blob(C, {M, N}, {ldc, 1}, o);
  if (ta) a = a.t();
  if (tb) b = b.t();
  if (beta == 0) at::mm_out(c, a, b); else c.mul_(beta).addmm_(a, b);
}

// RNNLAB_PACKED_GEMM=0 (read once) turns packing off; a torch without the symbols never packs
bool packed_usable() {
  static const bool ok = [] {
    const char* env = std::getenv("RNNLAB_PACKED_GEMM");
    return cblas_sgemm_pack_get_size && cblas_sgemm_pack && cblas_sgemm_compute && !(env && std::string(env) == "0");
  }();
  return ok;
}

// Whether a sequence's step products C (M, N) = A (M, K) op(W) should run from MKL's packed form
// of op(W): only where MKL runs its own AVX-512 sgemm (Intel; on AMD's generic path packing gained
// nothing: docs/speed.md), and for sequences long enough to repay the packing (one pass over W).
// `bench/gemm_backends.py` (50 products a sequence, packing included, 1 thread, Intel Xeon): the
// forward's h Wᵀ 1.1-1.9× faster packed at every size but batch 1 with W beyond L2 (H ≥ 512 for
// the LSTM: 0.6×, a product of one row streams W either way and the packing is one more pass); the
// backward's ∂L/∂a W only at H = 1024 from B = 16 (1.16-1.45×; 0.69-1.01× at H ≤ 512).
bool packed_wins(bool tw, int64_t M, int64_t N, int64_t K, int64_t steps) {
  if (RNNLAB_MKL_GENERIC || steps < 16) return false;
  if (tw) return M > 1 || K * N <= (1 << 18);
  return M >= 16 && N >= 1024;
}

// The recurrent matrix as the right operand of every step's product, C (M, N) = A (M, K) op(W) + β C,
// for `steps` steps: the backend (BLAS, oneDNN or MKL's packed GEMM) is chosen once per sequence.
template <typename T>
struct StepMatrix {
  bool tw;
  int64_t M, N, K, ldw;
  const T* W;
  Backend backend = BLAS;
  std::unique_ptr<float, decltype(&std::free)> packed{nullptr, &std::free};
  StepMatrix(bool tw, int64_t M, int64_t N, int64_t K, const T* W, int64_t ldw, int64_t steps, Backend choice = AUTO)
      : tw(tw), M(M), N(N), K(K), ldw(ldw), W(W) {
    const Backend forced = choice != AUTO ? choice : Backend(forced_backend.load(std::memory_order_relaxed));
    if constexpr (std::is_same_v<T, float>) {
      if (M > 0 && N > 0 && K > 0 && packed_usable() &&
          (forced == PACKED || (forced == AUTO && packed_wins(tw, M, N, K, steps)))) {
        const size_t bytes = cblas_sgemm_pack_get_size(CBLAS_B_MATRIX, int(M), int(N), int(K));
        packed.reset(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
        TORCH_CHECK(packed, "rnnlab kernels: out of memory packing a recurrent matrix");
        cblas_sgemm_pack(CBLAS_ROW_MAJOR, CBLAS_B_MATRIX, tw ? CBLAS_TRANS : CBLAS_NO_TRANS, int(M), int(N), int(K),
                         1.0f, W, int(ldw), packed.get());
        backend = PACKED;
        return;
      }
    }
    backend = forced == PACKED ? AUTO : forced;  // BLAS, oneDNN, or AUTO: `gemm`'s rule per product
  }
  void operator()(const T* A, int64_t lda, T beta, T* C, int64_t ldc) const {
    if constexpr (std::is_same_v<T, float>) {
      if (backend == PACKED) {
        if (M == 0 || N == 0) return;
        cblas_sgemm_compute(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_PACKED, int(M), int(N), int(K), A, int(lda),
                            packed.get(), int(N), beta, C, int(ldc));
        packed_count.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    gemm<T>(false, tw, M, N, K, A, lda, W, ldw, beta, C, ldc, backend);
  }
};

// ---------------------------------------------------------------------------------------------
// Activations. float: polynomial exp (Cephes expf, ~1 ulp) written so GCC vectorises the loops
// (round-to-nearest through the 1.5·2²³ trick instead of floor); tanh as Cephes tanhf (odd
// polynomial below 0.625, 1 - 2/(e^{2|x|} + 1) above), both branches computed and selected.
// double: libm (only gradchecks and references use float64; its speed is not a goal).
static inline float exp_f(float x) {
  x = x < -87.3f ? -87.3f : x;  // (selects, not fmin/fmax: those keep GCC from vectorising)
  x = x > 88.3f ? 88.3f : x;
  const float r = x * 1.44269504088896341f + 12582912.0f;  // round(x / ln 2) in the low mantissa bits
  const int32_t n = __builtin_bit_cast(int32_t, r) - 0x4B400000;
  const float fx = r - 12582912.0f;
  x = x - fx * 0.693359375f + fx * 2.12194440e-4f;  // x - n ln 2 in two parts (Cody-Waite)
  const float z = x * x;
  float y = 1.9875691500E-4f;
  y = y * x + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  y = y * z + x + 1.0f;
  return y * __builtin_bit_cast(float, (n + 127) << 23);  // · 2ⁿ
}
static inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }
static inline float tanh_f(float x) {
  const float ax = x < 0 ? -x : x;
  const float big = 1.0f - 2.0f / (exp_f(2.0f * ax) + 1.0f);
  const float z = x * x;
  const float small =
      ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z + 1.33314422036E-1f) * z -
       3.33332819422E-1f) * z * ax + ax;
  const float t = ax > 0.625f ? big : small;
  return x < 0 ? -t : t;
}
static inline float sig(float x) { return sigmoid_f(x); }
static inline double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }
static inline float th(float x) { return tanh_f(x); }
static inline double th(double x) { return std::tanh(x); }

// v = f(v) over n values
template <typename T>
void act_(int64_t kind, T* __restrict v, int64_t n) {
  switch (kind) {
    case TANH:
      for (int64_t j = 0; j < n; ++j) v[j] = th(v[j]);
      break;
    case SIGMOID:
      for (int64_t j = 0; j < n; ++j) v[j] = sig(v[j]);
      break;
    case RELU:
      for (int64_t j = 0; j < n; ++j) v[j] = v[j] > T(0) ? v[j] : T(0);
      break;
    default:
      break;  // identity
  }
}
template <typename T>
void sigmoid_(T* __restrict v, int64_t n) { for (int64_t j = 0; j < n; ++j) v[j] = sig(v[j]); }
template <typename T>
void tanh_(T* __restrict v, int64_t n) { for (int64_t j = 0; j < n; ++j) v[j] = th(v[j]); }

// out = d ⊙ f'(v) with f' taken from the output y = f(v): tanh' = 1 - y², σ' = y(1 - y),
// relu' = [y > 0], identity' = 1 (activations.py's table)
template <typename T>
void mul_dact(int64_t kind, T* __restrict out, const T* __restrict d, const T* __restrict y, int64_t n) {
  switch (kind) {
    case TANH:
      for (int64_t j = 0; j < n; ++j) out[j] = d[j] * (T(1) - y[j] * y[j]);
      break;
    case SIGMOID:
      for (int64_t j = 0; j < n; ++j) out[j] = d[j] * y[j] * (T(1) - y[j]);
      break;
    case RELU:
      for (int64_t j = 0; j < n; ++j) out[j] = y[j] > T(0) ? d[j] : T(0);
      break;
    default:
      for (int64_t j = 0; j < n; ++j) out[j] = d[j];
  }
}

// Row passes in vector registers: a body written once as f(at), with at(p) the value p[j] (At, the
// tail) or the 64 bytes of values from p + j (VecAt: GCC vector extensions, one zmm with AVX-512, two
// ymm with AVX2; scalars broadcast), at.set(p, value) to store. Sums (Sum) keep their lanes in
// registers and add them up once at the end: without -ffast-math GCC keeps a scalar sum's order and
// will not vectorise it, and 32 lanes in an array (before) went through memory for the final
// reduction — LayerNorm of a 1024-row 314 → 183 ns, its backward 205 → 180 ns (docs/speed.md).
template <typename T>
struct Lanes {
  typedef T V __attribute__((vector_size(64)));
  static constexpr int64_t W = 64 / sizeof(T);
};
template <typename T>
struct VecAt {
  using V = typename Lanes<T>::V;
  int64_t j;
  V operator()(const T* p) const { V v; __builtin_memcpy(&v, p + j, sizeof v); return v; }
  void set(T* p, V v) const { __builtin_memcpy(p + j, &v, sizeof v); }
};
template <typename T>
struct At {
  int64_t j;
  T operator()(const T* p) const { return p[j]; }
  void set(T* p, T v) const { p[j] = v; }
};
template <typename T, typename F>
inline void row_pass(int64_t n, F f) {
  constexpr int64_t W = Lanes<T>::W;
  int64_t j = 0;
  for (; j + W <= n; j += W) f(VecAt<T>{j});
  for (; j < n; ++j) f(At<T>{j});
}
template <typename T>
struct Sum {
  typename Lanes<T>::V v = {};
  T s = 0;
  void add(typename Lanes<T>::V x) { v += x; }
  void add(T x) { s += x; }
  T total() const {
    T r = s;
    for (int64_t k = 0; k < Lanes<T>::W; ++k) r += v[k];
    return r;
  }
};

// Σ_j f(at) over a row, in two vector accumulators (two chains of dependent adds, not one)
template <typename T, typename F>
T lane_sum(int64_t n, F f) {
  constexpr int64_t W = Lanes<T>::W;
  Sum<T> a, b;
  int64_t j = 0;
  for (; j + 2 * W <= n; j += 2 * W) {
    a.add(f(VecAt<T>{j}));
    b.add(f(VecAt<T>{j + W}));
  }
  for (; j + W <= n; j += W) a.add(f(VecAt<T>{j}));
  for (; j < n; ++j) a.add(f(At<T>{j}));
  return a.total() + b.total();
}

// LayerNorm statistics of one row: μ and rstd = 1/√(var + ε) (biased var, as torch; two passes in T,
// the second over v - μ, so no cancellation)
template <typename T>
void row_stats(const T* __restrict v, int64_t n, double eps, T& mu, T& rstd) {
  const T m = lane_sum<T>(n, [&](auto at) { return at(v); }) / T(n);
  const T var = lane_sum<T>(n, [&](auto at) { const auto d = at(v) - m; return d * d; }) / T(n);
  mu = m;
  rstd = T(1.0 / std::sqrt(double(var) + eps));
}

// rstd = 1/√(var + ε) of one row whose mean μ is known (the second pass of row_stats)
template <typename T>
T row_rstd(const T* __restrict v, int64_t n, T mu, double eps) {
  const T var = lane_sum<T>(n, [&](auto at) { const auto d = at(v) - mu; return d * d; }) / T(n);
  return T(1.0 / std::sqrt(double(var) + eps));
}

// LayerNorm without affine over one row: v̂ = (v - μ) rstd
template <typename T>
void normalize_row(const T* __restrict v, T* __restrict vhat, T* rstd_out, int64_t n, double eps) {
  T mu, rstd;
  row_stats<T>(v, n, eps, mu, rstd);
  row_pass<T>(n, [&](auto at) { at.set(vhat, (at(v) - mu) * rstd); });
  *rstd_out = rstd;
}

// For out = γ ⊙ v̂ (+ β), v̂ = normalize(v), over one row, given ∂L/∂out = dout: dv gets
// ∂L/∂v = rstd (d - mean(d) - v̂ mean(d ⊙ v̂)) with d = dout ⊙ γ; acc_g += dout ⊙ v̂ (∂L/∂γ) and acc_b
// += dout (∂L/∂β) where not null. vhat(at): v̂ at a position (a saved row, or recomputed from v).
// Two passes: d, the gain sums and both row sums; then dv.
template <typename T, typename VH>
void layer_norm_backward_row(const T* __restrict dout, const T* __restrict gain, VH vhat, T rstd, T* __restrict dv,
                             T* __restrict acc_g, T* __restrict acc_b, int64_t n) {
  Sum<T> sd, sdv;
  row_pass<T>(n, [&](auto at) {
    const auto da = at(dout), vh = vhat(at), d = da * at(gain);
    at.set(dv, d);
    if (acc_g) at.set(acc_g, at(acc_g) + da * vh);
    if (acc_b) at.set(acc_b, at(acc_b) + da);
    sd.add(d);
    sdv.add(d * vh);
  });
  const T md = sd.total() / T(n), mdv = sdv.total() / T(n);
  row_pass<T>(n, [&](auto at) { at.set(dv, rstd * ((at(dv) - md) - vhat(at) * mdv)); });
}

// Two LayerNorms fed the same ∂L/∂out (the LSTM's LN_hh and LN_ih both feed a_t): layer_norm_backward_row
// for each, in the same two passes (∂L/∂out read once; acc_b2: the shared shift's sum, or null).
template <typename T, typename VH1, typename VH2>
void layer_norm_backward_rows2(const T* __restrict dout, int64_t n, const T* __restrict g1, VH1 vh1, T r1,
                               T* __restrict dv1, T* __restrict acc_g1, const T* __restrict g2, VH2 vh2, T r2,
                               T* __restrict dv2, T* __restrict acc_g2, T* __restrict acc_b2) {
  Sum<T> s1, s1v, s2, s2v;
  row_pass<T>(n, [&](auto at) {
    const auto da = at(dout), u1 = vh1(at), u2 = vh2(at), d1 = da * at(g1), d2 = da * at(g2);
    at.set(dv1, d1);
    at.set(dv2, d2);
    if (acc_g1) at.set(acc_g1, at(acc_g1) + da * u1);
    if (acc_g2) at.set(acc_g2, at(acc_g2) + da * u2);
    if (acc_b2) at.set(acc_b2, at(acc_b2) + da);
    s1.add(d1);
    s1v.add(d1 * u1);
    s2.add(d2);
    s2v.add(d2 * u2);
  });
  const T m1 = s1.total() / T(n), m1v = s1v.total() / T(n), m2 = s2.total() / T(n), m2v = s2v.total() / T(n);
  row_pass<T>(n, [&](auto at) {
    at.set(dv1, r1 * ((at(dv1) - m1) - vh1(at) * m1v));
    at.set(dv2, r2 * ((at(dv2) - m2) - vh2(at) * m2v));
  });
}

// For v̂ = normalize(v): ∂L/∂v = rstd (∂L/∂v̂ - mean(∂L/∂v̂) - v̂ mean(∂L/∂v̂ ⊙ v̂)), in place in d
template <typename T>
void normalize_backward_row(T* __restrict d, const T* __restrict vhat, T rstd, int64_t n) {
  const T md = lane_sum<T>(n, [&](auto at) { return at(d); }) / T(n);
  const T mdv = lane_sum<T>(n, [&](auto at) { return at(d) * at(vhat); }) / T(n);
  row_pass<T>(n, [&](auto at) { at.set(d, rstd * ((at(d) - md) - at(vhat) * mdv)); });
}

template <typename T>
const T* ptr(opt t) { return t.has_value() && t->defined() ? t->data_ptr<T>() : nullptr; }
template <typename T>
T* mptr(opt t) { return t.has_value() && t->defined() ? t->data_ptr<T>() : nullptr; }
bool has(opt t) { return t.has_value() && t->defined(); }

// Per-unit weight gradients (biases, gains, peepholes) summed inside a backward loop while each
// step's rows are in cache: each step's sum over its B rows in T (vectorised), added to double
// totals once a step (accurate over T·B rows), zeroed for the next step
template <typename T>
struct StepSums {
  std::vector<T> step;
  std::vector<double> total;
  explicit StepSums(int64_t n) : step(n, T(0)), total(n, 0.0) {}
  T* at(int64_t offset) { return step.data() + offset; }
  void end_step() {
    for (size_t j = 0; j < step.size(); ++j) total[j] += double(step[j]);
    std::fill(step.begin(), step.end(), T(0));
  }
  void store(opt out, int64_t offset, int64_t n) const {
    T* o = out->data_ptr<T>();
    for (int64_t j = 0; j < n; ++j) o[j] = T(total[offset + j]);
  }
};

// Buffers the ops write must be contiguous already (they are the caller's whole-sequence buffers);
// what they only read is made contiguous here (a no-op when it is), the mask in the buffers' dtype.
void check_buffers(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    TORCH_CHECK(t->is_contiguous() && t->device().is_cpu(), "rnnlab kernels: a buffer is not contiguous CPU memory");
}
void dense(std::initializer_list<Tensor*> ts) {
  for (Tensor* t : ts) *t = t->contiguous();
}
void dense(std::initializer_list<std::optional<Tensor>*> ts, const Tensor& like) {
  for (std::optional<Tensor>* t : ts)
    if (t->has_value() && (*t)->defined()) **t = (*t)->to(like.scalar_type()).contiguous();
}

// =============================================================================================
// Elman: a_t = X_t + W_hh h_{t-1}; h̃_t = f(a_t); h_t = m_t ? h̃_t : h_{t-1}. Hs holds X on entry,
// h_t on return (elman_bptt.py writes h_t over X_t the same way).
template <typename T>
void elman_forward_impl(Tensor& Hs, const Tensor& h0, opt mask, const Tensor& W, opt bias, int64_t act) {
  const int64_t Tn = Hs.size(0), B = Hs.size(1), H = Hs.size(2);
  T* hs = Hs.data_ptr<T>();
  const T *w = W.data_ptr<T>(), *m = ptr<T>(mask), *bi = ptr<T>(bias);
  const StepMatrix<T> Wm(true, B, H, H, w, H, Tn);
  for (int64_t t = 0; t < Tn; ++t) {
    const T* h = t ? hs + (t - 1) * B * H : h0.data_ptr<T>();
    T* a = hs + t * B * H;
    Wm(h, H, T(1), a, H);  // a_t = W_ih x_t + h_{t-1} W_hhᵀ
    if (bi)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j) a[b * H + j] += bi[j];  // a_t += b
    act_<T>(act, a, B * H);                                 // h̃_t = f(a_t)
    if (m)
      for (int64_t b = 0; b < B; ++b)
        if (m[t * B + b] == 0) std::memcpy(a + b * H, h + b * H, H * sizeof(T));  // h_t = h_{t-1} where m_t = 0
  }
}

// dA holds ∂L/∂h_t = m_t ∂L/∂y_t (+ ∂L/∂h_T) on entry and ∂L/∂a_t on return; dh0 (zeros) gets ∂L/∂h_0;
// dB (if given) ∂L/∂b = Σ_t ∂L/∂a_t.
template <typename T>
void elman_backward_impl(Tensor& dA, Tensor& dh0, const Tensor& Hs, opt mask, const Tensor& W, opt dB, int64_t act) {
  const int64_t Tn = dA.size(0), B = dA.size(1), H = dA.size(2);
  T* da_all = dA.data_ptr<T>();
  const T *hs = Hs.data_ptr<T>(), *w = W.data_ptr<T>(), *m = ptr<T>(mask);
  const StepMatrix<T> Wm(false, B, H, H, w, H, Tn);
  StepSums<T> sums(has(dB) ? H : 0);
  T* db = sums.at(0);
  for (int64_t t = Tn - 1; t >= 0; --t) {
    T* da = da_all + t * B * H;
    T* dprev = t ? da_all + (t - 1) * B * H : dh0.data_ptr<T>();
    if (m)
      for (int64_t b = 0; b < B; ++b) {
        const T mt = m[t * B + b];
        for (int64_t j = 0; j < H; ++j) {
          dprev[b * H + j] += (T(1) - mt) * da[b * H + j];  // ∂L/∂h_{t-1} += (1 - m_t) ∂L/∂h_t
          da[b * H + j] *= mt;                              // ∂L/∂h̃_t = m_t ∂L/∂h_t
        }
      }
    mul_dact<T>(act, da, da, hs + t * B * H, B * H);          // ∂L/∂a_t = ∂L/∂h̃_t ⊙ f'(a_t)
    if (has(dB)) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j) db[j] += da[b * H + j];  // ∂L/∂b = Σ_t ∂L/∂a_t
      sums.end_step();
    }
    Wm(da, H, T(1), dprev, H);  // ∂L/∂h_{t-1} += ∂L/∂a_t W_hh
  }
  if (has(dB)) sums.store(dB, 0, H);
}

// =============================================================================================
// GRU, reset_after: u = U h_{t-1} + b_hh (or γ ⊙ û + b_hh); r, z = σ(X_rz + u_rz); n = tanh(X_n + r ⊙ u_n);
// h̃ = n + z ⊙ (h_{t-1} - n). G holds X on entry and [r, z, u_n] on return, N n, Hs h_t.
template <typename T>
void gru_ra_forward_impl(Tensor& G, Tensor& Hs, Tensor& N, const Tensor& h0, opt mask, const Tensor& U, opt b_ih,
                         opt b_hh, opt g_hh, opt Vhat, opt Vrstd, double eps) {
  const int64_t Tn = G.size(0), B = G.size(1), H3 = G.size(2), H = H3 / 3;
  T *g_all = G.data_ptr<T>(), *hs = Hs.data_ptr<T>(), *ns = N.data_ptr<T>();
  const T *u_w = U.data_ptr<T>(), *m = ptr<T>(mask), *bh = ptr<T>(b_hh), *gain = ptr<T>(g_hh);
  T *vh = mptr<T>(Vhat), *vr = mptr<T>(Vrstd);
  std::vector<T> u_buf(B * H3), zero_buf(has(b_ih) ? 0 : H3, T(0));
  T* u = u_buf.data();
  // G holds W x_t (the caller's GEMM without bias); b_ih joins X here (zeros without it)
  const T* bi = has(b_ih) ? ptr<T>(b_ih) : zero_buf.data();
  const StepMatrix<T> Um(true, B, H3, H, u_w, H, Tn);
  for (int64_t t = 0; t < Tn; ++t) {
    const T* h = t ? hs + (t - 1) * B * H : h0.data_ptr<T>();
    Um(h, H, T(0), u, H3);  // U h_{t-1}
    for (int64_t b = 0; b < B; ++b) {
      T* ub = u + b * H3;
      T* gb = g_all + (t * B + b) * H3;
      if (gain) {  // γ_hh ⊙ û, û = normalize(U h)
        T* vhb = vh + (t * B + b) * H3;
        normalize_row<T>(ub, vhb, vr + t * B + b, H3, eps);
        for (int64_t j = 0; j < H3; ++j) ub[j] = gain[j] * vhb[j];
      }
      if (bh) for (int64_t j = 0; j < H3; ++j) ub[j] += bh[j];  // u = … + b_hh
      for (int64_t j = 0; j < 2 * H; ++j) gb[j] = sig((gb[j] + bi[j]) + ub[j]);  // r, z = σ(X_rz + u_rz), X = W x + b_ih
      T* nb = ns + (t * B + b) * H;
      const T *r = gb, *z = gb + H, *hb = h + b * H;
      for (int64_t j = 0; j < H; ++j) nb[j] = (gb[2 * H + j] + bi[2 * H + j]) + r[j] * ub[2 * H + j];
      tanh_<T>(nb, H);                                                         // n = tanh(X_n + r ⊙ u_n)
      for (int64_t j = 0; j < H; ++j) gb[2 * H + j] = ub[2 * H + j];           // keep u_n over spent X_n
      T* hn = hs + (t * B + b) * H;
      if (m && m[t * B + b] == 0) std::memcpy(hn, hb, H * sizeof(T));          // h_t = h_{t-1} where m_t = 0
      else for (int64_t j = 0; j < H; ++j) hn[j] = nb[j] + z[j] * (hb[j] - nb[j]);  // h̃ = n + z ⊙ (h_{t-1} - n)
    }
  }
}

// dH holds ∂L/∂h_t on entry and ∂L/∂a_n on return; dG gets ∂L/∂u = [∂L/∂a_rz, ∂L/∂u_n], dV ∂L/∂(U h)
// (dV is dG without LayerNorm), dh0 (zeros) ∂L/∂h_0.
template <typename T>
void gru_ra_backward_impl(Tensor& dG, Tensor& dV, Tensor& dH, Tensor& dh0, const Tensor& G, const Tensor& N,
                          const Tensor& Hs, const Tensor& h0, opt mask, const Tensor& U, opt g_hh, opt Vhat,
                          opt Vrstd, opt dB_ih, opt dB_hh) {
  const int64_t Tn = G.size(0), B = G.size(1), H3 = G.size(2), H = H3 / 3;
  T *dg_all = dG.data_ptr<T>(), *dv_all = dV.data_ptr<T>(), *dh_all = dH.data_ptr<T>();
  const T *g_all = G.data_ptr<T>(), *ns = N.data_ptr<T>(), *hs = Hs.data_ptr<T>(), *u_w = U.data_ptr<T>();
  const T *m = ptr<T>(mask), *gain = ptr<T>(g_hh), *vh = ptr<T>(Vhat), *vr = ptr<T>(Vrstd);
  const StepMatrix<T> Um(false, B, H, H3, u_w, H, Tn);
  // ∂L/∂b_hh = Σ_t ∂L/∂u (3H) and ∂L/∂a_n's sum (H): ∂L/∂b_ih = Σ_t [∂L/∂a_rz, ∂L/∂a_n] shares the first 2H
  const bool sum_b = has(dB_ih) || has(dB_hh);
  StepSums<T> sums(sum_b ? H3 + H : 0);
  T *acc_u = sums.at(0), *acc_an = sums.at(sum_b ? H3 : 0);
  for (int64_t t = Tn - 1; t >= 0; --t) {
    const T* hprev = t ? hs + (t - 1) * B * H : h0.data_ptr<T>();
    T* dprev = t ? dh_all + (t - 1) * B * H : dh0.data_ptr<T>();
    for (int64_t b = 0; b < B; ++b) {
      T* dh = dh_all + (t * B + b) * H;
      T* dp = dprev + b * H;
      const T* gb = g_all + (t * B + b) * H3;
      const T *r = gb, *z = gb + H, *un = gb + 2 * H, *n = ns + (t * B + b) * H, *hp = hprev + b * H;
      T* dg = dg_all + (t * B + b) * H3;
      if (m) {
        const T mt = m[t * B + b];
        for (int64_t j = 0; j < H; ++j) {
          dp[j] += (T(1) - mt) * dh[j];  // ∂L/∂h_{t-1} += (1 - m_t) ∂L/∂h_t
          dh[j] *= mt;                   // ∂L/∂h̃_t = m_t ∂L/∂h_t
        }
      }
      RNNLAB_IVDEP  // each j reads and writes only index j of its rows
      for (int64_t j = 0; j < H; ++j) {
        const T d = dh[j];
        dp[j] += d * z[j];                                      // ∂L/∂h_{t-1} += z ⊙ ∂L/∂h̃_t
        const T dz = (hp[j] - n[j]) * d;                        // ∂L/∂z = ∂L/∂h̃ ⊙ (h_{t-1} - n)
        const T dan = d * (T(1) - z[j]) * (T(1) - n[j] * n[j]);  // ∂L/∂a_n = ∂L/∂h̃ ⊙ (1 - z) ⊙ (1 - n²)
        dh[j] = dan;
        const T dr = dan * un[j];                               // ∂L/∂r = ∂L/∂a_n ⊙ u_n
        dg[j] = dr * r[j] * (T(1) - r[j]);                      // ∂L/∂a_r = ∂L/∂r ⊙ σ'
        dg[H + j] = dz * z[j] * (T(1) - z[j]);                  // ∂L/∂a_z = ∂L/∂z ⊙ σ'
        dg[2 * H + j] = dan * r[j];                             // ∂L/∂u_n = ∂L/∂a_n ⊙ r
      }
      if (sum_b) {
        for (int64_t j = 0; j < H3; ++j) acc_u[j] += dg[j];  // Σ ∂L/∂u
        for (int64_t j = 0; j < H; ++j) acc_an[j] += dh[j];  // Σ ∂L/∂a_n
      }
      if (gain) {  // ∂L/∂(U h) = normalize_backward(∂L/∂u ⊙ γ_hh)
        T* dv = dv_all + (t * B + b) * H3;
        for (int64_t j = 0; j < H3; ++j) dv[j] = dg[j] * gain[j];
        normalize_backward_row<T>(dv, vh + (t * B + b) * H3, vr[t * B + b], H3);
      }
    }
    if (sum_b) sums.end_step();
    Um(dv_all + t * B * H3, H3, T(1), dprev, H);  // ∂L/∂h_{t-1} += ∂L/∂(U h) U
  }
  if (has(dB_hh)) sums.store(dB_hh, 0, H3);  // ∂L/∂b_hh = Σ_t ∂L/∂u
  if (has(dB_ih)) {                          // ∂L/∂b_ih = Σ_t [∂L/∂a_rz, ∂L/∂a_n]
    sums.store(dB_ih, 0, 2 * H);
    sums.store(dB_ih->narrow(0, 2 * H, H), H3, H);
  }
}

// =============================================================================================
// GRU, reset_before (Cho et al.): r, z = σ(X_rz + U_rz h_{t-1}) (or γ_hh ⊙ û); n = tanh(X_n + U_n (r ⊙ h_{t-1}))
// (or γ_hn ⊙ normalize(·)). A holds X on entry and [r, z, n] on return, RH r ⊙ h_{t-1}, Hs h_t.
template <typename T>
void gru_rb_forward_impl(Tensor& A, Tensor& Hs, Tensor& RH, const Tensor& h0, opt mask, const Tensor& U, opt g_hh,
                         opt g_hn, opt Vhat, opt Vrstd, opt Nhat, opt Nrstd, double eps_hh, double eps_hn) {
  const int64_t Tn = A.size(0), B = A.size(1), H3 = A.size(2), H = H3 / 3;
  T *a_all = A.data_ptr<T>(), *hs = Hs.data_ptr<T>(), *rh_all = RH.data_ptr<T>();
  const T *u_w = U.data_ptr<T>(), *m = ptr<T>(mask), *ghh = ptr<T>(g_hh), *ghn = ptr<T>(g_hn);
  T *vh = mptr<T>(Vhat), *vr = mptr<T>(Vrstd), *nh = mptr<T>(Nhat), *nr = mptr<T>(Nrstd);
  const T* u_n = u_w + 2 * H * H;
  std::vector<T> v_buf(ghh ? B * 2 * H : 0), w_buf(ghn ? B * H : 0);
  const StepMatrix<T> Urz(true, B, 2 * H, H, u_w, H, Tn), Un(true, B, H, H, u_n, H, Tn);
  for (int64_t t = 0; t < Tn; ++t) {
    const T* h = t ? hs + (t - 1) * B * H : h0.data_ptr<T>();
    T* a = a_all + t * B * H3;
    T* rh = rh_all + t * B * H;
    if (ghh) {  // a_rz = X_rz + γ_hh ⊙ normalize(U_rz h_{t-1})
      T* v = v_buf.data();
      Urz(h, H, T(0), v, 2 * H);
      for (int64_t b = 0; b < B; ++b) {
        T* vhb = vh + (t * B + b) * 2 * H;
        normalize_row<T>(v + b * 2 * H, vhb, vr + t * B + b, 2 * H, eps_hh);
        for (int64_t j = 0; j < 2 * H; ++j) a[b * H3 + j] += ghh[j] * vhb[j];
      }
    } else {
      Urz(h, H, T(1), a, H3);  // a_rz = X_rz + U_rz h_{t-1}
    }
    for (int64_t b = 0; b < B; ++b) {
      T* ab = a + b * H3;
      sigmoid_<T>(ab, 2 * H);                                            // r, z = σ(a_rz)
      for (int64_t j = 0; j < H; ++j) rh[b * H + j] = ab[j] * h[b * H + j];  // r ⊙ h_{t-1}
    }
    if (ghn) {  // a_n = X_n + γ_hn ⊙ normalize(U_n (r ⊙ h_{t-1}))
      T* w = w_buf.data();
      Un(rh, H, T(0), w, H);
      for (int64_t b = 0; b < B; ++b) {
        T* nhb = nh + (t * B + b) * H;
        normalize_row<T>(w + b * H, nhb, nr + t * B + b, H, eps_hn);
        for (int64_t j = 0; j < H; ++j) a[b * H3 + 2 * H + j] += ghn[j] * nhb[j];
      }
    } else {
      Un(rh, H, T(1), a + 2 * H, H3);  // a_n = X_n + U_n (r ⊙ h_{t-1})
    }
    for (int64_t b = 0; b < B; ++b) {
      T* ab = a + b * H3;
      T *n = ab + 2 * H, *hn = hs + (t * B + b) * H;
      const T *z = ab + H, *hb = h + b * H;
      tanh_<T>(n, H);  // n = tanh(a_n)
      if (m && m[t * B + b] == 0) std::memcpy(hn, hb, H * sizeof(T));              // h_t = h_{t-1} where m_t = 0
      else for (int64_t j = 0; j < H; ++j) hn[j] = n[j] + z[j] * (hb[j] - n[j]);  // h̃ = n + z ⊙ (h_{t-1} - n)
    }
  }
}

// dH: ∂L/∂h_t on entry (spent on return); dA gets ∂L/∂a (= ∂L/∂X), dV ∂L/∂(U_rz h), ∂L/∂(U_n rh) (dV is dA
// without LayerNorm), dh0 (zeros) ∂L/∂h_0.
template <typename T>
void gru_rb_backward_impl(Tensor& dA, Tensor& dV, Tensor& dH, Tensor& dh0, const Tensor& A, const Tensor& Hs,
                          const Tensor& h0, opt mask, const Tensor& U, opt g_hh, opt g_hn, opt Vhat, opt Vrstd,
                          opt Nhat, opt Nrstd) {
  const int64_t Tn = A.size(0), B = A.size(1), H3 = A.size(2), H = H3 / 3;
  T *da_all = dA.data_ptr<T>(), *dv_all = dV.data_ptr<T>(), *dh_all = dH.data_ptr<T>();
  const T *a_all = A.data_ptr<T>(), *hs = Hs.data_ptr<T>(), *u_w = U.data_ptr<T>(), *m = ptr<T>(mask);
  const T *ghh = ptr<T>(g_hh), *ghn = ptr<T>(g_hn), *vh = ptr<T>(Vhat), *vr = ptr<T>(Vrstd), *nh = ptr<T>(Nhat),
          *nr = ptr<T>(Nrstd);
  const T* u_n = u_w + 2 * H * H;
  std::vector<T> drh_buf(B * H);
  T* drh = drh_buf.data();
  const StepMatrix<T> Urz(false, B, H, 2 * H, u_w, H, Tn), Un(false, B, H, H, u_n, H, Tn);
  for (int64_t t = Tn - 1; t >= 0; --t) {
    const T* hprev = t ? hs + (t - 1) * B * H : h0.data_ptr<T>();
    T* dprev = t ? dh_all + (t - 1) * B * H : dh0.data_ptr<T>();
    for (int64_t b = 0; b < B; ++b) {
      T* dh = dh_all + (t * B + b) * H;
      T* dp = dprev + b * H;
      const T* ab = a_all + (t * B + b) * H3;
      const T *z = ab + H, *n = ab + 2 * H, *hp = hprev + b * H;
      T* da = da_all + (t * B + b) * H3;
      if (m) {
        const T mt = m[t * B + b];
        for (int64_t j = 0; j < H; ++j) {
          dp[j] += (T(1) - mt) * dh[j];  // ∂L/∂h_{t-1} += (1 - m_t) ∂L/∂h_t
          dh[j] *= mt;                   // ∂L/∂h̃_t = m_t ∂L/∂h_t
        }
      }
      RNNLAB_IVDEP  // each j reads and writes only index j of its rows
      for (int64_t j = 0; j < H; ++j) {
        const T d = dh[j];
        dp[j] += d * z[j];                                            // ∂L/∂h_{t-1} += z ⊙ ∂L/∂h̃_t
        const T dz = (hp[j] - n[j]) * d;                              // ∂L/∂z = ∂L/∂h̃ ⊙ (h_{t-1} - n)
        da[H + j] = dz * z[j] * (T(1) - z[j]);                        // ∂L/∂a_z = ∂L/∂z ⊙ σ'
        da[2 * H + j] = d * (T(1) - z[j]) * (T(1) - n[j] * n[j]);     // ∂L/∂a_n = ∂L/∂h̃ ⊙ (1 - z) ⊙ (1 - n²)
      }
      if (ghn) {  // ∂L/∂(U_n rh) = normalize_backward(∂L/∂u_n ⊙ γ_hn)
        T* dvn = dv_all + (t * B + b) * H3 + 2 * H;
        for (int64_t j = 0; j < H; ++j) dvn[j] = da[2 * H + j] * ghn[j];
        normalize_backward_row<T>(dvn, nh + (t * B + b) * H, nr[t * B + b], H);
      }
    }
    // ∂L/∂(r ⊙ h) = ∂L/∂(U_n rh) U_n
    Un(dv_all + t * B * H3 + 2 * H, H3, T(0), drh, H);
    for (int64_t b = 0; b < B; ++b) {
      const T* ab = a_all + (t * B + b) * H3;
      const T *r = ab, *hp = hprev + b * H, *dq = drh + b * H;
      T* da = da_all + (t * B + b) * H3;
      T* dp = dprev + b * H;
      for (int64_t j = 0; j < H; ++j) {
        da[j] = dq[j] * hp[j] * r[j] * (T(1) - r[j]);  // ∂L/∂a_r = (∂L/∂(r ⊙ h) ⊙ h_{t-1}) ⊙ σ'
        dp[j] += dq[j] * r[j];                          // ∂L/∂h_{t-1} += ∂L/∂(r ⊙ h) ⊙ r
      }
      if (ghh) {  // ∂L/∂(U_rz h) = normalize_backward(∂L/∂a_rz ⊙ γ_hh)
        T* dv = dv_all + (t * B + b) * H3;
        for (int64_t j = 0; j < 2 * H; ++j) dv[j] = da[j] * ghh[j];
        normalize_backward_row<T>(dv, vh + (t * B + b) * 2 * H, vr[t * B + b], 2 * H);
      }
    }
    Urz(dv_all + t * B * H3, H3, T(1), dprev, H);  // += ∂L/∂(U_rz h) U_rz
  }
}

// =============================================================================================
// LSTM (lstm_bptt.py's equations): A holds X (T, B, 4H) on entry and [i, f, g, o] on return;
// with LN_ih (g_ih) A is only written: WX holds W x (no bias), Xmean its row means on entry (the
// caller's x_t · mean of W's rows: one product of D terms a row, not a pass over 4H), and
// X = γ_ih ⊙ normalize(W x) + b is formed per row in the pass that adds R(h); Xrstd gets the rows'
// rstd. The mean of U h_{t-1} likewise comes from h_{t-1} · ū (ū: U's mean row), so each
// LayerNorm row of the step takes one pass for its variance and shares the pass that writes a_t.
// Hs (T+1, B, R),
// Cs (T+1, B, H) hold h_0, c_0 in row 0 and get h_t, c_t; S gets s = ψ(n); K (proj only) k = o ⊙ s;
// Uhat/Urstd and Nhat/Nrstd the other LayerNorm statistics.
template <typename T>
void lstm_forward_impl(Tensor& A, Tensor& Hs, Tensor& Cs, Tensor& S, opt K, opt mask, const Tensor& U, opt p_i,
                       opt p_f, opt p_o, opt g_ih, opt bias, opt g_hh, opt g_c, opt b_c, opt W_hr, opt WX,
                       opt Xmean, opt Xrstd, opt Uhat, opt Urstd, opt Nhat, opt Nrstd, int64_t phi, int64_t psi,
                       double eps_ih, double eps_hh, double eps_c) {
  const int64_t Tn = A.size(0), B = A.size(1), H4 = A.size(2), H = H4 / 4, R = Hs.size(2);
  T *a_all = A.data_ptr<T>(), *hs = Hs.data_ptr<T>(), *cs = Cs.data_ptr<T>(), *s_all = S.data_ptr<T>();
  T *k_all = mptr<T>(K), *uh = mptr<T>(Uhat), *ur = mptr<T>(Urstd), *nh = mptr<T>(Nhat), *nr = mptr<T>(Nrstd);
  T *xm = mptr<T>(Xmean), *xr = mptr<T>(Xrstd);
  const T *u_w = U.data_ptr<T>(), *m = ptr<T>(mask), *pi = ptr<T>(p_i), *pf = ptr<T>(p_f), *po = ptr<T>(p_o);
  const T *ghh = ptr<T>(g_hh), *gc = ptr<T>(g_c), *bc = ptr<T>(b_c), *whr = ptr<T>(W_hr);
  const T *gih = ptr<T>(g_ih), *wx_all = ptr<T>(WX);
  std::vector<T> v_buf(ghh ? B * H4 : 0), zero_buf(has(bias) ? 0 : H4, T(0));
  const T* bi = has(bias) ? ptr<T>(bias) : zero_buf.data();  // b (zeros without bias)
  // without LN_ih A holds W x_t and the loop adds b (the caller's GEMM over all steps then has no
  // bias to broadcast into its output first: an extra pass over a (T, B, 4H) buffer)
  const bool add_b = !gih && has(bias);
  std::vector<T> ubar(ghh ? R : 0);  // ū = mean over U's 4H rows: mean(U h) = ū · h
  if (ghh) {
    std::vector<double> sum(R, 0.0);
    for (int64_t j = 0; j < H4; ++j)
      for (int64_t k = 0; k < R; ++k) sum[k] += u_w[j * R + k];
    for (int64_t k = 0; k < R; ++k) ubar[k] = T(sum[k] / H4);
  }
  const StepMatrix<T> Um(true, B, H4, R, u_w, R, Tn), Wr(true, whr ? B : 0, R, H, whr, H, Tn);
  for (int64_t t = 0; t < Tn; ++t) {
    const T *h = hs + t * B * R;
    T* a = a_all + t * B * H4;
    if (ghh) {  // a = X + γ_hh ⊙ û, û = normalize(U h_{t-1})
      T* v = v_buf.data();
      Um(h, R, T(0), v, H4);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t row = t * B + b;
        const T* vb = v + b * H4;
        T *ab = a + b * H4, *uhb = uh + row * H4;
        const T* hb = h + b * R;
        const T mu_v = lane_sum<T>(R, [&](auto at) { return at(ubar.data()) * at(hb); });  // ū · h_{t-1}
        if (gih) {  // a = γ_ih ⊙ x̂ + b + γ_hh ⊙ û, x̂ = normalize(W x_t)
          const T* wxb = wx_all + row * H4;
          const T mu_x = xm[row];
          Sum<T> qv, qx;  // both variances in one pass
          row_pass<T>(H4, [&](auto at) {
            const auto dv = at(vb) - mu_v, dx = at(wxb) - mu_x;
            qv.add(dv * dv);
            qx.add(dx * dx);
          });
          const T r_v = T(1.0 / std::sqrt(double(qv.total() / T(H4)) + eps_hh));
          const T r_x = T(1.0 / std::sqrt(double(qx.total() / T(H4)) + eps_ih));
          ur[row] = r_v;
          xr[row] = r_x;
          RNNLAB_IVDEP
          for (int64_t j = 0; j < H4; ++j) {
            const T u = (vb[j] - mu_v) * r_v;
            uhb[j] = u;
            ab[j] = (gih[j] * ((wxb[j] - mu_x) * r_x) + bi[j]) + ghh[j] * u;
          }
        } else {
          const T r_v = row_rstd<T>(vb, H4, mu_v, eps_hh);
          ur[row] = r_v;
          RNNLAB_IVDEP
          for (int64_t j = 0; j < H4; ++j) {
            const T u = (vb[j] - mu_v) * r_v;
            uhb[j] = u;
            ab[j] += bi[j] + ghh[j] * u;  // a = W x + b + γ_hh ⊙ û
          }
        }
      }
    } else {
      if (gih)  // X = γ_ih ⊙ x̂ + b, x̂ = normalize(W x_t)
        for (int64_t b = 0; b < B; ++b) {
          const int64_t row = t * B + b;
          const T* wxb = wx_all + row * H4;
          T* ab = a + b * H4;
          const T mu_x = xm[row], r_x = row_rstd<T>(wxb, H4, mu_x, eps_ih);
          xr[row] = r_x;
          RNNLAB_IVDEP
          for (int64_t j = 0; j < H4; ++j) ab[j] = gih[j] * ((wxb[j] - mu_x) * r_x) + bi[j];
        }
      Um(h, R, T(1), a, H4);  // a = X + U h_{t-1}
    }
    for (int64_t b = 0; b < B; ++b) {
      T *ab = a + b * H4, *i = ab, *f = ab + H, *g = ab + 2 * H, *o = ab + 3 * H;
      if (add_b && !ghh)
        for (int64_t j = 0; j < H4; ++j) ab[j] += bi[j];  // a = W x + b + U h_{t-1}
      const T* c = cs + (t * B + b) * H;
      T* cn = cs + ((t + 1) * B + b) * H;
      T* s = s_all + (t * B + b) * H;
      if (pi)  // i and f peek at c_{t-1}
        for (int64_t j = 0; j < H; ++j) {
          i[j] += pi[j] * c[j];
          f[j] += pf[j] * c[j];
        }
      sigmoid_<T>(i, 2 * H);  // i, f = σ(a_i + p_i ⊙ c_{t-1}), σ(a_f + p_f ⊙ c_{t-1})
      act_<T>(phi, g, H);     // g = φ(a_g)
      for (int64_t j = 0; j < H; ++j) cn[j] = f[j] * c[j] + i[j] * g[j];  // c̃ = f ⊙ c_{t-1} + i ⊙ g
      if (po) for (int64_t j = 0; j < H; ++j) o[j] += po[j] * cn[j];       // o peeks at c̃_t
      sigmoid_<T>(o, H);                                                   // o = σ(a_o + p_o ⊙ c̃_t)
      if (gc) {  // n = γ_c ⊙ n̂ + β_c, n̂ = normalize(c̃)
        T* nhb = nh + (t * B + b) * H;
        normalize_row<T>(cn, nhb, nr + t * B + b, H, eps_c);
        for (int64_t j = 0; j < H; ++j) s[j] = gc[j] * nhb[j] + bc[j];
      } else {
        std::memcpy(s, cn, H * sizeof(T));  // n = c̃
      }
      act_<T>(psi, s, H);  // s = ψ(n)
      T* k = whr ? k_all + (t * B + b) * H : hs + ((t + 1) * B + b) * R;
      for (int64_t j = 0; j < H; ++j) k[j] = o[j] * s[j];  // k = o ⊙ s (= h̃ without proj)
    }
    T* hn = hs + (t + 1) * B * R;
    if (whr) Wr(k_all + t * B * H, H, T(0), hn, R);  // h̃ = W_hr k
    if (m)
      for (int64_t b = 0; b < B; ++b)
        if (m[t * B + b] == 0) {  // a padded step keeps the old state
          std::memcpy(hn + b * R, h + b * R, R * sizeof(T));
          std::memcpy(cs + ((t + 1) * B + b) * H, cs + (t * B + b) * H, H * sizeof(T));
        }
  }
}

// f'(v) from the output y = f(v) without a branch on the kind inside the loops (so they vectorise):
// p = c0 + y (c1 + c2 y) is tanh' = 1 - y², σ' = y(1 - y), identity' = 1 (and 0 for relu), then
// p + c3 ([y > 0] - p) adds relu' = [y > 0] (c3 = 1 for relu only; exact: p + 0·(…) = p) — activations.py's table.
// All members T (a bool member kept GCC from vectorising the loop that used it).
template <typename T>
struct DAct {
  T c0, c1, c2, c3;
  explicit DAct(int64_t kind)
      : c0(kind == TANH || kind == IDENTITY ? 1 : 0), c1(kind == SIGMOID ? 1 : 0),
        c2(kind == TANH || kind == SIGMOID ? -1 : 0), c3(kind == RELU ? 1 : 0) {}
  T operator()(T y) const {
    const T p = c0 + y * (c1 + c2 * y);
    return p + c3 * ((y > T(0) ? T(1) : T(0)) - p);
  }
};

// dA gets ∂L/∂a_t (or, absent, each row's ∂L/∂a_t lives in a scratch row: with LN_hh and LN_ih
// nothing after the loop needs it), dUh ∂L/∂(U h_{t-1}) (dUh is ∂L/∂a_t itself without LN_hh), dX
// (LN_ih) ∂L/∂(W x_t) = normalize_backward(∂L/∂a_t ⊙ γ_ih), dHt ∂L/∂h̃_t (proj), dN ∂L/∂n (LN_c); dh,
// dc hold ∂L/∂h_T, ∂L/∂c_T on entry and ∂L/∂h_0, ∂L/∂c_0 on return. The per-unit weights' gradients
// are summed here too, while each step's rows are in L1, where their outputs are given: dP (3, H)
// ∂L/∂p_i, ∂L/∂p_f, ∂L/∂p_o; dGih, dB ∂L/∂γ_ih, ∂L/∂b (LN_ih); dGhh ∂L/∂γ_hh; dGc, dBc ∂L/∂γ_c,
// ∂L/∂β_c (each step's sum over its rows in T, the steps' sums in double).
template <typename T>
void lstm_backward_impl(opt dA, Tensor& dUh, opt dX, opt dHt, opt dN, Tensor& dh_t, Tensor& dc_t, const Tensor& dY,
                        const Tensor& A, const Tensor& Cs, const Tensor& S, opt mask, const Tensor& U, opt p_i,
                        opt p_f, opt p_o, opt g_ih, opt g_hh, opt g_c, opt W_hr, opt WX, opt Xmean, opt Xrstd,
                        opt Uhat, opt Urstd, opt Nhat, opt Nrstd, int64_t phi, int64_t psi, opt dP, opt dGih, opt dB,
                        opt dGhh, opt dGc, opt dBc) {
  const int64_t Tn = A.size(0), B = A.size(1), H4 = A.size(2), H = H4 / 4, R = dh_t.size(1);
  T *da_all = mptr<T>(dA), *duh_all = dUh.data_ptr<T>(), *dht_all = mptr<T>(dHt), *dn_all = mptr<T>(dN);
  T* dx_all = mptr<T>(dX);
  const T *gih = ptr<T>(g_ih), *wx_all = ptr<T>(WX), *xm = ptr<T>(Xmean), *xr = ptr<T>(Xrstd);
  T *dh = dh_t.data_ptr<T>(), *dc = dc_t.data_ptr<T>();
  const T *dy = dY.data_ptr<T>(), *a_all = A.data_ptr<T>(), *cs = Cs.data_ptr<T>(), *s_all = S.data_ptr<T>();
  const T *u_w = U.data_ptr<T>(), *m = ptr<T>(mask), *pi = ptr<T>(p_i), *pf = ptr<T>(p_f), *po = ptr<T>(p_o);
  const T *ghh = ptr<T>(g_hh), *gc = ptr<T>(g_c), *whr = ptr<T>(W_hr), *uh = ptr<T>(Uhat), *ur = ptr<T>(Urstd),
          *nh = ptr<T>(Nhat), *nr = ptr<T>(Nrstd);
  std::vector<T> dht_buf(whr ? 0 : B * R), dk_buf(whr ? B * H : 0), dct_buf(m ? B * H : 0), tmp_buf(H),
      zero_buf(H, T(0)), da_buf(H4), dn_buf(H);
  T* tmp = tmp_buf.data();
  // without peepholes they are 0: the fused loop below then adds exact zeros instead of branching
  const T *Pi = pi ? pi : zero_buf.data(), *Pf = pf ? pf : zero_buf.data(), *Po = po ? po : zero_buf.data();
  const bool sum_p = pi && has(dP), sum_ghh = ghh && has(dGhh), sum_c = gc && has(dGc) && has(dBc);
  const bool sum_gih = gih && has(dGih), sum_b = has(dB);  // ∂L/∂b = Σ_t ∂L/∂a_t, with LN_ih or without
  // sums over one step's B rows in T (vectorised, no conversions), added to the double totals once a step
  const int64_t n_acc =
      (sum_p ? 3 * H : 0) + (sum_ghh ? H4 : 0) + (sum_c ? 2 * H : 0) + (sum_gih ? H4 : 0) + (sum_b ? H4 : 0);
  StepSums<T> sums(n_acc);
  T *api = sums.at(0), *apf = api + H, *apo = apf + H;  // ∂L/∂p_i, ∂L/∂p_f, ∂L/∂p_o (if sum_p)
  T* acc_ghh = sums.at(sum_p ? 3 * H : 0);                // ∂L/∂γ_hh (if sum_ghh)
  T* acc_gc = acc_ghh + (sum_ghh ? H4 : 0);                // ∂L/∂γ_c, ∂L/∂β_c (if sum_c)
  T* acc_bc = acc_gc + H;
  T* acc_gih = acc_gc + (sum_c ? 2 * H : 0);             // ∂L/∂γ_ih (if sum_gih)
  T* acc_b = acc_gih + (sum_gih ? H4 : 0);               // ∂L/∂b (if sum_b)
  const DAct<T> dphi(phi), dpsi(psi);
  const T keep_c = m ? T(1) : T(0);  // with a mask ∂L/∂c_{t-1} already holds (1 - m_t) ∂L/∂c_t; without, it is rewritten
  const StepMatrix<T> Um(false, B, R, H4, u_w, R, Tn), Wr(false, whr ? B : 0, H, R, whr, H, Tn);
  for (int64_t t = Tn - 1; t >= 0; --t) {
    T* dht = whr ? dht_all + t * B * R : dht_buf.data();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < R; ++j) dht[b * R + j] = dy[(t * B + b) * R + j] + dh[b * R + j];  // ∂L/∂h̃ = ∂L/∂y + ∂L/∂h
    T* dct = m ? dct_buf.data() : dc;  // ∂L/∂c̃_t (c̃_t is c_t without a mask)
    if (m)
      for (int64_t b = 0; b < B; ++b) {
        const T mt = m[t * B + b], keep = T(1) - mt;
        for (int64_t j = 0; j < R; ++j) {
          dht[b * R + j] *= mt;   // ∂L/∂h̃_t = m_t (∂L/∂y_t + ∂L/∂h_t)
          dh[b * R + j] *= keep;  // ∂L/∂h_{t-1} = (1 - m_t) ∂L/∂h_t + (through a_t, below)
        }
        for (int64_t j = 0; j < H; ++j) {
          dct[b * H + j] = dc[b * H + j] * mt;  // ∂L/∂c̃_t = m_t ∂L/∂c_t + (through h̃_t, below)
          dc[b * H + j] *= keep;                // ∂L/∂c_{t-1} = (1 - m_t) ∂L/∂c_t + (through c̃_t, below)
        }
      }
    T* dk = dht;
    if (whr) {
      dk = dk_buf.data();
      Wr(dht, R, T(0), dk, H);  // ∂L/∂k = ∂L/∂h̃ W_hr
    }
    for (int64_t b = 0; b < B; ++b) {
      const T* ab = a_all + (t * B + b) * H4;
      const T *i = ab, *f = ab + H, *g = ab + 2 * H, *o = ab + 3 * H;
      const T *s = s_all + (t * B + b) * H, *cp = cs + (t * B + b) * H, *cn = cs + ((t + 1) * B + b) * H;
      const T* dkb = dk + b * H;
      const int64_t row = t * B + b;
      // ∂L/∂a_t: its own buffer, else (LN_hh and LN_ih, where nothing after the loop reads it) a row
      // in L1; without LN_hh it is ∂L/∂(U h_{t-1}) itself
      T* da = !ghh ? duh_all + row * H4 : da_all ? da_all + row * H4 : da_buf.data();
      T *dai = da, *daf = da + H, *dag = da + 2 * H, *dao = da + 3 * H;
      T *dcb = dct + b * H, *dcn = dc + b * H;  // the same row without a mask
      RNNLAB_IVDEP
      for (int64_t j = 0; j < H; ++j) {
        dao[j] = dkb[j] * s[j] * o[j] * (T(1) - o[j]);  // ∂L/∂a_o = (∂L/∂k ⊙ s) ⊙ σ'
        tmp[j] = dkb[j] * o[j] * dpsi(s[j]);            // ∂L/∂n = (∂L/∂k ⊙ o) ⊙ ψ'
      }
      if (gc) {  // n = γ_c ⊙ n̂ + β_c: ∂L/∂c̃ gets (∂n̂/∂c̃)ᵀ (∂L/∂n ⊙ γ_c) (in tmp)
        T* dn = dn_all ? dn_all + row * H : dn_buf.data();  // ∂L/∂n (kept where the caller asks)
        const T* nhb = nh + row * H;
        for (int64_t j = 0; j < H; ++j) dn[j] = tmp[j];
        // ∂L/∂γ_c = Σ_t ∂L/∂n ⊙ n̂, ∂L/∂β_c = Σ_t ∂L/∂n
        layer_norm_backward_row<T>(dn, gc, [nhb](auto at) { return at(nhb); }, nr[row], tmp,
                                   sum_c ? acc_gc : nullptr, sum_c ? acc_bc : nullptr, H);
      }
      RNNLAB_IVDEP
      for (int64_t j = 0; j < H; ++j) {
        const T d = (dcb[j] + tmp[j]) + dao[j] * Po[j];  // ∂L/∂c̃ += (∂n/∂c̃)ᵀ ∂L/∂n + ∂L/∂a_o ⊙ p_o
        const T ii = i[j], ff = f[j], gg = g[j];
        const T dii = d * gg * ii * (T(1) - ii);   // ∂L/∂a_i = (∂L/∂c̃ ⊙ g) ⊙ σ'
        const T dff = d * cp[j] * ff * (T(1) - ff);  // ∂L/∂a_f = (∂L/∂c̃ ⊙ c_{t-1}) ⊙ σ'
        dai[j] = dii;
        daf[j] = dff;
        dag[j] = d * ii * dphi(gg);  // ∂L/∂a_g = (∂L/∂c̃ ⊙ i) ⊙ φ'
        // ∂L/∂c_{t-1} (+)= ∂L/∂c̃_t ⊙ f + ∂L/∂a_i ⊙ p_i + ∂L/∂a_f ⊙ p_f
        dcn[j] = (keep_c * dcn[j] + d * ff) + (dii * Pi[j] + dff * Pf[j]);
      }
      if (sum_p)
        for (int64_t j = 0; j < H; ++j) {
          api[j] += dai[j] * cp[j];                  // ∂L/∂p_i = Σ_t ∂L/∂a_i ⊙ c_{t-1}
          apf[j] += daf[j] * cp[j];                  // ∂L/∂p_f = Σ_t ∂L/∂a_f ⊙ c_{t-1}
          apo[j] += dao[j] * cn[j];                  // ∂L/∂p_o = Σ_t ∂L/∂a_o ⊙ c̃_t (c_t wherever ∂L/∂a_o ≠ 0)
        }
      if (ghh && gih) {  // both of the blocks below, in the same two passes over the row
        const T* uhb = uh + row * H4;
        const T* wxb = wx_all + row * H4;
        const T mu = xm[row], r = xr[row];
        layer_norm_backward_rows2<T>(da, H4, ghh, [uhb](auto at) { return at(uhb); }, ur[row], duh_all + row * H4,
                                     sum_ghh ? acc_ghh : nullptr, gih,
                                     [wxb, mu, r](auto at) { return (at(wxb) - mu) * r; }, r, dx_all + row * H4,
                                     sum_gih ? acc_gih : nullptr, sum_b ? acc_b : nullptr);
      } else if (ghh) {  // ∂L/∂(U h_{t-1}) = normalize_backward(∂L/∂a ⊙ γ_hh); ∂L/∂γ_hh = Σ_t ∂L/∂a ⊙ û
        const T* uhb = uh + row * H4;
        layer_norm_backward_row<T>(da, ghh, [uhb](auto at) { return at(uhb); }, ur[row], duh_all + row * H4,
                                   sum_ghh ? acc_ghh : nullptr, nullptr, H4);
      } else if (gih) {  // ∂L/∂(W x_t) = normalize_backward(∂L/∂a ⊙ γ_ih), x̂ recomputed from W x, μ, rstd;
                         // ∂L/∂γ_ih = Σ_t ∂L/∂a ⊙ x̂, ∂L/∂b = Σ_t ∂L/∂a
        const T* wxb = wx_all + row * H4;
        const T mu = xm[row], r = xr[row];
        layer_norm_backward_row<T>(da, gih, [wxb, mu, r](auto at) { return (at(wxb) - mu) * r; }, r,
                                   dx_all + row * H4, sum_gih ? acc_gih : nullptr, sum_b ? acc_b : nullptr, H4);
      }
      if (sum_b && !gih)
        for (int64_t j = 0; j < H4; ++j) acc_b[j] += da[j];  // ∂L/∂b = Σ_t ∂L/∂a_t
    }
    sums.end_step();
    // ∂L/∂h_{t-1} (+)= ∂L/∂(U h_{t-1}) U
    Um(duh_all + t * B * H4, H4, m ? T(1) : T(0), dh, R);
  }
  int64_t offset = 0;  // the sums in the order laid out above
  auto store = [&sums, &offset](opt out, int64_t n) {
    sums.store(out, offset, n);
    offset += n;
  };
  if (sum_p) store(dP, 3 * H);
  if (sum_ghh) store(dGhh, H4);
  if (sum_c) {
    store(dGc, H);
    store(dBc, H);
  }
  if (sum_gih) store(dGih, H4);
  if (sum_b) store(dB, H4);
}

// ---------------------------------------------------------------------------------------------
// The ops (torch.ops.rnnlab_rnn.*): check the layout, then dispatch on float32 / float64.
#define RNNLAB_DISPATCH(t, name, ...) \
  AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), name, [&] { __VA_ARGS__; })

void elman_forward(Tensor Hs, Tensor h0, std::optional<Tensor> mask, Tensor W, std::optional<Tensor> b, int64_t act) {
  check_buffers({&Hs});
  dense({&h0, &W});
  dense({&mask, &b}, Hs);
  RNNLAB_DISPATCH(Hs, "elman_forward", elman_forward_impl<scalar_t>(Hs, h0, mask, W, b, act));
}
void elman_backward(Tensor dA, Tensor dh0, Tensor Hs, std::optional<Tensor> mask, Tensor W, std::optional<Tensor> dB,
                    int64_t act) {
  check_buffers({&dA, &dh0});
  if (has(dB)) check_buffers({&*dB});
  dense({&Hs, &W});
  dense({&mask}, dA);
  RNNLAB_DISPATCH(dA, "elman_backward", elman_backward_impl<scalar_t>(dA, dh0, Hs, mask, W, dB, act));
}
void gru_ra_forward(Tensor G, Tensor Hs, Tensor N, Tensor h0, std::optional<Tensor> mask, Tensor U,
                    std::optional<Tensor> b_ih, std::optional<Tensor> b_hh, std::optional<Tensor> g_hh,
                    std::optional<Tensor> Vhat, std::optional<Tensor> Vrstd, double eps) {
  check_buffers({&G, &Hs, &N});
  dense({&h0, &U});
  dense({&mask, &b_ih, &b_hh, &g_hh}, G);
  RNNLAB_DISPATCH(G, "gru_ra_forward",
                  gru_ra_forward_impl<scalar_t>(G, Hs, N, h0, mask, U, b_ih, b_hh, g_hh, Vhat, Vrstd, eps));
}
void gru_ra_backward(Tensor dG, Tensor dV, Tensor dH, Tensor dh0, Tensor G, Tensor N, Tensor Hs, Tensor h0,
                     std::optional<Tensor> mask, Tensor U, std::optional<Tensor> g_hh, std::optional<Tensor> Vhat,
                     std::optional<Tensor> Vrstd, std::optional<Tensor> dB_ih, std::optional<Tensor> dB_hh) {
  check_buffers({&dG, &dV, &dH, &dh0});
  if (has(dB_ih)) check_buffers({&*dB_ih});
  if (has(dB_hh)) check_buffers({&*dB_hh});
  dense({&G, &N, &Hs, &h0, &U});
  dense({&mask, &g_hh, &Vhat, &Vrstd}, G);
  RNNLAB_DISPATCH(G, "gru_ra_backward",
                  gru_ra_backward_impl<scalar_t>(dG, dV, dH, dh0, G, N, Hs, h0, mask, U, g_hh, Vhat, Vrstd, dB_ih,
                                                 dB_hh));
}
void gru_rb_forward(Tensor A, Tensor Hs, Tensor RH, Tensor h0, std::optional<Tensor> mask, Tensor U,
                    std::optional<Tensor> g_hh, std::optional<Tensor> g_hn, std::optional<Tensor> Vhat,
                    std::optional<Tensor> Vrstd, std::optional<Tensor> Nhat, std::optional<Tensor> Nrstd,
                    double eps_hh, double eps_hn) {
  check_buffers({&A, &Hs, &RH});
  dense({&h0, &U});
  dense({&mask, &g_hh, &g_hn}, A);
  RNNLAB_DISPATCH(A, "gru_rb_forward",
                  gru_rb_forward_impl<scalar_t>(A, Hs, RH, h0, mask, U, g_hh, g_hn, Vhat, Vrstd, Nhat, Nrstd, eps_hh, eps_hn));
}
void gru_rb_backward(Tensor dA, Tensor dV, Tensor dH, Tensor dh0, Tensor A, Tensor Hs, Tensor h0,
                     std::optional<Tensor> mask, Tensor U, std::optional<Tensor> g_hh, std::optional<Tensor> g_hn,
                     std::optional<Tensor> Vhat, std::optional<Tensor> Vrstd, std::optional<Tensor> Nhat,
                     std::optional<Tensor> Nrstd) {
  check_buffers({&dA, &dV, &dH, &dh0});
  dense({&A, &Hs, &h0, &U});
  dense({&mask, &g_hh, &g_hn, &Vhat, &Vrstd, &Nhat, &Nrstd}, A);
  RNNLAB_DISPATCH(A, "gru_rb_backward",
                  gru_rb_backward_impl<scalar_t>(dA, dV, dH, dh0, A, Hs, h0, mask, U, g_hh, g_hn, Vhat, Vrstd, Nhat, Nrstd));
}
using T_ = std::optional<Tensor>;  // (the ops' optional tensors)

void lstm_forward(Tensor A, Tensor Hs, Tensor Cs, Tensor S, T_ K, T_ mask, Tensor U, T_ p_i, T_ p_f, T_ p_o, T_ g_ih,
                  T_ b, T_ g_hh, T_ g_c, T_ b_c, T_ W_hr, T_ WX, T_ Xmean, T_ Xrstd, T_ Uhat, T_ Urstd, T_ Nhat,
                  T_ Nrstd, int64_t phi, int64_t psi, double eps_ih, double eps_hh, double eps_c) {
  check_buffers({&A, &Hs, &Cs, &S});
  TORCH_CHECK(!has(g_ih) || (has(WX) && has(Xmean) && has(Xrstd) && Xmean->is_contiguous() && Xrstd->is_contiguous()),
              "rnnlab lstm_forward: LN_ih buffers");
  dense({&U});
  dense({&mask, &p_i, &p_f, &p_o, &g_ih, &b, &g_hh, &g_c, &b_c, &W_hr, &WX}, A);
  RNNLAB_DISPATCH(A, "lstm_forward",
                  lstm_forward_impl<scalar_t>(A, Hs, Cs, S, K, mask, U, p_i, p_f, p_o, g_ih, b, g_hh, g_c, b_c, W_hr,
                                              WX, Xmean, Xrstd, Uhat, Urstd, Nhat, Nrstd, phi, psi, eps_ih, eps_hh,
                                              eps_c));
}
void lstm_backward(T_ dA, Tensor dUh, T_ dX, T_ dHt, T_ dN, Tensor dh, Tensor dc, Tensor dY, Tensor A, Tensor Cs,
                   Tensor S, T_ mask, Tensor U, T_ p_i, T_ p_f, T_ p_o, T_ g_ih, T_ g_hh, T_ g_c, T_ W_hr, T_ WX,
                   T_ Xmean, T_ Xrstd, T_ Uhat, T_ Urstd, T_ Nhat, T_ Nrstd, int64_t phi, int64_t psi, T_ dP, T_ dGih,
                   T_ dB, T_ dGhh, T_ dGc, T_ dBc) {
  check_buffers({&dUh, &dh, &dc});
  for (const T_* out : {&dA, &dX, &dP, &dGih, &dB, &dGhh, &dGc, &dBc})
    if (has(*out)) check_buffers({&**out});
  TORCH_CHECK(!has(g_ih) || (has(dX) && has(WX) && has(Xmean) && has(Xrstd)), "rnnlab lstm_backward: LN_ih buffers");
  TORCH_CHECK(has(dA) || (has(g_ih) && has(g_hh)), "rnnlab lstm_backward: dA may be left out only with LN_ih and LN_hh");
  dense({&dY, &A, &Cs, &S, &U});
  dense({&mask, &p_i, &p_f, &p_o, &g_ih, &g_hh, &g_c, &W_hr, &WX, &Xmean, &Xrstd, &Uhat, &Urstd, &Nhat, &Nrstd}, A);
  RNNLAB_DISPATCH(A, "lstm_backward",
                  lstm_backward_impl<scalar_t>(dA, dUh, dX, dHt, dN, dh, dc, dY, A, Cs, S, mask, U, p_i, p_f, p_o,
                                               g_ih, g_hh, g_c, W_hr, WX, Xmean, Xrstd, Uhat, Urstd, Nhat, Nrstd, phi,
                                               psi, dP, dGih, dB, dGhh, dGc, dBc));
}

// C = A B + β C for 2-D A, B (each dense or the transpose of a dense matrix) and a dense C, through
// `gemm` (backend: -1 its rule, 0 BLAS, 1 oneDNN where usable): for the tests (both backends agree)
// and for measuring the rule.
void mm_into(Tensor A, Tensor B, Tensor C, double beta, int64_t backend) {
  TORCH_CHECK(A.dim() == 2 && B.dim() == 2 && C.dim() == 2 && A.size(1) == B.size(0) && C.size(0) == A.size(0) &&
                  C.size(1) == B.size(1),
              "mm_into: shapes ", A.sizes(), " @ ", B.sizes(), " -> ", C.sizes());
  TORCH_CHECK(A.scalar_type() == C.scalar_type() && B.scalar_type() == C.scalar_type(), "mm_into: mixed dtypes");
  check_buffers({&C});
  auto layout = [](Tensor& t) {  // (transposed?, leading dimension), copying what is neither
    if (t.stride(1) == 1 && t.stride(0) >= std::max<int64_t>(1, t.size(1))) return std::make_pair(false, t.stride(0));
    if (t.stride(0) == 1 && t.stride(1) >= std::max<int64_t>(1, t.size(0))) return std::make_pair(true, t.stride(1));
    t = t.contiguous();
    return std::make_pair(false, std::max<int64_t>(1, t.size(1)));
  };
  const auto [ta, lda] = layout(A);
  const auto [tb, ldb] = layout(B);
  RNNLAB_DISPATCH(C, "mm_into",
                  gemm<scalar_t>(ta, tb, C.size(0), C.size(1), A.size(1), A.data_ptr<scalar_t>(), lda,
                                 B.data_ptr<scalar_t>(), ldb, scalar_t(beta), C.data_ptr<scalar_t>(), C.size(1),
                                 Backend(backend)));
}

// 1 where `gemm` sends C (M, N) = op(A) op(B) to oneDNN, 0 to BLAS (float32; for tests and docs/speed.md)
int64_t gemm_backend(bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  return onednn_usable() && onednn_wins(ta, tb, M, N, K);
}

// Every step product through `backend` from now on (-1: the rule again); returns the previous setting
int64_t force_gemm_backend(int64_t backend) {
  TORCH_CHECK(backend >= AUTO && backend <= PACKED,
              "force_gemm_backend: -1 (rule), 0 (BLAS), 1 (oneDNN) or 2 (MKL's packed GEMM), got ", backend);
  return forced_backend.exchange(backend);
}

// `steps` step products C (M, N) = A (M, K) op(W) (β = 0, op = transpose where tw; W row-major
// (N, K) or (K, N)) through one StepMatrix, as a loop makes them, the backend chosen once: -1 the
// loops' rule, 0 BLAS, 1 oneDNN, 2 MKL's packed form (packing included) (bench/gemm_backends.py)
void step_products(Tensor A, Tensor W, bool tw, Tensor C, int64_t steps, int64_t backend) {
  TORCH_CHECK(A.scalar_type() == at::kFloat && W.scalar_type() == at::kFloat && C.scalar_type() == at::kFloat,
              "step_products: float32 only");
  TORCH_CHECK(backend >= AUTO && backend <= PACKED, "step_products: backend -1, 0, 1 or 2, got ", backend);
  check_buffers({&C});
  dense({&A, &W});
  const int64_t M = A.size(0), K = A.size(1), N = C.size(1);
  TORCH_CHECK(C.size(0) == M && W.size(0) == (tw ? N : K) && W.size(1) == (tw ? K : N), "step_products: shapes ",
              A.sizes(), ", ", W.sizes(), " (transposed: ", tw, ") -> ", C.sizes());
  const StepMatrix<float> Wm(tw, M, N, K, W.data_ptr<float>(), W.size(1), steps, Backend(backend));
  for (int64_t t = 0; t < steps; ++t) Wm(A.data_ptr<float>(), K, 0.0f, C.data_ptr<float>(), N);
}

// Products oneDNN has run in this process
int64_t onednn_calls() { return onednn_count.load(); }

// Step products run from MKL's packed form in this process
int64_t packed_calls() { return packed_count.load(); }

// Whether a sequence of `steps` step products C (M, N) = A (M, K) op(W) (op = transpose where tw)
// runs from MKL's packed form (1) or per product (0) (for tests and docs/speed.md)
int64_t step_packed(bool tw, int64_t M, int64_t N, int64_t K, int64_t steps) {
  return packed_usable() && packed_wins(tw, M, N, K, steps);
}

}  // namespace

TORCH_LIBRARY(rnnlab_rnn, m) {
  m.def("mm_into", &mm_into);
  m.def("gemm_backend", &gemm_backend);
  m.def("onednn_usable", &onednn_usable);
  m.def("force_gemm_backend", &force_gemm_backend);
  m.def("onednn_calls", &onednn_calls);
  m.def("packed_calls", &packed_calls);
  m.def("step_products", &step_products);
  m.def("step_packed", &step_packed);
  m.def("packed_usable", &packed_usable);
  m.def("elman_forward", &elman_forward);
  m.def("elman_backward", &elman_backward);
  m.def("gru_ra_forward", &gru_ra_forward);
  m.def("gru_ra_backward", &gru_ra_backward);
  m.def("gru_rb_forward", &gru_rb_forward);
  m.def("gru_rb_backward", &gru_rb_backward);
  m.def("lstm_forward", &lstm_forward);
  m.def("lstm_backward", &lstm_backward);
}
