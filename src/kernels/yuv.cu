// The CUDA YUV kernels and their launchers.
//
// Both directions are pure streaming, so the goal is to run at memory bandwidth. Each thread
// converts one tile: 8 columns of one chroma row, that is 2 luma rows for 4:2:0 and 1 for 4:4:4, so
// every chroma sample is read (or written) exactly once, and each plane row of the tile is one
// vector access: for 4:2:0 8-bit -> f16, two 8-byte luma loads, two 4-byte chroma loads and six
// 16-byte stores. A warp holds 32 tiles side by side, so each access is contiguous across the warp.
// A width that is not a multiple of 8 leaves the rows unaligned; such frames, and unaligned
// pointers, take tiles of one chroma sample with scalar accesses and the same arithmetic. Loads and
// stores use the streaming cache hints (.cs): every byte is touched once.
//
// Frames with a pitch, regions of interest and tensors with strides take the scalar tiles over
// PitchedRows; the vectorised tiles stay the path of a whole packed frame.
//
// The arithmetic is the CPU reference's (yuv_cpu.cpp), step for step: __fmul_rn and __fadd_rn keep
// every operation a separate, rounded fp32 operation that the compiler may not fuse or reorder.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "convert_job.hpp"
#include "prepost_dispatch.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/kernels/yuv.hpp"
#include "yuv_args.hpp"

namespace pyn {
namespace {

// A block is 8 warps, each one row of 32 tiles.
constexpr int kWarp = 32;
constexpr int kWarps = 8;
constexpr int kThreads = kWarp * kWarps;
// Blocks per SM the kernels must fit: half the resident threads, capping them at 64 registers.
// At 32 (all resident threads) the 8-column tiles spill, and a thread's 16 pixels keep enough
// bytes in flight with half the threads. Resident threads per SM: 2048 on sm_80 and sm_90, 1536 on
// sm_86, sm_87 and sm_89. A launch bound above the device's limit is an error, so each target gets
// its own.
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 860 || __CUDA_ARCH__ == 870 || __CUDA_ARCH__ == 890)
constexpr int kBlocksPerSm = 1536 / kThreads / 2;
#else
constexpr int kBlocksPerSm = 2048 / kThreads / 2;
#endif
// Columns of a vector tile.
constexpr int kVectorColumns = 8;
// Beyond this many block rows the tile-row loop takes over; 65535 is the grid's limit.
constexpr unsigned kMaxBlockRows = 65535;

template <DType>
struct Element;
template <>
struct Element<DType::f32> {
  using Storage = float;
  __device__ static float encode(float v) { return v; }
  __device__ static float decode(float s) { return s; }
};
template <>
struct Element<DType::f16> {
  using Storage = unsigned short;
  __device__ static unsigned short encode(float v) { return __half_as_ushort(__float2half_rn(v)); }
  __device__ static float decode(unsigned short s) { return __half2float(__ushort_as_half(s)); }
};
template <>
struct Element<DType::bf16> {
  using Storage = unsigned short;
  __device__ static unsigned short encode(float v) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(v));
  }
  __device__ static float decode(unsigned short s) {
    return __bfloat162float(__ushort_as_bfloat16(s));
  }
};

template <std::size_t Bytes>
struct Vector;
template <>
struct Vector<4> {
  using type = unsigned int;
};
template <>
struct Vector<8> {
  using type = uint2;
};
template <>
struct Vector<16> {
  using type = uint4;
};

template <class T>
struct Planes {
  T* plane[3];
};

struct Geometry {
  int width;
  int height;
  int chroma_width;
  int tile_rows;       // = chroma rows
  unsigned shift = 0;  // msb-aligned samples: bits to shift down before the mask
};

// Where a tile's rows start. PackedRows: the planes back to back with no padding and a contiguous
// tensor, the layout of the vectorised tiles. PitchedRows: planes with a pitch and a tensor slice
// with strides (the general path, scalar tiles only).
template <class T>
__device__ __forceinline__ T* bytes_on(T* p, std::size_t bytes) {
  using Byte = std::conditional_t<std::is_const_v<T>, const unsigned char, unsigned char>;
  return reinterpret_cast<T*>(reinterpret_cast<Byte*>(p) + bytes);
}

