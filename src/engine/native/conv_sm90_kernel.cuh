// The CUTLASS sm90 convolution behind conv_sm90 (conv_sm90.cu), as a template of its tile's pixel
// count and pipeline stages, so that tuning builds can instantiate variants beside the default
// (conv_sm90_variant.cu). Included only by those .cu files, built for sm_90a.
#pragma once

#ifndef NDEBUG
#define NDEBUG  // see conv_sm90.cu: CUTLASS's device asserts serialize the wgmma pipeline
#endif

#include "conv.hpp"

#include "cute/tensor.hpp"
#include "cutlass/cutlass.h"
#include "cutlass/kernel_hardware_info.hpp"
// Order matters: the conv collective headers use KernelHardwareInfo without including it.
#include "cutlass/conv/convnd_problem_shape.hpp"
#include "cutlass/conv/device/conv_universal_adapter.hpp"
#include "cutlass/conv/kernel/conv_universal.hpp"
#include "cutlass/conv/collective/collective_builder.hpp"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/epilogue/fusion/sm90_callbacks_tma_warpspecialized.hpp"
#include "cutlass/numeric_types.h"

namespace pyn::native {

// One instantiation as the dispatcher sees it.
struct ConvVariant {
  const char* name;
  bool bf16;  // whether it has a bf16 kernel too (tuning variants are fp16 only)
  cudaError_t (*run)(const ConvArgs&, void*, cudaStream_t, int device, int sm_count);
  std::size_t (*workspace)(const ConvArgs&);
};

namespace detail {

using namespace cute;

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

// TileM pixels x 64 channels per CTA, 64 input channels per K step; one cluster CTA. A single
// consumer warpgroup (plain warp-specialized schedule) is what KernelScheduleAuto picks for conv,
// and the only one CUTLASS's conv kernel has for sm90. Stages 0: as many as shared memory holds
// beside the epilogue (one CTA per SM); fewer stages leave room for more CTAs on an SM, which
// overlap one's epilogue and pipeline fill with another's MMAs.
template <class Element, int TileM, int Stages>
struct Conv {
  using TileShape = Shape<Int<TileM>, _64, Shape<_64>>;
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
      cute::conditional_t<Stages == 0,
                          cutlass::conv::collective::StageCountAutoCarveout<
                              static_cast<int>(sizeof(typename Epilogue::SharedStorage))>,
                          cutlass::conv::collective::StageCount<Stages>>,
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


template <int TileM, int Stages>
cudaError_t run_variant(const ConvArgs& a, void* workspace, cudaStream_t stream, int device, int sm_count) {
  if constexpr (TileM == 128 && Stages == 0) {
    if (a.element == ConvElement::bf16) {
      return Conv<cutlass::bfloat16_t, TileM, Stages>::run(a, workspace, stream, device, sm_count);
    }
  } else if (a.element == ConvElement::bf16) {
    return cudaErrorNotSupported;
  }
  return Conv<cutlass::half_t, TileM, Stages>::run(a, workspace, stream, device, sm_count);
}

template <int TileM, int Stages>
std::size_t variant_workspace(const ConvArgs& a) {
  return Conv<cutlass::half_t, TileM, Stages>::workspace(a);
}

}  // namespace detail

}  // namespace pyn::native
