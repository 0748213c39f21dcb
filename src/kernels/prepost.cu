// The CUDA pre/post kernels and their launchers.
//
// Both directions are pure streaming: a few flops per byte, so the only goal is to run at memory
// bandwidth. Each thread owns one "group": as many pixels as fill one 16-byte vector per tensor
// plane (4 for f32, 8 for f16/bf16). The group's interleaved samples are then three contiguous
// "chunks" of 4, 8 or 16 bytes. The planes are read or written with one 16-byte access per plane,
// contiguous across the warp. The interleaved side goes through a small shared-memory tile per
// warp so that it too is accessed contiguously across the warp: straight from registers, thread t
// would touch chunks 3t..3t+2 and each warp-wide access would cover only a third of its span, which
// costs most in post's stores. Loads and stores use the streaming cache hints (.cs): every byte is
// touched once, so it should not push anything else out of L2.
//
// Frames with a pitch, regions of interest and tensors with strides take a general kernel of one
// pixel per thread; the vectorised kernels stay the path of a whole packed frame. Planar frames
// take a kernel of one pixel per thread in every case: each plane is read or written along its
// rows, coalesced across the warp, with no interleave to undo.
//
// The arithmetic is the CPU reference's (prepost_cpu.cpp), step for step: __fmul_rn keeps the
// multiply a separate, rounded fp32 operation that the compiler may not fuse or reorder.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "convert_job.hpp"
#include "prepost_args.hpp"
#include "prepost_dispatch.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/kernels/prepost.hpp"

