// The compact engine's native kernels for bf16 models, each one call where torch takes several ops (at one
// stream a token is about a thousand small ops, so their count decides the speed):
// - decode_attention: one decode step's attention for a layer: for each sequence and KV head, rotary
//   embedding of the new query and key heads, the new key and value written into the engine's bf16 KV
//   cache, then the scores of the query heads against every key written so far, a softmax and the
//   weighted sum of values;
// - rms_norm: RMSNorm of each row, times the norm's weight, out in the model's dtype;
// - silu_mul: silu(gate) * up from the fused gate/up projection's output;
// - quantize_rows: a row's symmetric int8 quantization for the dynamic W8A8 matmul, with the smoothing
//   factor and the RMSNorm's 1/rms folded in as quant.py does in torch ops.
// Keys are stored transposed ([slots, kv_heads, head_dim, capacity]) and values as rows ([slots, kv_heads,
// capacity, head_dim]), so both products stream the cache with unit stride and every key and value is read
// once for all the query heads that share it (grouped-query attention). Loops are plain C++ written for
// the compiler to vectorise; the exponential is a polynomial for the same reason.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

inline float bf16_to_float(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// exp(x) for x <= 0 (scores minus their maximum): 2^n * p(r), relative error about 2e-7
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);
  const float n = __builtin_floorf(x * 1.44269504f + 0.5f);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, sizeof scale);
  return p * scale;
}


// LLMAAS_PORTABLE (-DLLMAAS_PORTABLE, any compiler, any CPU) builds the plain C++ path where AVX-512 is there too
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && !defined(LLMAAS_PORTABLE)
#include <immintrin.h>
#define LLMAAS_AVX512 1

inline __m512 load_bf16(const uint16_t* p, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

inline __m512 exp512(__m512 x) {  // the polynomial above, sixteen at a time
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// One sequence and KV head: G query heads of ND * 16 dimensions each, T positions.
template <int G, int ND>
void attend_head(const float* qs, const uint16_t* K, int64_t ks2, const uint16_t* V, int64_t vs2, int64_t T,
                 float* scores, int64_t C, float* O) {
  constexpr int D = ND * 16;
  // scores[g, t0:t0+32] = sum_j q[g, j] * K[j, t0:t0+32]: a whole cache line of each key row at a time
  for (int64_t t0 = 0; t0 < T; t0 += 32) {
    const __mmask16 m0 = tail_mask(T - t0), m1 = tail_mask(T - t0 - 16);
    __m512 acc[G][2];
    for (int g = 0; g < G; ++g) acc[g][0] = acc[g][1] = _mm512_setzero_ps();
    for (int j = 0; j < D; ++j) {
      const uint16_t* row = K + j * ks2 + t0;
      _mm_prefetch(reinterpret_cast<const char*>(row + 64), _MM_HINT_T0);
      const __m512 k0 = load_bf16(row, m0), k1 = load_bf16(row + 16, m1);
      for (int g = 0; g < G; ++g) {
        const __m512 qv = _mm512_set1_ps(qs[g * D + j]);
        acc[g][0] = _mm512_fmadd_ps(qv, k0, acc[g][0]);
        acc[g][1] = _mm512_fmadd_ps(qv, k1, acc[g][1]);
      }
    }
    for (int g = 0; g < G; ++g) {
      _mm512_storeu_ps(scores + g * C + t0, acc[g][0]);
      _mm512_storeu_ps(scores + g * C + t0 + 16, acc[g][1]);
    }
  }
  for (int g = 0; g < G; ++g) {
    float* s = scores + g * C;
    __m512 mx = _mm512_set1_ps(-3.0e38f);
    for (int64_t t0 = 0; t0 < T; t0 += 16) mx = _mm512_mask_max_ps(mx, tail_mask(T - t0), mx, _mm512_loadu_ps(s + t0));
    const __m512 mv = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t t0 = 0; t0 < T; t0 += 16) {
      const __mmask16 m = tail_mask(T - t0);
      const __m512 e = _mm512_maskz_mov_ps(m, exp512(_mm512_sub_ps(_mm512_loadu_ps(s + t0), mv)));
      _mm512_storeu_ps(s + t0, e);
      sum = _mm512_add_ps(sum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int64_t t0 = 0; t0 < T; t0 += 16) _mm512_storeu_ps(s + t0, _mm512_mul_ps(_mm512_loadu_ps(s + t0), inv));
  }
  __m512 acc[G][ND];
  for (int g = 0; g < G; ++g)
    for (int c = 0; c < ND; ++c) acc[g][c] = _mm512_setzero_ps();
  for (int64_t t = 0; t < T; ++t) {  // O[g, :] = sum_t p[g, t] * V[t, :]
    __m512 v[ND];
    for (int c = 0; c < ND; ++c) v[c] = load_bf16(V + t * vs2 + c * 16, 0xFFFF);
    for (int g = 0; g < G; ++g) {
      const __m512 p = _mm512_set1_ps(scores[g * C + t]);
      for (int c = 0; c < ND; ++c) acc[g][c] = _mm512_fmadd_ps(p, v[c], acc[g][c]);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int c = 0; c < ND; ++c) _mm512_storeu_ps(O + g * D + c * 16, acc[g][c]);
}

using HeadFn = void (*)(const float*, const uint16_t*, int64_t, const uint16_t*, int64_t, int64_t, float*, int64_t,
                        float*);

template <int G>
HeadFn pick_nd(int64_t nd) {
  switch (nd) {
    case 2: return attend_head<G, 2>;
    case 4: return attend_head<G, 4>;
    case 8: return attend_head<G, 8>;
    default: return nullptr;
  }
}

HeadFn pick(int64_t g, int64_t d) {
  if (d % 16 != 0) return nullptr;
  switch (g) {
    case 1: return pick_nd<1>(d / 16);
    case 2: return pick_nd<2>(d / 16);
    case 3: return pick_nd<3>(d / 16);
    case 4: return pick_nd<4>(d / 16);
    case 5: return pick_nd<5>(d / 16);
    case 6: return pick_nd<6>(d / 16);
    case 7: return pick_nd<7>(d / 16);
    case 8: return pick_nd<8>(d / 16);
    default: return nullptr;
  }
}

// Sixteen values of a row as float32, from float32 or bf16.
inline __m512 load16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load16(const uint16_t* p, __mmask16 m) { return load_bf16(p, m); }
inline void store16(float* p, __m512 v, __mmask16 m) { _mm512_mask_storeu_ps(p, m, v); }
inline void store16(uint16_t* p, __m512 v, __mmask16 m) {  // round to nearest even, as float_to_bf16
  __m512i bits = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  bits = _mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), odd));
  _mm256_mask_storeu_epi16(p, m, _mm512_cvtepi32_epi16(_mm512_srli_epi32(bits, 16)));
}

