#include "pynference/io/synthetic_reference.hpp"

#include "pynference/engine/synthetic.hpp"
#include "pynference/kernels/frame.hpp"

namespace pyn {

std::vector<std::byte> expected_synthetic_output(const SyntheticSource& source, std::int64_t index,
                                                 DType dtype, int scale) {
  const FrameFormat in = source.format();
  const FrameFormat out = with_size(in, width_of(in) * scale, height_of(in) * scale);
  std::vector<std::byte> frame(bytes_of(in));
  source.render(frame, index);
  const TensorShape in_shape = tensor_shape_of(in);
  const TensorShape out_shape = tensor_shape_of(out);
  std::vector<std::byte> tensor_in(in_shape.elements() * bytes_of(dtype));
  std::vector<std::byte> tensor_out(out_shape.elements() * bytes_of(dtype));
  frame_to_tensor_cpu(in, frame.data(), dtype, tensor_in.data());
  synthetic_cpu(TensorView{tensor_in.data(), in_shape, dtype},
                TensorView{tensor_out.data(), out_shape, dtype}, scale);
  std::vector<std::byte> result(bytes_of(out));
  tensor_to_frame_cpu(dtype, tensor_out.data(), out, result.data());
  return result;
}

}  // namespace pyn