namespace pyn {
namespace {

constexpr int kThreads = 256;
// Blocks per SM the grouped kernels must fit (a full 2048 threads), capping them at 32 registers.
// Resident threads per SM: 2048 on sm_80 and sm_90, 1536 on sm_86, sm_87 and sm_89. A launch bound
// above the device's limit is an error, so each target gets its own.
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 860 || __CUDA_ARCH__ == 870 || __CUDA_ARCH__ == 890)
constexpr int kBlocksPerSm = 1536 / kThreads;
#else
constexpr int kBlocksPerSm = 2048 / kThreads;
#endif
// Beyond this the grid-stride loops take over; far above what a 4K frame needs.
constexpr std::size_t kMaxBlocks = 1U << 20;

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

template <class Sample, DType D>
struct Group {
  using Storage = typename Element<D>::Storage;
  static constexpr std::size_t pixels = 16 / sizeof(Storage);
  // One third of the group's interleaved samples.
  using Chunk = typename Vector<pixels * sizeof(Sample)>::type;
};

// The three tensor planes in the frame's channel order: plane[k] receives (or feeds) channel k of
// an interleaved pixel, which is how a BGR frame ends up as an RGB tensor.
template <class T>
struct Planes {
  T* plane[3];
};

template <class T, class Stride>
Planes<T> planes_of(T* nchw, Stride pixels, ChannelOrder order) {
  const Stride red = order == ChannelOrder::bgr ? 2 : 0;
  return {{nchw + red * pixels, nchw + pixels, nchw + (2 - red) * pixels}};
}

template <class Sample, DType D>
__device__ __forceinline__ typename Element<D>::Storage to_tensor(Sample x, float scale) {
  return Element<D>::encode(__fmul_rn(static_cast<float>(x), scale));
}

template <class Sample, DType D>
__device__ __forceinline__ Sample to_sample(typename Element<D>::Storage t, float scale) {
  // fmaxf(fminf(x, 1), 0) alone maps NaN to 1, but ptxas folds that clamp into FADD.SAT, which
  // maps NaN to 0 (seen on sm_90). The explicit test keeps the documented NaN -> 1.
  const float x = Element<D>::decode(t);
  const float v = isnan(x) ? 1.0F : fmaxf(fminf(x, 1.0F), 0.0F);
  return static_cast<Sample>(__float2uint_rn(__fmul_rn(v, scale)));
}

__device__ __forceinline__ std::size_t thread_index() {
  return static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ std::size_t thread_count() {
  return static_cast<std::size_t>(gridDim.x) * blockDim.x;
}

constexpr unsigned kWarp = 32;

// The interleaved chunks of one warp's 32 groups: thread t's own are 3t..3t+2.
template <class Chunk>
struct WarpTile {
  Chunk chunk[3 * kWarp];
};

// Thread t loads chunks t, t + 32 and t + 64 of the warp's span and takes back its own three. Only
// for a warp whose 32 groups all exist.
template <class Chunk>
__device__ __forceinline__ void load_interleaved(const Chunk* warp_span, WarpTile<Chunk>& tile,
                                                 unsigned lane, Chunk (&own)[3]) {
#pragma unroll
  for (unsigned j = 0; j < 3; ++j) {
    tile.chunk[lane + j * kWarp] = __ldcs(warp_span + lane + j * kWarp);
  }
  __syncwarp();
#pragma unroll
  for (unsigned k = 0; k < 3; ++k) {
    own[k] = tile.chunk[3 * lane + k];
  }
  __syncwarp();
}

template <class Chunk>
__device__ __forceinline__ void store_interleaved(Chunk* warp_span, WarpTile<Chunk>& tile,
                                                  unsigned lane, const Chunk (&own)[3]) {
#pragma unroll
  for (unsigned k = 0; k < 3; ++k) {
    tile.chunk[3 * lane + k] = own[k];
  }
  __syncwarp();
#pragma unroll
  for (unsigned j = 0; j < 3; ++j) {
    __stcs(warp_span + lane + j * kWarp, tile.chunk[lane + j * kWarp]);
  }
  __syncwarp();
}

// Needs the frame aligned to a Chunk and every plane to 16 bytes. Planes are contiguous, so the
// second one is aligned only if a plane holds whole groups: there is never a partial group.
template <class Sample, DType D>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm)
    pre_grouped(const Sample* __restrict__ hwc, Planes<typename Element<D>::Storage> out,
                std::size_t pixels, float scale) {
  using G = Group<Sample, D>;
  using Chunk = typename G::Chunk;
  using Storage = typename G::Storage;
  __shared__ WarpTile<Chunk> tiles[kThreads / kWarp];
  WarpTile<Chunk>& tile = tiles[threadIdx.x / kWarp];
  const unsigned lane = threadIdx.x % kWarp;
  const auto* chunks_in = reinterpret_cast<const Chunk*>(hwc);
  const std::size_t groups = pixels / G::pixels;
  for (std::size_t g = thread_index(); g < groups; g += thread_count()) {
    Chunk chunks[3];
    const std::size_t warp_first = g - lane;
    if (warp_first + kWarp <= groups) {
      load_interleaved(chunks_in + 3 * warp_first, tile, lane, chunks);
    } else {
#pragma unroll
      for (int k = 0; k < 3; ++k) {
        chunks[k] = __ldcs(chunks_in + 3 * g + k);
      }
    }
    Sample samples[3 * G::pixels];
    std::memcpy(samples, chunks, sizeof samples);
    Storage values[3][G::pixels];
#pragma unroll
    for (std::size_t i = 0; i < G::pixels; ++i) {
#pragma unroll
      for (int k = 0; k < 3; ++k) {
        values[k][i] = to_tensor<Sample, D>(samples[3 * i + k], scale);
      }
    }
#pragma unroll
    for (int k = 0; k < 3; ++k) {
      uint4 packed;
      std::memcpy(&packed, values[k], sizeof packed);
      __stcs(reinterpret_cast<uint4*>(out.plane[k]) + g, packed);
    }
  }
}

// Any alignment: one pixel per thread.
template <class Sample, DType D>
__global__ void __launch_bounds__(kThreads)
    pre_pixelwise(const Sample* __restrict__ hwc, Planes<typename Element<D>::Storage> out,
                  std::size_t pixels, float scale) {
  for (std::size_t i = thread_index(); i < pixels; i += thread_count()) {
#pragma unroll
    for (int k = 0; k < 3; ++k) {
      out.plane[k][i] = to_tensor<Sample, D>(hwc[3 * i + k], scale);
    }
  }
}

template <class Sample, DType D>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm)
    post_grouped(Planes<const typename Element<D>::Storage> in, Sample* __restrict__ hwc,
                 std::size_t pixels, float scale) {
  using G = Group<Sample, D>;
  using Chunk = typename G::Chunk;
  using Storage = typename G::Storage;
  __shared__ WarpTile<Chunk> tiles[kThreads / kWarp];
  WarpTile<Chunk>& tile = tiles[threadIdx.x / kWarp];
  const unsigned lane = threadIdx.x % kWarp;
  auto* chunks_out = reinterpret_cast<Chunk*>(hwc);
  const std::size_t groups = pixels / G::pixels;
  for (std::size_t g = thread_index(); g < groups; g += thread_count()) {
    Storage values[3][G::pixels];
#pragma unroll
    for (int k = 0; k < 3; ++k) {
      const uint4 packed = __ldcs(reinterpret_cast<const uint4*>(in.plane[k]) + g);
      std::memcpy(values[k], &packed, sizeof packed);
    }
    Sample samples[3 * G::pixels];
#pragma unroll
    for (std::size_t i = 0; i < G::pixels; ++i) {
#pragma unroll
      for (int k = 0; k < 3; ++k) {
        samples[3 * i + k] = to_sample<Sample, D>(values[k][i], scale);
      }
    }
    Chunk chunks[3];
    std::memcpy(chunks, samples, sizeof chunks);
    const std::size_t warp_first = g - lane;
    if (warp_first + kWarp <= groups) {
      store_interleaved(chunks_out + 3 * warp_first, tile, lane, chunks);
    } else {
#pragma unroll
      for (int k = 0; k < 3; ++k) {
        __stcs(chunks_out + 3 * g + k, chunks[k]);
      }
    }
  }
}

