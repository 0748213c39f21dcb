// The padding adapter: per stream, one padded input and one padded output tensor, made in
// prepare() and reused by every run() on that stream, so the per-frame path allocates nothing.

#include "pynference/engine/padded.hpp"

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "pynference/device/error.hpp"
#include "pynference/kernels/pad.hpp"

namespace pyn {

namespace {

std::string size_text(int width, int height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

class PaddedEngine final : public Engine {
 public:
  PaddedEngine(Device device, std::unique_ptr<Engine> inner, int width, int height)
      : device_(std::move(device)), inner_(std::move(inner)), width_(width), height_(height) {}

  [[nodiscard]] std::string name() const override {
    return inner_->name() + " padded to " + size_text(width_, height_);
  }
  [[nodiscard]] DType dtype() const override { return inner_->dtype(); }

  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    if (input.w > width_ || input.h > height_) {
      throw UsageError("the model was compiled for inputs up to " + size_text(width_, height_) +
                       ", not " + size_text(input.w, input.h));
    }
    const TensorShape padded_out = inner_->output_shape(padded(input));
    const int scale = padded_out.h / height_;
    return {padded_out.n, padded_out.c, input.h * scale, input.w * scale};
  }

  void prepare(Stream& stream, const TensorShape& input) override {
    const TensorShape in = padded(input);
    const TensorShape out = inner_->output_shape(in);
    Buffers buffers{input, in, out, device_.alloc(in.elements() * bytes_of(dtype())),
                    device_.alloc(out.elements() * bytes_of(dtype()))};
    inner_->prepare(stream, in);
    const std::lock_guard lock(mutex_);
    buffers_.insert_or_assign(&stream, std::move(buffers));
  }

  void run(Stream& stream, const TensorView& in, const TensorView& out) override {
    const Buffers& b = buffers_for(stream, in.shape);
    const TensorView padded_in{b.in.data(), b.in_shape, in.dtype};
    const TensorView padded_out{b.out.data(), b.out_shape, in.dtype};
    pad(stream, in, padded_in);
    inner_->run(stream, padded_in, padded_out);
    crop(stream, padded_out, out);
  }

  [[nodiscard]] Graph capture(Stream& stream, const std::function<void()>& enqueue) override {
    return inner_->capture(stream,
                           enqueue);  // our kernels allocate nothing: the inner's rules hold
  }

  // Between Processors: the buffers of their streams go too (the next Processor prepares its own).
  void release_cached_memory() override {
    {
      const std::lock_guard lock(mutex_);
      buffers_.clear();
    }
    inner_->release_cached_memory();
  }

  [[nodiscard]] std::size_t workspace_bytes() const override {
    std::size_t bytes = inner_->workspace_bytes();
    const std::lock_guard lock(mutex_);
    for (const auto& [stream, b] : buffers_) {
      bytes += b.in.size() + b.out.size();
    }
    return bytes;
  }

 private:
  struct Buffers {
    TensorShape input;  // the frames' tensor these were made for
    TensorShape in_shape;
    TensorShape out_shape;
    DeviceBuffer in;
    DeviceBuffer out;
  };

  [[nodiscard]] TensorShape padded(const TensorShape& input) const {
    return {input.n, input.c, height_, width_};
  }

  const Buffers& buffers_for(Stream& stream, const TensorShape& input) const {
    const std::lock_guard lock(mutex_);
    const auto found = buffers_.find(&stream);
    if (found == buffers_.end() || found->second.input != input) {
      throw UsageError(
          "padded engine: run() on a stream or input shape that prepare() was not given");
    }
    return found->second;
  }

  Device device_;
  std::unique_ptr<Engine> inner_;
  int width_;
  int height_;
  mutable std::mutex mutex_;
  std::map<const Stream*, Buffers> buffers_;  // std::map: references stay valid on insertion
};

}  // namespace

std::unique_ptr<Engine> make_padded_engine(const Device& device, std::unique_ptr<Engine> inner,
                                           int padded_width, int padded_height) {
  if (padded_width < 1 || padded_height < 1) {
    throw UsageError("padded engine: the padded size " + size_text(padded_width, padded_height) +
                     " is empty");
  }
  return std::make_unique<PaddedEngine>(device, std::move(inner), padded_width, padded_height);
}

}  // namespace pyn
