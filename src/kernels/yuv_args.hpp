#pragma once
// The argument checks every YUV entry point shares, so the CPU and GPU paths refuse exactly the
// same calls: sizes, enum values, bits, null and misaligned pointers. Throws UsageError.

#include "pynference/kernels/yuv.hpp"

namespace pyn::detail {

// The checks that do not look at pointers: what a prepared conversion checks once.
void check_yuv_format(const char* op, const YuvDesc& desc, DType dtype);
void check_yuv_args(const char* op, const YuvDesc& desc, const void* yuv, DType dtype,
                    const void* nchw);

// The packed-frame entry points (yuv_to_tensor_cpu ...) take planar frames only.
void check_planar(const char* op, const YuvDesc& desc);

}  // namespace pyn::detail
