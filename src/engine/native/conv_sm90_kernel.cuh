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
  bool bf16;  // whether it has bf16 kernels and the silu and gate epilogues (tuning variants: fp16 prelu only)
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

// silu(x) = x * sigmoid(x).
template <class T>
struct Silu {
  CUTLASS_HOST_DEVICE T operator()(T const& x) const { return x / (T(1) + cutlass::fast_exp(-x)); }
};
template <class T, int N>
struct Silu<cutlass::Array<T, N>> {
  CUTLASS_HOST_DEVICE cutlass::Array<T, N> operator()(cutlass::Array<T, N> const& x) const {
    cutlass::Array<T, N> y;
    CUTLASS_PRAGMA_UNROLL
    for (int i = 0; i < N; ++i) y[i] = Silu<T>{}(x[i]);
    return y;
  }
};

// SPAN's gate on a convolution's output a and the block's input x (the source tensor C):
// (a + x) * (sigmoid(a) - 0.5).
template <class T>
struct Gate {
  CUTLASS_HOST_DEVICE T operator()(T const& a, T const& x) const {
    return (a + x) * (T(1) / (T(1) + cutlass::fast_exp(-a)) - T(0.5));
  }
};
template <class T, int N>
struct Gate<cutlass::Array<T, N>> {
  CUTLASS_HOST_DEVICE cutlass::Array<T, N> operator()(cutlass::Array<T, N> const& a,
                                                      cutlass::Array<T, N> const& x) const {
    cutlass::Array<T, N> y;
    CUTLASS_PRAGMA_UNROLL
    for (int i = 0; i < N; ++i) y[i] = Gate<T>{}(a[i], x[i]);
    return y;
  }
};

// The epilogue after acc + bias, by ConvEpilogue: prelu(., alpha) (none, ReLU, LeakyReLU and
// PReLU), silu(.), or gate(., C) with C the source tensor.
template <class Element, class TileShape, ConvEpilogue Kind, cutlass::FloatRoundStyle Round>
struct Fusion {
  using Bias = cutlass::epilogue::fusion::Sm90RowBroadcast<0, TileShape, float, float>;
  using AddBias = cutlass::epilogue::fusion::Sm90EVT<
      cutlass::epilogue::fusion::Sm90Compute<cutlass::plus, float, float, Round>,
      cutlass::epilogue::fusion::Sm90AccFetch, Bias>;
  using Alpha = cutlass::epilogue::fusion::Sm90RowBroadcast<0, TileShape, float, float>;
  using Tree = cute::conditional_t<
      Kind == ConvEpilogue::prelu,
      cutlass::epilogue::fusion::Sm90EVT<cutlass::epilogue::fusion::Sm90Compute<PRelu, Element, float, Round>,
                                         AddBias, Alpha>,
      cute::conditional_t<
          Kind == ConvEpilogue::silu,
          cutlass::epilogue::fusion::Sm90EVT<cutlass::epilogue::fusion::Sm90Compute<Silu, Element, float, Round>,
                                             AddBias>,
          cutlass::epilogue::fusion::Sm90EVT<cutlass::epilogue::fusion::Sm90Compute<Gate, Element, float, Round>,
                                             AddBias, cutlass::epilogue::fusion::Sm90SrcFetch<Element>>>>;
  // No source tensor C but for the gate: ElementC = void, so the epilogue never loads one.
  using ElementC = cute::conditional_t<Kind == ConvEpilogue::gate, Element, void>;

  // Tree arguments nest like the tree: {child args..., node args}.
  static typename Tree::Arguments arguments(const ConvArgs& a) {
    typename AddBias::Arguments add_bias{{}, {a.bias}, {}};  // acc, bias row, plus
    if constexpr (Kind == ConvEpilogue::prelu) {
      return {add_bias, {a.alpha}, {}};
    } else if constexpr (Kind == ConvEpilogue::silu) {
      return {add_bias, {}};
    } else {
      return {add_bias, {}, {}};
    }
  }
};

