#include "selfcheck.hpp"

#include <cstring>
#include <random>
#include <vector>

#include "pynference/kernels/prepost.hpp"

namespace pyn::cli {

std::vector<SelfCheck> self_check(const Device& device) {
  std::vector<SelfCheck> results;
  std::mt19937 rng(std::random_device{}());
  Stream stream = device.make_stream();
  for (PixelType pixel : {PixelType::u8, PixelType::u16}) {
    for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      const ImageDesc image{641, 359, pixel, ChannelOrder::bgr};
      const TensorShape shape = tensor_shape_of(image);
      std::vector<unsigned char> frame(image.bytes());
      for (auto& b : frame) {
        b = static_cast<unsigned char>(rng());
      }
      // CPU reference of pre, then of post on the reference tensor.
      std::vector<unsigned char> ref_tensor(shape.elements() * bytes_of(dtype));
      std::vector<unsigned char> ref_frame(image.bytes());
      pre_cpu(image, frame.data(), dtype, ref_tensor.data());
      post_cpu(dtype, ref_tensor.data(), image, ref_frame.data());

      HostBuffer host_in = device.alloc_host(image.bytes(), HostMemory::pinned);
      HostBuffer host_tensor = device.alloc_host(ref_tensor.size(), HostMemory::pinned);
      HostBuffer host_out = device.alloc_host(image.bytes(), HostMemory::pinned);
      DeviceBuffer dev_in = device.alloc(image.bytes());
      DeviceBuffer dev_tensor = device.alloc(ref_tensor.size());
      DeviceBuffer dev_out = device.alloc(image.bytes());
      std::memcpy(host_in.data(), frame.data(), frame.size());
      stream.copy_async(dev_in.data(), host_in.data(), image.bytes());
      pre(stream, image, dev_in.data(), TensorView{dev_tensor.data(), shape, dtype});
      post(stream, TensorView{dev_tensor.data(), shape, dtype}, image, dev_out.data());
      stream.copy_async(host_tensor.data(), dev_tensor.data(), ref_tensor.size());
      stream.copy_async(host_out.data(), dev_out.data(), image.bytes());
      stream.synchronize();
      const bool pre_ok = std::memcmp(host_tensor.data(), ref_tensor.data(), ref_tensor.size()) == 0;
      const bool post_ok = std::memcmp(host_out.data(), ref_frame.data(), ref_frame.size()) == 0;
      results.push_back({pixel, dtype, pre_ok, post_ok});
    }
  }
  return results;
}

}  // namespace pyn::cli