template <typename T, typename U>
void silu_mul_row(const T* g, const T* u, U* out, int64_t n) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 gv = load16(g + j, m), uv = load16(u + j, m);
    const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(gv)));  // exp(-|g|)
    const __mmask16 neg = _mm512_cmp_ps_mask(gv, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 num = _mm512_mask_mul_ps(gv, neg, gv, e);  // g, or g * e where g < 0
    const __m512 silu = _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    store16(out + j, _mm512_mul_ps(silu, uv), m);
  }
}

// Returns max |x * f| and writes x * f to z; adds x^2 to ss.
template <typename T>
float scaled_row(const T* x, const float* f, float* z, int64_t n, float* ss) {
  __m512 top = _mm512_setzero_ps(), sq = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 v = load16(x + j, m);
    sq = _mm512_fmadd_ps(v, v, sq);
    const __m512 zv = f != nullptr ? _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, f + j)) : v;
    _mm512_mask_storeu_ps(z + j, m, zv);
    top = _mm512_max_ps(top, _mm512_abs_ps(zv));
  }
  *ss = _mm512_reduce_add_ps(sq);
  return _mm512_reduce_max_ps(top);
}

inline void to_int8(const float* z, float mult, int8_t* q, int64_t n) {
  const __m512 mv = _mm512_set1_ps(mult);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512i r = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, z + j), mv));  // ties to even
    _mm_mask_storeu_epi8(q + j, m, _mm512_cvtsepi32_epi8(r));
  }
}
#endif

}  // namespace

