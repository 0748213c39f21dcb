// KxK conv (K 3 or 1, stride 1, pad K/2) on Hopper tensor cores: CUTLASS's sm90 implicit-GEMM fprop with a
// custom epilogue visitor tree computing out = prelu(acc + bias[k], alpha[k]).
//
// CUTLASS's fprop GEMM view: M = output pixels (Q,P,N), N = output channels K, K-mode = (C,S,R).
// The output channel is therefore the GEMM column, so bias and alpha are row vectors broadcast
// down the rows: Sm90RowBroadcast (stride <_0,_1,_0>), not Sm90ColBroadcast.
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

#include "cutlass/arch/config.h"  // defines CUTLASS_ARCH_MMA_SM90_SUPPORTED
#include "cutlass/cutlass.h"

#if defined(CUTLASS_ARCH_MMA_SM90_SUPPORTED)
#define PYN_CONV3X3_SM90 1
// Order matters: the conv collective headers use KernelHardwareInfo without including it.
#include "cute/tensor.hpp"
#include "cutlass/kernel_hardware_info.hpp"
#include "cutlass/conv/convnd_problem_shape.hpp"
#include "cutlass/conv/device/conv_universal_adapter.hpp"
#include "cutlass/conv/kernel/conv_universal.hpp"
#include "cutlass/conv/collective/collective_builder.hpp"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/epilogue/fusion/sm90_callbacks_tma_warpspecialized.hpp"
#include "cutlass/numeric_types.h"
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

#if defined(PYN_CONV3X3_SM90)

bool conv_sm90_built() { return true; }

namespace {

using namespace cute;

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

// prelu(x, a) on the epilogue's fragments; Sm90Compute instantiates it on Array<float, N>.
template <class T>
struct PRelu {
  CUTLASS_HOST_DEVICE T operator()(T const& x, T const& a) const { return x > T(0) ? x : a * x; }
};
template <class T, int N>
struct PRelu<cutlass::Array<T, N>> {
  CUTLASS_HOST_DEVICE cutlass::Array<T, N> operator()(cutlass::Array<T, N> const& x,
                                                      cutlass::Array<T, N> const& a) const {
    cutlass::Array<T, N> y;
    CUTLASS_PRAGMA_UNROLL
    for (int i = 0; i < N; ++i) y[i] = x[i] > T(0) ? x[i] : a[i] * x[i];
    return y;
  }
};

template <class Element>
struct Conv {
  // 128 pixels x 64 channels per CTA, 64 input channels per K step; one cluster CTA. A single
  // consumer warpgroup (plain warp-specialized schedule) is what KernelScheduleAuto picks for conv.
  using TileShape = Shape<_128, _64, Shape<_64>>;
  using ClusterShape = Shape<_1, _1, _1>;
  static constexpr int kAlign = 128 / cutlass::sizeof_bits<Element>::value;  // 8 for fp16/bf16

  using Layout = cutlass::layout::TensorNHWC;  // KRSC filters use the same tag (channel innermost)
  static constexpr auto kRound = cutlass::FloatRoundStyle::round_to_nearest;

  // Epilogue tree: PRelu(Plus(acc, bias), alpha); both vectors are per GEMM column (channel).
  using Bias = cutlass::epilogue::fusion::Sm90RowBroadcast<0, TileShape, float, float>;
  using Alpha = cutlass::epilogue::fusion::Sm90RowBroadcast<0, TileShape, float, float>;
  using AddBias = cutlass::epilogue::fusion::Sm90EVT<
      cutlass::epilogue::fusion::Sm90Compute<cutlass::plus, float, float, kRound>,
      cutlass::epilogue::fusion::Sm90AccFetch, Bias>;
  using Fusion = cutlass::epilogue::fusion::Sm90EVT<
      cutlass::epilogue::fusion::Sm90Compute<PRelu, Element, float, kRound>, AddBias, Alpha>;

  // No source tensor C: ElementC = void, so the epilogue never loads one.
  using Epilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float,
      void, Layout, kAlign, Element, Layout, kAlign,
      cutlass::epilogue::TmaWarpSpecialized, Fusion>::CollectiveOp;

  using Mainloop = typename cutlass::conv::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, cutlass::conv::Operator::kFprop,
      Element, Layout, kAlign, Element, Layout, kAlign, float, TileShape, ClusterShape,
      cutlass::conv::collective::StageCountAutoCarveout<
          static_cast<int>(sizeof(typename Epilogue::SharedStorage))>,
      cutlass::conv::collective::KernelScheduleAuto>::CollectiveOp;

