#include "pynference/engine/synthetic.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "pynference/device/error.hpp"

namespace pyn {

namespace {

// Median time in ms of `reps` runs of the kernel with `iterations`, timed with events.
double time_kernel(const Device& device, Stream& stream, const TensorView& in, const TensorView& out,
                   int scale, long long iterations, int blocks, int reps) {
  Event start = device.make_event();
  Event end = device.make_event();
  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(reps));
  for (int r = 0; r < reps; ++r) {
    start.record(stream);
    synthetic_cuda(in, out, scale, iterations, blocks, stream.native());
    end.record(stream);
    end.synchronize();
    times.push_back(Event::elapsed_ms(start, end));
  }
  std::nth_element(times.begin(), times.begin() + reps / 2, times.end());
  return times[static_cast<std::size_t>(reps / 2)];
}

}  // namespace

SyntheticEngine::SyntheticEngine(Device device, SyntheticOptions options)
    : device_(std::move(device)), options_(options) {
  if (options_.scale < 1 || options_.scale > 16) {
    throw UsageError("synthetic engine: scale must be 1 to 16, got " + std::to_string(options_.scale));
  }
  if (!(options_.compute_ms >= 0.0) || options_.compute_ms > 10'000.0) {
    throw UsageError("synthetic engine: compute time must be 0 to 10000 ms");
  }
}

std::string SyntheticEngine::name() const {
  char text[96];
  std::snprintf(text, sizeof text, "synthetic(%.3g ms, x%d, %s)", options_.compute_ms, options_.scale,
                std::string(to_string(options_.dtype)).c_str());
  return text;
}

TensorShape SyntheticEngine::output_shape(const TensorShape& input) const {
  if (input.c != 3 || input.n < 1 || input.h < 1 || input.w < 1) {
    throw UsageError("synthetic engine: expected an N x 3 x H x W input");
  }
  return {input.n, input.c, input.h * options_.scale, input.w * options_.scale};
}

void SyntheticEngine::prepare(Stream& stream, const TensorShape& input) {
  if (stream.backend() == Backend::host) {
    iterations_ = 0;
    return;
  }
  if (iterations_.load() < 0) {
    calibrate(stream, input);
  }
}

void SyntheticEngine::calibrate(Stream& stream, const TensorShape& input) {
  const TensorShape output = output_shape(input);
  DeviceBuffer in_buffer = device_.alloc(input.elements() * bytes_of(options_.dtype));
  DeviceBuffer out_buffer = device_.alloc(output.elements() * bytes_of(options_.dtype));
  const TensorView in{in_buffer.data(), input, options_.dtype};
  const TensorView out{out_buffer.data(), output, options_.dtype};
  const int blocks = synthetic_cuda_blocks(device_.info().index);

  // Time is linear in the iteration count: measure two points, solve, then correct once.
  constexpr long long probe = 20'000;
  (void)time_kernel(device_, stream, in, out, options_.scale, probe, blocks, 3);  // warm-up
  const double base_ms = time_kernel(device_, stream, in, out, options_.scale, 0, blocks, 7);
  double per_iteration = (time_kernel(device_, stream, in, out, options_.scale, probe, blocks, 7) - base_ms) /
                         static_cast<double>(probe);
  per_iteration = std::max(per_iteration, 1e-9);
  auto solve = [&](double slope) {
    return std::max(0LL, static_cast<long long>((options_.compute_ms - base_ms) / slope));
  };
  long long iterations = solve(per_iteration);
  if (iterations > 0) {
    const double measured = time_kernel(device_, stream, in, out, options_.scale, iterations, blocks, 5);
    per_iteration = std::max((measured - base_ms) / static_cast<double>(iterations), 1e-9);
    iterations = solve(per_iteration);
  }
  blocks_ = blocks;
  iterations_ = iterations;
}

void SyntheticEngine::run(Stream& stream, const TensorView& in, const TensorView& out) {
  if (stream.backend() == Backend::host) {
    const int scale = options_.scale;
    const auto cost = std::chrono::duration<double, std::milli>(options_.compute_ms);
    stream.enqueue([in, out, scale, cost] {
      const auto start = std::chrono::steady_clock::now();
      synthetic_cpu(in, out, scale);
      std::this_thread::sleep_until(start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(cost));
    });
    return;
  }
  synthetic_cuda(in, out, options_.scale, iterations_.load(), blocks_, stream.native());
}

}  // namespace pyn
