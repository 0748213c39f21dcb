#pragma once
// The argument checks every YUV entry point shares, so the CPU and GPU paths refuse exactly the
// same calls: sizes, enum values, bits, null and misaligned pointers. Throws UsageError.

#include "pynference/kernels/yuv.hpp"

namespace pyn::detail {

void check_yuv_args(const char* op, const YuvDesc& desc, const void* yuv, DType dtype, const void* nchw);

}  // namespace pyn::detail