template <class Sample, DType D>
__global__ void __launch_bounds__(kThreads)
    post_pixelwise(Planes<const typename Element<D>::Storage> in, Sample* __restrict__ hwc,
                   std::size_t pixels, float scale) {
  for (std::size_t i = thread_index(); i < pixels; i += thread_count()) {
#pragma unroll
    for (int k = 0; k < 3; ++k) {
      hwc[3 * i + k] = to_sample<Sample, D>(in.plane[k][i], scale);
    }
  }
}

// The general path: a region of a frame with a pitch, a tensor slice with strides. One pixel per
// thread, a warp along a row; each thread's row index strides over the grid's rows.
constexpr unsigned kStridedRows = kThreads / kWarp;

template <class Sample, DType D>
__global__ void __launch_bounds__(kThreads)
    pre_strided(const unsigned char* __restrict__ frame, std::size_t pitch,
                Planes<typename Element<D>::Storage> out, int width, int height,
                std::int64_t h_stride, std::int64_t w_stride, float scale) {
  const int x = static_cast<int>(blockIdx.x * kWarp + threadIdx.x);
  if (x >= width) {
    return;
  }
  for (int y = static_cast<int>(blockIdx.y * kStridedRows + threadIdx.y); y < height;
       y += static_cast<int>(gridDim.y * kStridedRows)) {
    const auto* row = reinterpret_cast<const Sample*>(frame + static_cast<std::size_t>(y) * pitch);
    const std::int64_t at = y * h_stride + x * w_stride;
#pragma unroll
    for (int k = 0; k < 3; ++k) {
      out.plane[k][at] = to_tensor<Sample, D>(row[3 * x + k], scale);
    }
  }
}

template <class Sample, DType D>
__global__ void __launch_bounds__(kThreads)
    post_strided(Planes<const typename Element<D>::Storage> in, unsigned char* __restrict__ frame,
                 std::size_t pitch, int width, int height, std::int64_t h_stride,
                 std::int64_t w_stride, float scale) {
  const int x = static_cast<int>(blockIdx.x * kWarp + threadIdx.x);
  if (x >= width) {
    return;
  }
  for (int y = static_cast<int>(blockIdx.y * kStridedRows + threadIdx.y); y < height;
       y += static_cast<int>(gridDim.y * kStridedRows)) {
    auto* row = reinterpret_cast<Sample*>(frame + static_cast<std::size_t>(y) * pitch);
    const std::int64_t at = y * h_stride + x * w_stride;
#pragma unroll
    for (int k = 0; k < 3; ++k) {
      row[3 * x + k] = to_sample<Sample, D>(in.plane[k][at], scale);
    }
  }
}