inline uint16_t float_to_bf16(float f) {  // round to nearest even, as torch's conversion
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

inline float element(const torch::Tensor& x, const char* base, int64_t offset) {
  return x.scalar_type() == torch::kBFloat16 ? bf16_to_float(reinterpret_cast<const uint16_t*>(base)[offset])
                                             : reinterpret_cast<const float*>(base)[offset];
}

// Rotary embedding of head ``x`` (D values, rotate-half convention) at one position's cos/sin row.
inline void rope(const torch::Tensor& src, const char* base, int64_t offset, const float* cos, const float* sin,
                 int64_t D, float scale, float* out) {
  const int64_t half = D / 2;
  for (int64_t j = 0; j < D; ++j) {
    const float x = element(src, base, offset + j);
    const float rotated = j < half ? -element(src, base, offset + j + half) : element(src, base, offset + j - half);
    out[j] = (x * cos[j] + rotated * sin[j]) * scale;
  }
}

// q: [B, Hq * D], k and v: [B, Hk * D] (float32 or bf16, rows may be strided); k_cache: [S, Hk, D, C] bf16;
// v_cache: [S, Hk, C, D] bf16 (sequence b is slot b); positions: [B] int64, where each new token goes;
// cos, sin: [max_len, D] float32. Writes the new keys and values, returns the attention output
// [B, Hq * D] in q's dtype.
torch::Tensor decode_attention(torch::Tensor q, torch::Tensor k, torch::Tensor v, torch::Tensor k_cache,
                               torch::Tensor v_cache, torch::Tensor positions, torch::Tensor cos, torch::Tensor sin,
                               int64_t Hq, double scale) {
  TORCH_CHECK(q.dim() == 2 && k.dim() == 2 && v.dim() == 2, "q, k and v must be [B, heads * head_dim]");
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type() &&
                  (q.scalar_type() == torch::kFloat32 || q.scalar_type() == torch::kBFloat16),
              "q, k and v must share one dtype, float32 or bf16");
  TORCH_CHECK(q.stride(1) == 1 && k.stride(1) == 1 && v.stride(1) == 1, "q, k and v rows must be contiguous");
  TORCH_CHECK(k_cache.dim() == 4 && k_cache.scalar_type() == torch::kBFloat16, "k_cache must be [S, Hk, D, C] bf16");
  TORCH_CHECK(v_cache.dim() == 4 && v_cache.scalar_type() == torch::kBFloat16, "v_cache must be [S, Hk, C, D] bf16");
  TORCH_CHECK(k_cache.stride(3) == 1 && v_cache.stride(3) == 1, "the cache's last dimension must be contiguous");
  TORCH_CHECK(positions.dim() == 1 && positions.scalar_type() == torch::kInt64, "positions must be [B] int64");
  TORCH_CHECK(cos.scalar_type() == torch::kFloat32 && sin.scalar_type() == torch::kFloat32 && cos.is_contiguous() &&
                  sin.is_contiguous(), "cos and sin must be contiguous float32 tables");
  const int64_t B = q.size(0), Hk = k_cache.size(1), D = k_cache.size(2), C = k_cache.size(3);
  TORCH_CHECK(Hq % Hk == 0 && q.size(1) == Hq * D && k.size(1) == Hk * D && v.size(1) == Hk * D &&
                  v_cache.size(1) == Hk && v_cache.size(2) == C && v_cache.size(3) == D && cos.size(1) == D &&
                  D % 2 == 0,
              "q, k, v and the cache disagree on heads or head_dim");
  TORCH_CHECK(k.size(0) == B && v.size(0) == B && positions.size(0) == B && k_cache.size(0) >= B &&
                  v_cache.size(0) >= B, "fewer cache slots or positions than sequences");
  positions = positions.contiguous();
  const int64_t* pos = positions.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    TORCH_CHECK(pos[b] >= 0 && pos[b] < C && pos[b] < cos.size(0), "position ", pos[b], " of sequence ", b,
                " is outside the cache");
  }
  const int64_t G = Hq / Hk;
  auto out = torch::empty({B, Hq * D}, q.options().dtype(torch::kFloat32));
  const char* qb = static_cast<const char*>(q.data_ptr());
  const char* kb = static_cast<const char*>(k.data_ptr());
  const char* vb = static_cast<const char*>(v.data_ptr());
  const int64_t qs0 = q.stride(0), ks_0 = k.stride(0), vs_0 = v.stride(0);
  float* op = out.data_ptr<float>();
  auto* kp = reinterpret_cast<uint16_t*>(k_cache.data_ptr<at::BFloat16>());
  auto* vp = reinterpret_cast<uint16_t*>(v_cache.data_ptr<at::BFloat16>());
  const int64_t ks0 = k_cache.stride(0), ks1 = k_cache.stride(1), ks2 = k_cache.stride(2);
  const int64_t vs0 = v_cache.stride(0), vs1 = v_cache.stride(1), vs2 = v_cache.stride(2);
  const float* cp = cos.data_ptr<float>();
  const float* sp = sin.data_ptr<float>();
  const float sc = static_cast<float>(scale);