// TileM pixels x 64 channels per CTA, 64 input channels per K step; one cluster CTA. A single
// consumer warpgroup (plain warp-specialized schedule) is what KernelScheduleAuto picks for conv,
// and the only one CUTLASS's conv kernel has for sm90. Stages 0: as many as shared memory holds
// beside the epilogue (one CTA per SM); fewer stages leave room for more CTAs on an SM, which
// overlap one's epilogue and pipeline fill with another's MMAs.
template <class Element, int TileM, int Stages, ConvEpilogue Kind = ConvEpilogue::prelu>
struct Conv {
  using TileShape = Shape<Int<TileM>, _64, Shape<_64>>;
  using ClusterShape = Shape<_1, _1, _1>;
  static constexpr int kAlign = 128 / cutlass::sizeof_bits<Element>::value;  // 8 for fp16/bf16

  using Layout = cutlass::layout::TensorNHWC;  // KRSC filters use the same tag (channel innermost)
  static constexpr auto kRound = cutlass::FloatRoundStyle::round_to_nearest;

  // The epilogue tree (Fusion above); bias and alpha are per GEMM column (channel).
  using Fused = Fusion<Element, TileShape, Kind, kRound>;
  using Epilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float,
      typename Fused::ElementC, Layout, kAlign, Element, Layout, kAlign,
      cutlass::epilogue::TmaWarpSpecialized, typename Fused::Tree>::CollectiveOp;

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
    if constexpr (Kind == ConvEpilogue::gate) {
      args.epilogue.ptr_C = static_cast<const Element*>(a.source);  // same shape as the output
      args.epilogue.dC = stride_d;
    } else {
      args.epilogue.ptr_C = nullptr;
    }
    args.epilogue.ptr_D = static_cast<Element*>(a.output);
    args.epilogue.dD = stride_d;
    args.epilogue.thread = Fused::arguments(a);
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


// The default (128 pixels, stages 0) has every epilogue in fp16 and bf16; tuning variants have
// prelu in fp16 alone (ConvVariant::fused false: the engine runs silu and gate as separate passes).
template <int TileM, int Stages>
cudaError_t run_variant(const ConvArgs& a, void* workspace, cudaStream_t stream, int device, int sm_count) {
  if constexpr (TileM == 128 && Stages == 0) {
    const bool bf16 = a.element == ConvElement::bf16;
    switch (a.epilogue) {
      case ConvEpilogue::prelu:
        return bf16 ? Conv<cutlass::bfloat16_t, TileM, Stages>::run(a, workspace, stream, device, sm_count)
                    : Conv<cutlass::half_t, TileM, Stages>::run(a, workspace, stream, device, sm_count);
      case ConvEpilogue::silu:
        return bf16 ? Conv<cutlass::bfloat16_t, TileM, Stages, ConvEpilogue::silu>::run(a, workspace, stream, device,
                                                                                          sm_count)
                    : Conv<cutlass::half_t, TileM, Stages, ConvEpilogue::silu>::run(a, workspace, stream, device,
                                                                                     sm_count);
      case ConvEpilogue::gate:
        return bf16 ? Conv<cutlass::bfloat16_t, TileM, Stages, ConvEpilogue::gate>::run(a, workspace, stream, device,
                                                                                          sm_count)
                    : Conv<cutlass::half_t, TileM, Stages, ConvEpilogue::gate>::run(a, workspace, stream, device,
                                                                                     sm_count);
    }
    return cudaErrorInvalidValue;
  } else {
    if (a.element == ConvElement::bf16 || a.epilogue != ConvEpilogue::prelu) return cudaErrorNotSupported;
    return Conv<cutlass::half_t, TileM, Stages>::run(a, workspace, stream, device, sm_count);
  }
}

template <int TileM, int Stages>
std::size_t variant_workspace(const ConvArgs& a) {
  return Conv<cutlass::half_t, TileM, Stages>::workspace(a);
}

}  // namespace detail

}  // namespace pyn::native
