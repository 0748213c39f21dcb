// KxK conv (K 3 or 1, stride 1, pad K/2) on Hopper tensor cores: the dispatcher over the CUTLASS
// kernels of conv_sm90_kernel.cuh (the default, 128x64 tiles with as many stages as fit, and in a
// tuning build the variants of conv_sm90_variant.cu, picked by PYN_NATIVE_CONV=NAME).
//
// Build for sm_90a (e.g. -gencode arch=compute_90a,code=sm_90a): wgmma exists only there. For any
// other target (sm_80, plain sm_90, compute_90 PTX) CUTLASS compiles the kernel body to a stub that
// only prints an error, so the run time check below (sm90a_probe) turns that into
// cudaErrorNotSupported instead of a silent no-op launch.

// CUTLASS's device asserts become calls that make ptxas serialize the wgmma pipeline (warning
// C7510), so they stay off in this file even in debug builds.
#ifndef NDEBUG
#define NDEBUG
#endif

#include "conv.hpp"

#include <cstdlib>
#include <cstring>

#include "cutlass/arch/config.h"  // defines CUTLASS_ARCH_MMA_SM90_SUPPORTED

#if defined(CUTLASS_ARCH_MMA_SM90_SUPPORTED)
#define PYN_CONV_SM90 1
#include "conv_sm90_kernel.cuh"
#endif

namespace pyn::native {

bool conv_sm90_supports(int cin, int cout, std::string* why) {
  // TMA moves 16-byte rows: the channel (innermost) extent of input, filter and output must be a
  // multiple of 8 half-precision elements. 8 is enough; cin below the tile's K (64) is zero-filled
  // by TMA, which costs MMA work for small cin but stays correct.
  auto fail = [why](const char* msg) {
    if (why != nullptr) *why = msg;
    return false;
  };
  if (cin <= 0 || cin % 8 != 0) return fail("cin must be a positive multiple of 8 (TMA 16-byte rows)");
  if (cout <= 0 || cout % 8 != 0) return fail("cout must be a positive multiple of 8 (TMA 16-byte rows)");
  return true;
}

#if defined(PYN_CONV_SM90)

#if defined(PYN_NATIVE_TUNING)
// Defined by the tuning build's conv_sm90_variant.cu objects, one per (tile pixels, stages).
#define PYN_VARIANT(m, s) ConvVariant conv_variant_##m##_##s();
#include "conv_variants.inc"
#undef PYN_VARIANT
#endif

namespace {

// Never launched. Its static shared memory is non-zero only in code built for sm_90a, and the driver
// loads one image of this file for all its kernels, so cudaFuncGetAttributes on it tells whether
// the image the device got holds the real conv kernel or CUTLASS's stub. No launch, no sync: it is
// safe during stream capture.
__global__ void sm90a_probe(int* out) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __shared__ int mark[32];
  mark[threadIdx.x & 31] = static_cast<int>(threadIdx.x);
  __syncthreads();
  *out = mark[(threadIdx.x + 1) & 31];
#else
  (void)out;
#endif
}

bool has_sm90a_image() {
  cudaFuncAttributes attr{};
  if (cudaFuncGetAttributes(&attr, sm90a_probe) != cudaSuccess) {
    (void)cudaGetLastError();  // no image for this device at all: clear the sticky-free error
    return false;
  }
  return attr.sharedSizeBytes > 0;
}

constexpr ConvVariant kDefault{"128x64", true, detail::run_variant<128, 0>, detail::variant_workspace<128, 0>};

// The variant PYN_NATIVE_CONV names (unset: the default), or nullptr where it names none.
const ConvVariant* chosen() {
  static const ConvVariant* const variant = []() -> const ConvVariant* {
    const char* name = std::getenv("PYN_NATIVE_CONV");
    if (name == nullptr || *name == 0 || std::strcmp(name, kDefault.name) == 0) return &kDefault;
#if defined(PYN_NATIVE_TUNING)
    static const ConvVariant variants[] = {
#define PYN_VARIANT(m, s) conv_variant_##m##_##s(),
#include "conv_variants.inc"
#undef PYN_VARIANT
    };
    for (const ConvVariant& v : variants) {
      if (std::strcmp(name, v.name) == 0) return &v;
    }
#endif
    return nullptr;
  }();
  return variant;
}

}  // namespace

bool conv_sm90_built() { return true; }

std::string conv_sm90_variant(std::string* why) {
  const ConvVariant* v = chosen();
  if (v == nullptr && why != nullptr) {
    *why = std::string("PYN_NATIVE_CONV names no convolution kernel of this build (") + std::getenv("PYN_NATIVE_CONV") +
#if defined(PYN_NATIVE_TUNING)
           "; it has " + kDefault.name + " and the tuning variants " +
#include "conv_variant_names.inc"
           + ")";
#else
           "; it has " + kDefault.name + " alone: configure with -DPYN_NATIVE_TUNING=ON for the others)";
#endif
  }
  return v == nullptr ? std::string() : std::string(v->name) + (v->bf16 ? "" : " (fp16 only)");
}

bool conv_sm90_fuses() {
  const ConvVariant* v = chosen();
  return v != nullptr && v->bf16;
}

std::size_t conv_sm90_workspace(const ConvArgs& args) {
  const ConvVariant* v = chosen();
  return v == nullptr ? 0 : v->workspace(args);
}

cudaError_t conv_sm90(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  if (!conv_sm90_supports(args.cin, args.cout, nullptr) || (args.kernel != 1 && args.kernel != 3) ||
      args.n <= 0 || args.h <= 0 ||
      args.w <= 0 || args.input == nullptr || args.weight == nullptr || args.bias == nullptr ||
      args.alpha == nullptr || args.output == nullptr ||
      (args.epilogue == ConvEpilogue::gate && args.source == nullptr)) {
    return cudaErrorInvalidValue;
  }
  const ConvVariant* variant = chosen();
  if (variant == nullptr) return cudaErrorInvalidValue;
  int device = 0;
  int major = 0;
  int minor = 0;
  int sm_count = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device);
  if (err != cudaSuccess) return err;
  if (major != 9 || minor != 0) return cudaErrorNotSupported;
  static const bool has_kernel = has_sm90a_image();  // per process: one device kind assumed
  if (!has_kernel) return cudaErrorNotSupported;
  return variant->run(args, workspace, stream, device, sm_count);
}

#else  // toolkit without CUTLASS's sm90 support

bool conv_sm90_built() { return false; }
bool conv_sm90_fuses() { return false; }
std::string conv_sm90_variant(std::string* why) {
  if (why != nullptr) *why = "this toolkit has no sm_90a support for CUTLASS's kernels";
  return {};
}
std::size_t conv_sm90_workspace(const ConvArgs&) { return 0; }
cudaError_t conv_sm90(const ConvArgs&, void*, cudaStream_t) { return cudaErrorNotSupported; }

#endif

}  // namespace pyn::native