struct PackedRows {
  template <class T>
  __device__ __forceinline__ T* luma(T* plane, const Geometry& g, int y, int x) const {
    return plane + static_cast<std::size_t>(y) * static_cast<std::size_t>(g.width) +
           static_cast<std::size_t>(x);
  }
  // `which`: 1 for U, 2 for V (both packed alike here).
  template <class T>
  __device__ __forceinline__ T* chroma(T* plane, const Geometry& g, int row, int x,
                                       int /*which*/) const {
    return plane + static_cast<std::size_t>(row) * static_cast<std::size_t>(g.chroma_width) +
           static_cast<std::size_t>(x);
  }
  template <class T>
  __device__ __forceinline__ T* tensor(T* plane, const Geometry& g, int y, int x) const {
    return luma(plane, g, y, x);
  }
  __device__ __forceinline__ std::int64_t w_stride() const { return 1; }
  __device__ __forceinline__ std::int64_t chroma_step() const { return 1; }
};

struct PitchedRows {
  std::size_t luma_pitch;
  std::size_t u_pitch;  // U and V may have pitches of their own
  std::size_t v_pitch;
  std::int64_t h_stride;
  std::int64_t w;
  std::int64_t step = 1;  // 2 for interleaved U,V: read-only (TensorToFrame writes planar frames)

  template <class T>
  __device__ __forceinline__ T* luma(T* plane, const Geometry&, int y, int x) const {
    return bytes_on(plane, static_cast<std::size_t>(y) * luma_pitch) + x;
  }
  template <class T>
  __device__ __forceinline__ T* chroma(T* plane, const Geometry&, int row, int x, int which) const {
    return bytes_on(plane, static_cast<std::size_t>(row) * (which == 1 ? u_pitch : v_pitch)) +
           x * step;
  }
  template <class T>
  __device__ __forceinline__ T* tensor(T* plane, const Geometry&, int y, int x) const {
    return plane + y * h_stride + x * w;
  }
  __device__ __forceinline__ std::int64_t w_stride() const { return w; }
  __device__ __forceinline__ std::int64_t chroma_step() const { return step; }
};

// Luma columns (and rows) per chroma sample. A tile is `Columns` luma columns of one chroma row:
// kSub<C> luma rows and Columns / kSub<C> chroma columns.
template <ChromaLayout C>
constexpr int kSub = C == ChromaLayout::yuv420 ? 2 : 1;

template <class Sample>
constexpr unsigned kSampleMask = sizeof(Sample) == 1 ? 0xFFU : 0x3FFU;

// N elements from p: with Vectors, in 16-byte (or smaller, for short rows) aligned pieces; else
// one at a time, `stride` elements apart, the `count` that exist, zero past them.
template <bool Vectors, int N, class T>
__device__ __forceinline__ void load_row(const T* p, int count, T (&out)[N],
                                         std::int64_t stride = 1) {
  if constexpr (Vectors) {
    constexpr std::size_t bytes = N * sizeof(T);
    constexpr std::size_t piece = bytes < 16 ? bytes : 16;
    using V = typename Vector<piece>::type;
    V packed[bytes / piece];
#pragma unroll
    for (std::size_t i = 0; i < bytes / piece; ++i) {
      packed[i] = __ldcs(reinterpret_cast<const V*>(p) + i);
    }
    std::memcpy(out, packed, bytes);
  } else {
#pragma unroll
    for (int j = 0; j < N; ++j) {
      out[j] = j < count ? __ldcs(p + j * stride) : T{0};
    }
  }
}

template <bool Vectors, int N, class T>
__device__ __forceinline__ void store_row(T* p, int count, const T (&in)[N],
                                          std::int64_t stride = 1) {
  if constexpr (Vectors) {
    constexpr std::size_t bytes = N * sizeof(T);
    constexpr std::size_t piece = bytes < 16 ? bytes : 16;
    using V = typename Vector<piece>::type;
    V packed[bytes / piece];
    std::memcpy(packed, in, bytes);
#pragma unroll
    for (std::size_t i = 0; i < bytes / piece; ++i) {
      __stcs(reinterpret_cast<V*>(p) + i, packed[i]);
    }
  } else {
#pragma unroll
    for (int j = 0; j < N; ++j) {
      if (j < count) {
        __stcs(p + j * stride, in[j]);
      }
    }
  }
}