#ifdef LLMAAS_AVX512
  const HeadFn fast = pick(G, D);
#endif

  at::parallel_for(0, B * Hk, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(G * (C + 32)));
    std::vector<float> qs(static_cast<size_t>(G * D));
    std::vector<float> kr(static_cast<size_t>(D));
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t b = idx / Hk, h = idx % Hk, p = pos[b], T = p + 1;
      uint16_t* K = kp + b * ks0 + h * ks1;
      uint16_t* V = vp + b * vs0 + h * vs1;
      const float* cr = cp + p * D;
      const float* sr = sp + p * D;
      rope(k, kb, b * ks_0 + h * D, cr, sr, D, 1.0f, kr.data());
      for (int64_t j = 0; j < D; ++j) {
        K[j * ks2 + p] = float_to_bf16(kr[j]);
        V[p * vs2 + j] = float_to_bf16(element(v, vb, b * vs_0 + h * D + j));
      }
      for (int64_t g = 0; g < G; ++g) rope(q, qb, b * qs0 + (h * G + g) * D, cr, sr, D, sc, qs.data() + g * D);
      float* O = op + (b * Hq + h * G) * D;
#ifdef LLMAAS_AVX512
      if (fast != nullptr) {
        fast(qs.data(), K, ks2, V, vs2, T, scores.data(), C + 32, O);
        continue;
      }
#endif
      for (int64_t g = 0; g < G; ++g) std::fill_n(scores.data() + g * C, T, 0.0f);
      for (int64_t j = 0; j < D; ++j) {  // scores[g, t] += q[g, j] * K[j, t]
        const uint16_t* Kj = K + j * ks2;
        for (int64_t g = 0; g < G; ++g) {
          const float qj = qs[g * D + j];
          float* s = scores.data() + g * C;
          for (int64_t t = 0; t < T; ++t) s[t] += qj * bf16_to_float(Kj[t]);
        }
      }
      for (int64_t g = 0; g < G; ++g) {
        float* s = scores.data() + g * C;
        float m = s[0];
        for (int64_t t = 1; t < T; ++t) m = std::max(m, s[t]);
        float sum = 0.0f;
        for (int64_t t = 0; t < T; ++t) {
          s[t] = exp_nonpositive(s[t] - m);
          sum += s[t];
        }
        const float inv = 1.0f / sum;
        for (int64_t t = 0; t < T; ++t) s[t] *= inv;
        std::fill_n(O + g * D, D, 0.0f);
      }
      for (int64_t t = 0; t < T; ++t) {  // O[g, :] += p[g, t] * V[t, :]
        const uint16_t* Vt = V + t * vs2;
        for (int64_t g = 0; g < G; ++g) {
          const float pr = scores[g * C + t];
          float* o = O + g * D;
          for (int64_t j = 0; j < D; ++j) o[j] += pr * bf16_to_float(Vt[j]);
        }
      }
    }
  });
  return q.scalar_type() == torch::kFloat32 ? out : out.to(q.scalar_type());
}

namespace {

template <typename F>
void over_rows(int64_t rows, int64_t cols, F body) {  // a thread per block of rows, none for a few
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) body(r);
  });
}

void check_rows(const torch::Tensor& x, const char* name) {
  TORCH_CHECK(x.dim() == 2 && x.stride(1) == 1, name, " must be [rows, columns] with contiguous rows");
  TORCH_CHECK(x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16, name,
              " must be float32 or bf16");
}

// Typed loads and stores, so each loop is compiled once per dtype and vectorised.
inline float load(const float* p, int64_t i) { return p[i]; }
inline float load(const uint16_t* p, int64_t i) { return bf16_to_float(p[i]); }
inline void put(float* p, int64_t i, float v) { p[i] = v; }
inline void put(uint16_t* p, int64_t i, float v) { p[i] = float_to_bf16(v); }

template <typename F>
void with_type(const torch::Tensor& x, F body) {  // body(const T* data) for x's dtype
  if (x.scalar_type() == torch::kBFloat16)
    body(reinterpret_cast<const uint16_t*>(x.data_ptr()));
  else
    body(x.data_ptr<float>());
}