dim3 strided_grid(int width, int height) {
  const unsigned columns = (static_cast<unsigned>(width) + kWarp - 1) / kWarp;
  const unsigned rows = (static_cast<unsigned>(height) + kStridedRows - 1) / kStridedRows;
  return {columns, std::min(rows, 65535U), 1};
}

unsigned int blocks_for(std::size_t threads) {
  const std::size_t blocks = (threads + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(std::clamp<std::size_t>(blocks, 1, kMaxBlocks));
}

bool aligned(const void* p, std::size_t alignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

template <class Sample, DType D>
bool groupable(const void* hwc, const void* nchw, std::size_t pixels) {
  using G = Group<Sample, D>;
  return pixels % G::pixels == 0 && aligned(nchw, 16) && aligned(hwc, sizeof(typename G::Chunk));
}

template <class Sample, DType D>
void launch_pre(const ImageDesc& image, const void* hwc, void* nchw, cudaStream_t stream) {
  using G = Group<Sample, D>;
  const std::size_t pixels = image.pixels();
  const auto* in = static_cast<const Sample*>(hwc);
  const auto out = planes_of(static_cast<typename G::Storage*>(nchw), pixels, image.order);
  const float scale = unit_scale(image.pixel);
  if (groupable<Sample, D>(hwc, nchw, pixels)) {
    pre_grouped<Sample, D>
        <<<blocks_for(pixels / G::pixels), kThreads, 0, stream>>>(in, out, pixels, scale);
  } else {
    pre_pixelwise<Sample, D><<<blocks_for(pixels), kThreads, 0, stream>>>(in, out, pixels, scale);
  }
  PYN_CUDA_CHECK_LAUNCH();
}

template <class Sample, DType D>
void launch_post(const void* nchw, const ImageDesc& image, void* hwc, cudaStream_t stream) {
  using G = Group<Sample, D>;
  const std::size_t pixels = image.pixels();
  const auto in = planes_of(static_cast<const typename G::Storage*>(nchw), pixels, image.order);
  auto* out = static_cast<Sample*>(hwc);
  const float scale = full_scale(image.pixel);
  if (groupable<Sample, D>(hwc, nchw, pixels)) {
    post_grouped<Sample, D>
        <<<blocks_for(pixels / G::pixels), kThreads, 0, stream>>>(in, out, pixels, scale);
  } else {
    post_pixelwise<Sample, D><<<blocks_for(pixels), kThreads, 0, stream>>>(in, out, pixels, scale);
  }
  PYN_CUDA_CHECK_LAUNCH();
}

template <class Sample, DType D>
void pre_job(const detail::ConvertJob& job, cudaStream_t stream) {
  if (job.packed) {
    launch_pre<Sample, D>(job.image, job.plane[0], job.tensor, stream);
    return;
  }
  using Storage = typename Element<D>::Storage;
  const auto out = planes_of(reinterpret_cast<Storage*>(job.tensor), job.c_stride, job.image.order);
  pre_strided<Sample, D>
      <<<strided_grid(job.image.width, job.image.height), dim3(kWarp, kStridedRows), 0, stream>>>(
          reinterpret_cast<const unsigned char*>(job.plane[0]), job.pitch[0], out, job.image.width,
          job.image.height, job.h_stride, job.w_stride, unit_scale(job.image.pixel));
  PYN_CUDA_CHECK_LAUNCH();
}

template <class Sample, DType D>
void post_job(const detail::ConvertJob& job, cudaStream_t stream) {
  if (job.packed) {
    launch_post<Sample, D>(job.tensor, job.image, job.plane[0], stream);
    return;
  }
  using Storage = typename Element<D>::Storage;
  const auto in =
      planes_of(reinterpret_cast<const Storage*>(job.tensor), job.c_stride, job.image.order);
  post_strided<Sample, D>
      <<<strided_grid(job.image.width, job.image.height), dim3(kWarp, kStridedRows), 0, stream>>>(
          in, reinterpret_cast<unsigned char*>(job.plane[0]), job.pitch[0], job.image.width,
          job.image.height, job.h_stride, job.w_stride, full_scale(job.image.pixel));
  PYN_CUDA_CHECK_LAUNCH();
}


// Planar frames (ImageDesc::planar()): plane k holds channel k in the frame's order, with its own
// pitch. One pixel per thread, a warp along a row of each plane, as the strided kernels; the
// packed whole frame takes the same kernel (its pitches are its rows).
template <PixelType P>
using PlanarSample = typename detail::PlanarSample<P>::type;

struct PlanarFrame {
  unsigned char* plane[3];
  std::size_t pitch[3];
};

// The quiet NaN a NaN float sample becomes, written as bits on both backends.
template <DType D>
__device__ __forceinline__ typename Element<D>::Storage quiet_nan() {
  if constexpr (D == DType::f32) {
    return __int_as_float(0x7fc00000);
  } else if constexpr (D == DType::f16) {
    return static_cast<unsigned short>(0x7e00);
  } else {
    return static_cast<unsigned short>(0x7fc0);
  }
}

template <PixelType P, DType D>
__device__ __forceinline__ typename Element<D>::Storage planar_to_tensor(PlanarSample<P> x,
                                                                         float scale,
                                                                         unsigned mask) {
  if constexpr (P == PixelType::f32) {
    return isnan(x) ? quiet_nan<D>() : Element<D>::encode(x);
  } else if constexpr (P == PixelType::f16) {
    const float v = __half2float(__ushort_as_half(x));
    return isnan(v) ? quiet_nan<D>() : Element<D>::encode(v);
  } else {
    return to_tensor<PlanarSample<P>, D>(static_cast<PlanarSample<P>>(x & mask), scale);
  }
}

template <PixelType P, DType D>
__device__ __forceinline__ PlanarSample<P> planar_to_sample(typename Element<D>::Storage t,
                                                            float scale) {
  if constexpr (P == PixelType::f32) {
    const float v = Element<D>::decode(t);
    return isnan(v) ? __int_as_float(0x7fc00000) : v;
  } else if constexpr (P == PixelType::f16) {
    const float v = Element<D>::decode(t);
    return isnan(v) ? static_cast<unsigned short>(0x7e00) : __half_as_ushort(__float2half_rn(v));
  } else {
    return to_sample<PlanarSample<P>, D>(t, scale);
  }
}

template <PixelType P, DType D>
__global__ void __launch_bounds__(kThreads)
    planar_pre(PlanarFrame frame, Planes<typename Element<D>::Storage> out, int width, int height,
               std::int64_t h_stride, std::int64_t w_stride, float scale, unsigned mask) {
  const int x = static_cast<int>(blockIdx.x * kWarp + threadIdx.x);
  if (x >= width) {
    return;
  }
  for (int y = static_cast<int>(blockIdx.y * kStridedRows + threadIdx.y); y < height;
       y += static_cast<int>(gridDim.y * kStridedRows)) {
    const std::int64_t at = y * h_stride + x * w_stride;
#pragma unroll
    for (int k = 0; k < 3; ++k) {
      const auto* row = reinterpret_cast<const PlanarSample<P>*>(
          frame.plane[k] + static_cast<std::size_t>(y) * frame.pitch[k]);
      out.plane[k][at] = planar_to_tensor<P, D>(__ldcs(row + x), scale, mask);
    }
  }
}

template <PixelType P, DType D>
__global__ void __launch_bounds__(kThreads)
    planar_post(Planes<const typename Element<D>::Storage> in, PlanarFrame frame, int width,
                int height, std::int64_t h_stride, std::int64_t w_stride, float scale) {
  const int x = static_cast<int>(blockIdx.x * kWarp + threadIdx.x);
  if (x >= width) {
    return;
  }
  for (int y = static_cast<int>(blockIdx.y * kStridedRows + threadIdx.y); y < height;
       y += static_cast<int>(gridDim.y * kStridedRows)) {
    const std::int64_t at = y * h_stride + x * w_stride;
#pragma unroll
    for (int k = 0; k < 3; ++k) {
      auto* row = reinterpret_cast<PlanarSample<P>*>(frame.plane[k] +
                                                     static_cast<std::size_t>(y) * frame.pitch[k]);
      __stcs(row + x, planar_to_sample<P, D>(in.plane[k][at], scale));
    }
  }
}

PlanarFrame planar_frame(const detail::ConvertJob& job) {
  PlanarFrame frame{};
  for (int k = 0; k < 3; ++k) {
    frame.plane[k] = reinterpret_cast<unsigned char*>(job.plane[static_cast<std::size_t>(k)]);
    frame.pitch[k] = job.pitch[static_cast<std::size_t>(k)];
  }
  return frame;
}

template <PixelType P, DType D>
void planar_pre_job(const detail::ConvertJob& job, cudaStream_t stream) {
  using Storage = typename Element<D>::Storage;
  const auto out = planes_of(reinterpret_cast<Storage*>(job.tensor), job.c_stride, job.image.order);
  planar_pre<P, D>
      <<<strided_grid(job.image.width, job.image.height), dim3(kWarp, kStridedRows), 0, stream>>>(
          planar_frame(job), out, job.image.width, job.image.height, job.h_stride, job.w_stride,
          unit_scale(job.image), sample_mask(job.image));
  PYN_CUDA_CHECK_LAUNCH();
}

template <PixelType P, DType D>
void planar_post_job(const detail::ConvertJob& job, cudaStream_t stream) {
  using Storage = typename Element<D>::Storage;
  const auto in =
      planes_of(reinterpret_cast<const Storage*>(job.tensor), job.c_stride, job.image.order);
  planar_post<P, D>
      <<<strided_grid(job.image.width, job.image.height), dim3(kWarp, kStridedRows), 0, stream>>>(
          in, planar_frame(job), job.image.width, job.image.height, job.h_stride, job.w_stride,
          full_scale(job.image));
  PYN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void pre_cuda(const ImageDesc& image, const void* hwc, DType dtype, void* nchw,
              cudaStream_t stream) {
  detail::check_prepost_args("pre", image, hwc, dtype, nchw);
  if (image.planar()) {
    detail::resolve_planar_pre_cuda(image.pixel, dtype)(detail::packed_job(image, hwc, nchw),
                                                        stream);
    return;
  }
  detail::visit_prepost_types(image.pixel, dtype, [&]<class Sample, DType D>() {
    launch_pre<Sample, D>(image, hwc, nchw, stream);
  });
}

void post_cuda(DType dtype, const void* nchw, const ImageDesc& image, void* hwc,
               cudaStream_t stream) {
  detail::check_prepost_args("post", image, hwc, dtype, nchw);
  if (image.planar()) {
    detail::resolve_planar_post_cuda(image.pixel, dtype)(detail::packed_job(image, hwc, nchw),
                                                         stream);
    return;
  }
  detail::visit_prepost_types(image.pixel, dtype, [&]<class Sample, DType D>() {
    launch_post<Sample, D>(nchw, image, hwc, stream);
  });
}

namespace detail {

CudaLaunch resolve_pre_cuda(PixelType pixel, DType dtype) {
  return visit_prepost_types(
      pixel, dtype, [&]<class Sample, DType D>() -> CudaLaunch { return &pre_job<Sample, D>; });
}

CudaLaunch resolve_post_cuda(PixelType pixel, DType dtype) {
  return visit_prepost_types(
      pixel, dtype, [&]<class Sample, DType D>() -> CudaLaunch { return &post_job<Sample, D>; });
}

CudaLaunch resolve_planar_pre_cuda(PixelType pixel, DType dtype) {
  return visit_planar_types(
      pixel, dtype, [&]<PixelType P, DType D>() -> CudaLaunch { return &planar_pre_job<P, D>; });
}

CudaLaunch resolve_planar_post_cuda(PixelType pixel, DType dtype) {
  return visit_planar_types(
      pixel, dtype, [&]<PixelType P, DType D>() -> CudaLaunch { return &planar_post_job<P, D>; });
}

}  // namespace detail

}  // namespace pyn