template <class Sample>
__device__ __forceinline__ float centred(Sample s, int offset, unsigned shift) {
  return static_cast<float>(
      static_cast<int>((static_cast<unsigned>(s) >> shift) & kSampleMask<Sample>) - offset);
}

// post()'s clamp: NaN becomes 1. The explicit test keeps that from being folded into a saturating
// instruction, which maps NaN to 0.
__device__ __forceinline__ float clamp_unit(float x) {
  return isnan(x) ? 1.0F : fmaxf(fminf(x, 1.0F), 0.0F);
}

template <class Sample>
__device__ __forceinline__ Sample quantise(float v, int lo, int hi) {
  return static_cast<Sample>(min(max(__float2int_rn(v), lo), hi));
}

// YuvToRgbCoefficients spells out the arithmetic; the chroma terms once per chroma sample.
template <class Sample, DType D, ChromaLayout C, int Columns, bool Vectors, class Rows>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm)
    yuv_to_tensor_tiles(Planes<const Sample> in, Planes<typename Element<D>::Storage> out,
                        Geometry g, YuvToRgbCoefficients k, Rows rows) {
  using Storage = typename Element<D>::Storage;
  constexpr int sub = kSub<C>;
  constexpr int chroma_columns = Columns / sub;
  const int x0 = static_cast<int>(blockIdx.x * kWarp + threadIdx.x) * Columns;
  if (x0 >= g.width) {
    return;
  }
  const int chroma_x0 = x0 / sub;
  for (int tile_row = static_cast<int>(blockIdx.y * kWarps + threadIdx.y); tile_row < g.tile_rows;
       tile_row += static_cast<int>(gridDim.y * kWarps)) {
    Sample u[chroma_columns];
    Sample v[chroma_columns];
    load_row<Vectors>(rows.chroma(in.plane[1], g, tile_row, chroma_x0, 1),
                      g.chroma_width - chroma_x0, u, rows.chroma_step());
    load_row<Vectors>(rows.chroma(in.plane[2], g, tile_row, chroma_x0, 2),
                      g.chroma_width - chroma_x0, v, rows.chroma_step());
    float red[chroma_columns];
    float green[chroma_columns];
    float blue[chroma_columns];
#pragma unroll
    for (int j = 0; j < chroma_columns; ++j) {
      const float cu = centred(u[j], k.c_offset, g.shift);
      const float cv = centred(v[j], k.c_offset, g.shift);
      red[j] = __fmul_rn(k.r_v, cv);
      green[j] = __fadd_rn(__fmul_rn(k.g_u, cu), __fmul_rn(k.g_v, cv));
      blue[j] = __fmul_rn(k.b_u, cu);
    }
#pragma unroll
    for (int r = 0; r < sub; ++r) {
      const int y = tile_row * sub + r;
      if (y >= g.height) {
        break;
      }
      Sample luma[Columns];
      load_row<Vectors>(rows.luma(in.plane[0], g, y, x0), g.width - x0, luma);
      Storage values[3][Columns];
#pragma unroll
      for (int i = 0; i < Columns; ++i) {
        const float l = __fmul_rn(k.y_scale, centred(luma[i], k.y_offset, g.shift));
        values[0][i] = Element<D>::encode(__saturatef(__fadd_rn(l, red[i / sub])));
        values[1][i] = Element<D>::encode(__saturatef(__fadd_rn(l, green[i / sub])));
        values[2][i] = Element<D>::encode(__saturatef(__fadd_rn(l, blue[i / sub])));
      }
#pragma unroll
      for (int p = 0; p < 3; ++p) {
        store_row<Vectors>(rows.tensor(out.plane[p], g, y, x0), g.width - x0, values[p],
                           rows.w_stride());
      }
    }
  }
}