template <typename F>
void with_out(torch::Tensor& out, F body) {
  if (out.scalar_type() == torch::kBFloat16)
    body(reinterpret_cast<uint16_t*>(out.data_ptr()));
  else
    body(out.data_ptr<float>());
}

}  // namespace

// x: [R, K] float32 or bf16; weight: [K] float32. Returns weight * x / rms(x), bf16 or float32.
torch::Tensor rms_norm(torch::Tensor x, torch::Tensor weight, double eps, bool bf16_out) {
  check_rows(x, "x");
  TORCH_CHECK(weight.dim() == 1 && weight.scalar_type() == torch::kFloat32 && weight.is_contiguous() &&
                  weight.size(0) == x.size(1), "weight must be a contiguous float32 [K] for x of K columns");
  const int64_t R = x.size(0), K = x.size(1), xs = x.stride(0);
  auto out = torch::empty({R, K}, x.options().dtype(bf16_out ? torch::kBFloat16 : torch::kFloat32));
  const float* w = weight.data_ptr<float>();
  with_type(x, [&](const auto* xp) {
    with_out(out, [&](auto* op) {
      over_rows(R, K, [&](int64_t r) {
        const auto* row = xp + r * xs;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (int64_t j = 0; j < K; ++j) ss += load(row, j) * load(row, j);
        const float inv = 1.0f / std::sqrt(ss / static_cast<float>(K) + static_cast<float>(eps));
        for (int64_t j = 0; j < K; ++j) put(op + r * K, j, w[j] * (load(row, j) * inv));
      });
    });
  });
  return out;
}

// gate_up: [R, 2I], gate then up. Returns silu(gate) * up, [R, I], in gate_up's dtype.
torch::Tensor silu_mul(torch::Tensor gate_up) {
  check_rows(gate_up, "gate_up");
  TORCH_CHECK(gate_up.size(1) % 2 == 0, "gate_up must have an even number of columns");
  const int64_t R = gate_up.size(0), I = gate_up.size(1) / 2, gs = gate_up.stride(0);
  auto out = torch::empty({R, I}, gate_up.options());
  with_type(gate_up, [&](const auto* gp) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(gp)>>;
    T* op = reinterpret_cast<T*>(out.data_ptr());
    over_rows(R, I, [&](int64_t r) {
      const T* row = gp + r * gs;
#ifdef LLMAAS_AVX512
      silu_mul_row(row, row + I, op + r * I, I);
#else
      for (int64_t j = 0; j < I; ++j) {
        const float g = load(row, j), u = load(row, I + j);
        const float e = exp_nonpositive(-std::fabs(g));  // exp(-|g|), never overflows
        const float silu = (g >= 0.0f ? g : g * e) / (1.0f + e);
        put(op + r * I, j, silu * u);
      }
#endif
    });
  });
  return out;
}

// x: [R, K] (the raw residual stream for a norm-fed projection); into: [K] float32 or empty; eps < 0: no
// norm. Returns (q int8 [R, K], row scale float32 [R, 1]) with x_r * into ~ q_r * scale_r (/ rms_r).
std::vector<torch::Tensor> quantize_rows(torch::Tensor x, torch::Tensor into, double eps) {
  check_rows(x, "x");
  const int64_t R = x.size(0), K = x.size(1), xs = x.stride(0);
  const bool scaled = into.numel() > 0;
  TORCH_CHECK(!scaled || (into.dim() == 1 && into.size(0) == K && into.scalar_type() == torch::kFloat32 &&
                          into.is_contiguous()), "into must be a contiguous float32 [K] or empty");
  auto q = torch::empty({R, K}, x.options().dtype(torch::kInt8));
  auto scale = torch::empty({R, 1}, x.options().dtype(torch::kFloat32));
  int8_t* qp = q.data_ptr<int8_t>();
  float* sp = scale.data_ptr<float>();
  const float* f = scaled ? into.data_ptr<float>() : nullptr;
  with_type(x, [&](const auto* xp) {
    over_rows(R, K, [&](int64_t r) {
      const auto* row = xp + r * xs;
      std::vector<float> z(static_cast<size_t>(K));
      float top = 0.0f, ss = 0.0f;
#ifdef LLMAAS_AVX512
      top = scaled_row(row, f, z.data(), K, &ss);
#else
#pragma omp simd reduction(+ : ss) reduction(max : top)
      for (int64_t j = 0; j < K; ++j) {
        const float v = load(row, j);
        ss += v * v;
        z[j] = scaled ? v * f[j] : v;
        top = std::max(top, std::fabs(z[j]));
      }
#endif
      top = std::max(top, 1e-8f);
#ifdef LLMAAS_AVX512
      to_int8(z.data(), 127.0f / top, qp + r * K, K);
#else
      for (int64_t j = 0; j < K; ++j) qp[r * K + j] = static_cast<int8_t>(std::nearbyint(z[j] * (127.0f / top)));
#endif
      float row_scale = top / 127.0f;
      if (eps >= 0.0) row_scale *= 1.0f / std::sqrt(ss / static_cast<float>(K) + static_cast<float>(eps));
      sp[r] = row_scale;
    });
  });
  return {q, scale};
}

