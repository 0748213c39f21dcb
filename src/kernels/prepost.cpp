// The typed entry points: check the tensor against the frame, then run the prepared conversion of
// a whole packed frame on the stream's backend.

#include "pynference/kernels/prepost.hpp"

#include <string>

#include "prepost_args.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/convert.hpp"

namespace pyn {
namespace {

std::string str(const TensorShape& s) {
  return "{" + std::to_string(s.n) + "," + std::to_string(s.c) + "," + std::to_string(s.h) + "," +
         std::to_string(s.w) + "}";
}

void check_tensor(const char* op, Stream& stream, const ImageDesc& image, const void* hwc,
                  const TensorView& tensor) {
  if (!stream) {
    throw UsageError(std::string(op) + ": the stream is empty (moved from or default-constructed)");
  }
  detail::check_prepost_args(op, image, hwc, tensor.dtype, tensor.data);
  if (tensor.shape != tensor_shape_of(image)) {
    throw UsageError(std::string(op) + ": tensor shape " + str(tensor.shape) + " does not fit a " +
                     std::to_string(image.width) + "x" + std::to_string(image.height) +
                     " frame; expected " + str(tensor_shape_of(image)));
  }
}

}  // namespace

void pre(Stream& stream, const ImageDesc& image, const void* hwc, const TensorView& out) {
  check_tensor("pre", stream, image, hwc, out);
  FrameToTensor(stream.backend(), image, Rect{}, out)(stream, packed_planes(image, hwc), out.data,
                                                      0);
}

void post(Stream& stream, const TensorView& in, const ImageDesc& image, void* hwc) {
  check_tensor("post", stream, image, hwc, in);
  TensorToFrame(stream.backend(), in, Rect{}, image, 0, 0)(stream, in.data, 0,
                                                           packed_planes(image, hwc));
}

}  // namespace pyn