template <class Sample, DType D, ChromaLayout C, int Columns, bool Vectors, class Rows>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm)
    tensor_to_yuv_tiles(Planes<const typename Element<D>::Storage> in, Planes<Sample> out,
                        Geometry g, RgbToYuvCoefficients k, Rows layout) {
  using Storage = typename Element<D>::Storage;
  constexpr int sub = kSub<C>;
  constexpr int chroma_columns = Columns / sub;
  const int x0 = static_cast<int>(blockIdx.x * kWarp + threadIdx.x) * Columns;
  if (x0 >= g.width) {
    return;
  }
  const int chroma_x0 = x0 / sub;
  for (int tile_row = static_cast<int>(blockIdx.y * kWarps + threadIdx.y); tile_row < g.tile_rows;
       tile_row += static_cast<int>(gridDim.y * kWarps)) {
    // Per chroma column and channel: the row sums, left + right, added top to bottom.
    float sum[3][chroma_columns] = {};
    int rows = 0;
#pragma unroll
    for (int r = 0; r < sub; ++r) {
      const int y = tile_row * sub + r;
      if (y >= g.height) {
        break;
      }
      ++rows;
      float rgb[3][Columns];
#pragma unroll
      for (int p = 0; p < 3; ++p) {
        Storage raw[Columns];
        load_row<Vectors>(layout.tensor(in.plane[p], g, y, x0), g.width - x0, raw,
                          layout.w_stride());
#pragma unroll
        for (int i = 0; i < Columns; ++i) {
          rgb[p][i] = clamp_unit(Element<D>::decode(raw[i]));
        }
      }
      Sample luma[Columns];
#pragma unroll
      for (int i = 0; i < Columns; ++i) {
        const float l =
            __fadd_rn(__fadd_rn(__fadd_rn(__fmul_rn(k.y_r, rgb[0][i]), __fmul_rn(k.y_g, rgb[1][i])),
                                __fmul_rn(k.y_b, rgb[2][i])),
                      k.y_offset);
        luma[i] = quantise<Sample>(l, k.y_min, k.y_max);
      }
      store_row<Vectors>(layout.luma(out.plane[0], g, y, x0), g.width - x0, luma);
#pragma unroll
      for (int p = 0; p < 3; ++p) {
#pragma unroll
        for (int j = 0; j < chroma_columns; ++j) {
          float row_sum = rgb[p][j * sub];
          if (sub == 2 && (Vectors || x0 + j * sub + 1 < g.width)) {
            row_sum = __fadd_rn(row_sum, rgb[p][j * sub + 1]);
          }
          sum[p][j] = r == 0 ? row_sum : __fadd_rn(sum[p][j], row_sum);
        }
      }
    }
    Sample cu[chroma_columns];
    Sample cv[chroma_columns];
#pragma unroll
    for (int j = 0; j < chroma_columns; ++j) {
      const int columns = sub == 2 && (Vectors || x0 + j * sub + 1 < g.width) ? 2 : 1;
      const int n = rows * columns;
      const float inverse = n == 4 ? 0.25F : n == 2 ? 0.5F : 1.0F;
      const float mr = __fmul_rn(sum[0][j], inverse);
      const float mg = __fmul_rn(sum[1][j], inverse);
      const float mb = __fmul_rn(sum[2][j], inverse);
      const float fu = __fadd_rn(
          __fadd_rn(__fadd_rn(__fmul_rn(k.u_r, mr), __fmul_rn(k.u_g, mg)), __fmul_rn(k.u_b, mb)),
          k.c_offset);
      const float fv = __fadd_rn(
          __fadd_rn(__fadd_rn(__fmul_rn(k.v_r, mr), __fmul_rn(k.v_g, mg)), __fmul_rn(k.v_b, mb)),
          k.c_offset);
      cu[j] = quantise<Sample>(fu, k.c_min, k.c_max);
      cv[j] = quantise<Sample>(fv, k.c_min, k.c_max);
    }
    store_row<Vectors>(layout.chroma(out.plane[1], g, tile_row, chroma_x0, 1),
                       g.chroma_width - chroma_x0, cu);
    store_row<Vectors>(layout.chroma(out.plane[2], g, tile_row, chroma_x0, 2),
                       g.chroma_width - chroma_x0, cv);
  }
}