// x: [R, H] the final residual stream, float32; norm: [H] float32; head: [V, H] bf16; logits: [R, V] float32,
// the head's own output, changed in place: every logit within margin of its row's largest, and also[r] where
// also is not empty, recomputed in float32 from RMSNorm(x) * norm and the bf16 head (CompactLM._exact_top).
void exact_top(torch::Tensor x, torch::Tensor norm, double eps, torch::Tensor head, torch::Tensor logits,
               double margin, torch::Tensor also) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == torch::kFloat32 && x.is_contiguous(),
              "x must be a contiguous float32 [R, H]");
  const int64_t R = x.size(0), H = x.size(1);
  TORCH_CHECK(norm.dim() == 1 && norm.size(0) == H && norm.scalar_type() == torch::kFloat32 && norm.is_contiguous(),
              "norm must be a contiguous float32 [H]");
  TORCH_CHECK(head.dim() == 2 && head.size(1) == H && head.scalar_type() == torch::kBFloat16 && head.is_contiguous(),
              "head must be a contiguous bf16 [V, H]");
  const int64_t V = head.size(0);
  TORCH_CHECK(logits.dim() == 2 && logits.size(0) == R && logits.size(1) == V &&
                  logits.scalar_type() == torch::kFloat32 && logits.is_contiguous(),
              "logits must be a contiguous float32 [R, V]");
  const bool with_also = also.numel() > 0;
  TORCH_CHECK(!with_also || (also.dim() == 1 && also.size(0) == R && also.scalar_type() == torch::kInt64 &&
                             also.is_contiguous()), "also must be a contiguous int64 [R] or empty");
  const float* xp = x.data_ptr<float>();
  const float* np = norm.data_ptr<float>();
  const uint16_t* hp = reinterpret_cast<const uint16_t*>(head.data_ptr());
  float* lp = logits.data_ptr<float>();
  const int64_t* ap = with_also ? also.data_ptr<int64_t>() : nullptr;
  over_rows(R, V, [&](int64_t r) {
    std::vector<float> z(static_cast<size_t>(H));
    const float* xr = xp + r * H;
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int64_t j = 0; j < H; ++j) ss += xr[j] * xr[j];
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(H) + static_cast<float>(eps));
    for (int64_t j = 0; j < H; ++j) z[j] = np[j] * (xr[j] * inv);
    const float* zp = z.data();
    auto dot = [&](int64_t v) {
      const uint16_t* w = hp + v * H;
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < H; ++j) s += zp[j] * bf16_to_float(w[j]);
      return s;
    };
    float* lr = lp + r * V;
    float top = -INFINITY;
#pragma omp simd reduction(max : top)
    for (int64_t v = 0; v < V; ++v) top = std::max(top, lr[v]);
    const float cut = top - static_cast<float>(margin);
    const int64_t a = with_also ? ap[r] : -1;
    const bool also_left = a >= 0 && a < V && !(lr[a] >= cut);
    for (int64_t v = 0; v < V; ++v)
      if (lr[v] >= cut) lr[v] = dot(v);
    if (also_left) lr[a] = dot(a);
  });
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("exact_top", &exact_top, "the likely logits of each row recomputed in float32");
  m.def("decode_attention", &decode_attention, "rotary, KV cache write and attention for one decode step");
  m.def("rms_norm", &rms_norm, "RMSNorm of each row times its weight");
  m.def("silu_mul", &silu_mul, "silu(gate) * up");
  m.def("quantize_rows", &quantize_rows, "per-row int8 quantization for the dynamic W8A8 matmul");
}