  using Problem = cutlass::conv::ConvProblemShape<cutlass::conv::Operator::kFprop, 2>;
  using Kernel = cutlass::conv::kernel::ConvUniversal<Problem, Mainloop, Epilogue>;
  using Op = cutlass::conv::device::ConvUniversalAdapter<Kernel>;

  static typename Op::Arguments arguments(const ConvArgs& a, int device, int sm_count) {
    // Activation [n,h,w,c] and filter [k,r,s,c] extents; CUTLASS derives packed strides and the
    // output extent [n,p,q,k] (= [n,h,w,cout] for KxK, pad K/2, stride 1, dilation 1).
    Problem problem(cutlass::conv::Mode::kCrossCorrelation,
                    Problem::TensorExtent{a.n, a.h, a.w, a.cin},
                    Problem::TensorExtent{a.cout, a.kernel, a.kernel, a.cin},
                    Problem::ShapePadding{a.kernel / 2, a.kernel / 2},
                    Problem::ShapePadding{a.kernel / 2, a.kernel / 2},
                    Problem::TraversalStride{1, 1}, Problem::ShapeDilation{1, 1}, /*groups=*/1);

    // The epilogue's M mode is (q, p, n): its strides are the output's w, h and n strides.
    typename Kernel::StrideD stride_d{};
    get<0, 0>(stride_d) = problem.stride_C[2];
    get<0, 1>(stride_d) = problem.stride_C[1];
    get<0, 2>(stride_d) = problem.stride_C[0];

    typename Op::Arguments args{};
    args.problem_shape = problem;
    args.mainloop.ptr_A = static_cast<const Element*>(a.input);
    args.mainloop.ptr_B = static_cast<const Element*>(a.weight);
    args.epilogue.ptr_C = nullptr;
    args.epilogue.ptr_D = static_cast<Element*>(a.output);
    args.epilogue.dD = stride_d;
    // Tree arguments nest like the tree: {child args..., node args}.
    args.epilogue.thread = {
        {{}, {a.bias}, {}},  // AddBias: acc, bias row, plus
        {a.alpha},           // alpha row
        {}};                 // PRelu
    args.hw_info.device_id = device;
    args.hw_info.sm_count = sm_count;
    return args;
  }

  static cudaError_t run(const ConvArgs& a, void* workspace, cudaStream_t stream, int device,
                         int sm_count) {
    auto args = arguments(a, device, sm_count);
    Op op;
    if (op.can_implement(args) != cutlass::Status::kSuccess) return cudaErrorInvalidValue;
    // initialize() builds the TMA descriptors on the host and sets the kernel's smem attribute;
    // neither touches the stream, so both are safe while it is being captured.
    if (op.initialize(args, workspace, stream) != cutlass::Status::kSuccess) {
      const cudaError_t err = cudaGetLastError();
      return err != cudaSuccess ? err : cudaErrorInvalidValue;
    }
    if (op.run(stream) != cutlass::Status::kSuccess) {
      const cudaError_t err = cudaGetLastError();
      return err != cudaSuccess ? err : cudaErrorLaunchFailure;
    }
    return cudaSuccess;
  }

  static std::size_t workspace(const ConvArgs& a) {
    return Op::get_workspace_size(arguments(a, 0, 1));
  }
};

}  // namespace

std::size_t conv_sm90_workspace(const ConvArgs& args) {
  return args.element == ConvElement::bf16 ? Conv<cutlass::bfloat16_t>::workspace(args)
                                           : Conv<cutlass::half_t>::workspace(args);
}

cudaError_t conv_sm90(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  if (!conv_sm90_supports(args.cin, args.cout, nullptr) || (args.kernel != 1 && args.kernel != 3) ||
      args.n <= 0 || args.h <= 0 ||
      args.w <= 0 || args.input == nullptr || args.weight == nullptr || args.bias == nullptr ||
      args.alpha == nullptr || args.output == nullptr) {
    return cudaErrorInvalidValue;
  }
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
  return args.element == ConvElement::bf16
             ? Conv<cutlass::bfloat16_t>::run(args, workspace, stream, device, sm_count)
             : Conv<cutlass::half_t>::run(args, workspace, stream, device, sm_count);
}

#else  // toolkit without CUTLASS's sm90 support

bool conv_sm90_built() { return false; }
std::size_t conv_sm90_workspace(const ConvArgs&) { return 0; }
cudaError_t conv_sm90(const ConvArgs&, void*, cudaStream_t) { return cudaErrorNotSupported; }

#endif

}  // namespace pyn::native