bool aligned(const void* p, std::size_t alignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

// Vector tiles need whole tiles in every row, which also aligns every row and plane to its vector
// size given aligned bases: luma rows of 8 samples, chroma rows of 4 (4:2:0) or 8, tensor rows of
// 16 or 32 bytes.
bool vectorisable(const YuvDesc& desc, const void* yuv, const void* nchw) {
  return desc.width % kVectorColumns == 0 && aligned(yuv, kVectorColumns * desc.sample_bytes()) &&
         aligned(nchw, 16);
}

Geometry geometry_of(const YuvDesc& desc) {
  return {desc.width, desc.height, static_cast<int>(desc.chroma_width()),
          static_cast<int>(desc.chroma_height()),
          desc.msb_aligned ? static_cast<unsigned>(16 - desc.bits) : 0U};
}

dim3 grid_for(const Geometry& g, int columns) {
  const unsigned tiles_per_row = static_cast<unsigned>((g.width + columns - 1) / columns);
  const unsigned block_rows = (static_cast<unsigned>(g.tile_rows) + kWarps - 1) / kWarps;
  return {(tiles_per_row + kWarp - 1) / kWarp, std::min(block_rows, kMaxBlockRows), 1};
}

template <class T, class Byte>
Planes<T> yuv_planes(Byte* yuv, const YuvDesc& desc) {
  return {{reinterpret_cast<T*>(yuv), reinterpret_cast<T*>(yuv + desc.u_offset()),
           reinterpret_cast<T*>(yuv + desc.v_offset())}};
}

template <class T>
Planes<T> tensor_planes(T* nchw, std::size_t pixels) {
  return {{nchw, nchw + pixels, nchw + 2 * pixels}};
}

template <class Sample, DType D, ChromaLayout C>
void launch_to_tensor(const YuvDesc& desc, const void* yuv, void* nchw, cudaStream_t stream) {
  using Storage = typename Element<D>::Storage;
  const auto in = yuv_planes<const Sample>(static_cast<const unsigned char*>(yuv), desc);
  const auto out = tensor_planes(static_cast<Storage*>(nchw), desc.pixels());
  const Geometry g = geometry_of(desc);
  const YuvToRgbCoefficients k = yuv_to_rgb_coefficients(desc);
  const dim3 block(kWarp, kWarps);
  if (vectorisable(desc, yuv, nchw)) {
    yuv_to_tensor_tiles<Sample, D, C, kVectorColumns, true>
        <<<grid_for(g, kVectorColumns), block, 0, stream>>>(in, out, g, k, PackedRows{});
  } else {
    constexpr int columns = kSub<C>;
    yuv_to_tensor_tiles<Sample, D, C, columns, false>
        <<<grid_for(g, columns), block, 0, stream>>>(in, out, g, k, PackedRows{});
  }
  PYN_CUDA_CHECK_LAUNCH();
}

template <class Sample, DType D, ChromaLayout C>
void launch_to_yuv(const void* nchw, const YuvDesc& desc, void* yuv, cudaStream_t stream) {
  using Storage = typename Element<D>::Storage;
  const auto in = tensor_planes(static_cast<const Storage*>(nchw), desc.pixels());
  const auto out = yuv_planes<Sample>(static_cast<unsigned char*>(yuv), desc);
  const Geometry g = geometry_of(desc);
  const RgbToYuvCoefficients k = rgb_to_yuv_coefficients(desc);
  const dim3 block(kWarp, kWarps);
  if (vectorisable(desc, yuv, nchw)) {
    tensor_to_yuv_tiles<Sample, D, C, kVectorColumns, true>
        <<<grid_for(g, kVectorColumns), block, 0, stream>>>(in, out, g, k, PackedRows{});
  } else {
    constexpr int columns = kSub<C>;
    tensor_to_yuv_tiles<Sample, D, C, columns, false>
        <<<grid_for(g, columns), block, 0, stream>>>(in, out, g, k, PackedRows{});
  }
  PYN_CUDA_CHECK_LAUNCH();
}

PitchedRows pitched_rows(const detail::ConvertJob& job) {
  return {job.pitch[0], job.pitch[1], job.pitch[2], job.h_stride, job.w_stride, job.chroma_step};
}

template <class T>
Planes<T> job_tensor_planes(const detail::ConvertJob& job) {
  auto* base = reinterpret_cast<T*>(job.tensor);
  return {{base, base + job.c_stride, base + 2 * job.c_stride}};
}

template <class T>
Planes<T> job_frame_planes(const detail::ConvertJob& job) {
  return {{reinterpret_cast<T*>(job.plane[0]), reinterpret_cast<T*>(job.plane[1]),
           reinterpret_cast<T*>(job.plane[2])}};
}

template <class Sample, DType D, ChromaLayout C>
void to_tensor_job(const detail::ConvertJob& job, cudaStream_t stream) {
  if (job.packed) {
    launch_to_tensor<Sample, D, C>(job.yuv, job.plane[0], job.tensor, stream);
    return;
  }
  using Storage = typename Element<D>::Storage;
  const Geometry g = geometry_of(job.yuv);
  constexpr int columns = kSub<C>;
  yuv_to_tensor_tiles<Sample, D, C, columns, false>
      <<<grid_for(g, columns), dim3(kWarp, kWarps), 0, stream>>>(
          job_frame_planes<const Sample>(job), job_tensor_planes<Storage>(job), g,
          yuv_to_rgb_coefficients(job.yuv), pitched_rows(job));
  PYN_CUDA_CHECK_LAUNCH();
}

template <class Sample, DType D, ChromaLayout C>
void to_yuv_job(const detail::ConvertJob& job, cudaStream_t stream) {
  if (job.packed) {
    launch_to_yuv<Sample, D, C>(job.tensor, job.yuv, job.plane[0], stream);
    return;
  }
  using Storage = typename Element<D>::Storage;
  const Geometry g = geometry_of(job.yuv);
  constexpr int columns = kSub<C>;
  tensor_to_yuv_tiles<Sample, D, C, columns, false>
      <<<grid_for(g, columns), dim3(kWarp, kWarps), 0, stream>>>(
          job_tensor_planes<const Storage>(job), job_frame_planes<Sample>(job), g,
          rgb_to_yuv_coefficients(job.yuv), pitched_rows(job));
  PYN_CUDA_CHECK_LAUNCH();
}

PixelType sample_type(const YuvDesc& desc) {
  return desc.sample_bytes() == 1 ? PixelType::u8 : PixelType::u16;
}

}  // namespace

