// The YUV names, the argument checks every backend shares, and the typed entry points: check the
// tensor against the frame, then run on the stream's backend.

#include "pynference/kernels/yuv.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <utility>

#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/convert.hpp"
#include "yuv_args.hpp"

namespace pyn {
namespace {

std::string str(const TensorShape& s) {
  return "{" + std::to_string(s.n) + "," + std::to_string(s.c) + "," + std::to_string(s.h) + "," +
         std::to_string(s.w) + "}";
}

void check_tensor(const char* op, Stream& stream, const YuvDesc& desc, const void* yuv,
                  const TensorView& tensor) {
  if (!stream) {
    throw UsageError(std::string(op) + ": the stream is empty (moved from or default-constructed)");
  }
  detail::check_yuv_args(op, desc, yuv, tensor.dtype, tensor.data);
  if (tensor.shape != tensor_shape_of(desc)) {
    throw UsageError(std::string(op) + ": tensor shape " + str(tensor.shape) + " does not fit a " +
                     std::to_string(desc.width) + "x" + std::to_string(desc.height) +
                     " frame; expected " + str(tensor_shape_of(desc)));
  }
}

}  // namespace

namespace detail {

void check_yuv_format(const char* op, const YuvDesc& desc, DType dtype) {
  const auto fail = [op](const std::string& why) {
    throw UsageError(std::string(op) + ": " + why);
  };
  if (desc.width <= 0 || desc.height <= 0) {
    fail("frame size " + std::to_string(desc.width) + "x" + std::to_string(desc.height) +
         " is empty");
  }
  if (desc.chroma != ChromaLayout::yuv420 && desc.chroma != ChromaLayout::yuv444) {
    fail("unknown chroma layout " + std::to_string(static_cast<int>(desc.chroma)));
  }
  if (desc.bits != 8 && desc.bits != 10) {
    fail(std::to_string(desc.bits) + "-bit samples are not supported (8 or 10)");
  }
  if (desc.matrix != ColorMatrix::bt601 && desc.matrix != ColorMatrix::bt709 &&
      desc.matrix != ColorMatrix::bt2020 && desc.matrix != ColorMatrix::smpte240m) {
    fail("unknown colour matrix " + std::to_string(static_cast<int>(desc.matrix)));
  }
  if (desc.range != ColorRange::limited && desc.range != ColorRange::full) {
    fail("unknown colour range " + std::to_string(static_cast<int>(desc.range)));
  }
  if (desc.msb_aligned && desc.bits == 8) {
    fail("msb-aligned samples need more than 8 bits, the format has 8");
  }
  if (dtype != DType::f32 && dtype != DType::f16 && dtype != DType::bf16) {
    fail("unknown dtype " + std::to_string(static_cast<int>(dtype)));
  }
}

void check_yuv_args(const char* op, const YuvDesc& desc, const void* yuv, DType dtype,
                    const void* nchw) {
  const auto fail = [op](const std::string& why) {
    throw UsageError(std::string(op) + ": " + why);
  };
  check_yuv_format(op, desc, dtype);
  if (yuv == nullptr) {
    fail("frame pointer is null");
  }
  if (nchw == nullptr) {
    fail("tensor pointer is null");
  }
  if (reinterpret_cast<std::uintptr_t>(yuv) % desc.sample_bytes() != 0) {
    fail("frame pointer is not aligned to its " + std::to_string(desc.sample_bytes()) +
         "-byte samples");
  }
  if (reinterpret_cast<std::uintptr_t>(nchw) % bytes_of(dtype) != 0) {
    fail("tensor pointer is not aligned to its " + std::to_string(bytes_of(dtype)) +
         "-byte elements");
  }
}

void check_planar(const char* op, const YuvDesc& desc) {
  if (!desc.planar()) {
    throw UsageError(std::string(op) + ": the packed-frame entry points take planar frames, not " +
                     to_string(desc) + " (FrameToTensor reads it)");
  }
}

}  // namespace detail

void yuv_to_tensor(Stream& stream, const YuvDesc& desc, const void* yuv, const TensorView& out) {
  check_tensor("yuv_to_tensor", stream, desc, yuv, out);
  FrameToTensor(stream.backend(), desc, Rect{}, out)(stream, packed_planes(desc, yuv), out.data, 0);
}

void tensor_to_yuv(Stream& stream, const TensorView& in, const YuvDesc& desc, void* yuv) {
  detail::check_planar("tensor_to_yuv", desc);
  check_tensor("tensor_to_yuv", stream, desc, yuv, in);
  TensorToFrame(stream.backend(), in, Rect{}, desc, 0, 0)(stream, in.data, 0,
                                                          packed_planes(desc, yuv));
}

}  // namespace pyn