void yuv_to_tensor_cuda(const YuvDesc& desc, const void* yuv, DType dtype, void* nchw,
                        cudaStream_t stream) {
  detail::check_planar("yuv_to_tensor", desc);
  detail::check_yuv_args("yuv_to_tensor", desc, yuv, dtype, nchw);
  detail::visit_prepost_types(sample_type(desc), dtype, [&]<class Sample, DType D>() {
    if (desc.chroma == ChromaLayout::yuv420) {
      launch_to_tensor<Sample, D, ChromaLayout::yuv420>(desc, yuv, nchw, stream);
    } else {
      launch_to_tensor<Sample, D, ChromaLayout::yuv444>(desc, yuv, nchw, stream);
    }
  });
}

void tensor_to_yuv_cuda(DType dtype, const void* nchw, const YuvDesc& desc, void* yuv,
                        cudaStream_t stream) {
  detail::check_planar("tensor_to_yuv", desc);
  detail::check_yuv_args("tensor_to_yuv", desc, yuv, dtype, nchw);
  detail::visit_prepost_types(sample_type(desc), dtype, [&]<class Sample, DType D>() {
    if (desc.chroma == ChromaLayout::yuv420) {
      launch_to_yuv<Sample, D, ChromaLayout::yuv420>(nchw, desc, yuv, stream);
    } else {
      launch_to_yuv<Sample, D, ChromaLayout::yuv444>(nchw, desc, yuv, stream);
    }
  });
}

namespace detail {

CudaLaunch resolve_yuv_to_tensor_cuda(const YuvDesc& desc, DType dtype) {
  const bool planar420 = desc.chroma == ChromaLayout::yuv420;
  return visit_prepost_types(sample_type(desc), dtype,
                             [planar420]<class Sample, DType D>() -> CudaLaunch {
                               if (planar420) {
                                 return &to_tensor_job<Sample, D, ChromaLayout::yuv420>;
                               }
                               return &to_tensor_job<Sample, D, ChromaLayout::yuv444>;
                             });
}

CudaLaunch resolve_tensor_to_yuv_cuda(const YuvDesc& desc, DType dtype) {
  const bool planar420 = desc.chroma == ChromaLayout::yuv420;
  return visit_prepost_types(sample_type(desc), dtype,
                             [planar420]<class Sample, DType D>() -> CudaLaunch {
                               if (planar420) {
                                 return &to_yuv_job<Sample, D, ChromaLayout::yuv420>;
                               }
                               return &to_yuv_job<Sample, D, ChromaLayout::yuv444>;
                             });
}

}  // namespace detail

}  // namespace pyn
