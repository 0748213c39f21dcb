#include "pynference/pipeline/compute_plan.hpp"

#include <numeric>
#include <string>
#include <vector>

#include "pynference/core/error.hpp"

namespace pyn {

std::size_t ComputePlan::jobs() const noexcept {
  return std::accumulate(steps.begin(), steps.end(), std::size_t{0},
                         [](std::size_t n, const ComputeStep& s) { return n + s.jobs.size(); });
}

ComputePlan whole_frame_plan(const FrameFormat& input) {
  const int width = width_of(input);
  const int height = height_of(input);
  ComputePlan plan;
  plan.input = TensorShape{1, 3, height, width};
  plan.steps.push_back(ComputeStep{{ComputeJob{Rect{0, 0, width, height}, 0, Rect{}, 0, 0}}});
  return plan;
}

void check_plan(const ComputePlan& plan, const FrameFormat& input) {
  const auto fail = [](const std::string& why) { throw UsageError("ComputePlan " + why); };
  const TensorShape& t = plan.input;
  if (t.n < 1 || t.c != 3 || t.h < 1 || t.w < 1) {
    fail("input " + std::to_string(t.n) + "x" + std::to_string(t.c) + "x" + std::to_string(t.h) +
         "x" + std::to_string(t.w) + " is not N x 3 x H x W");
  }
  if (plan.steps.empty()) {
    fail("has no steps");
  }
  if ((plan.output_width == 0) != (plan.output_height == 0) || plan.output_width < 0 ||
      plan.output_height < 0) {
    fail("output size " + std::to_string(plan.output_width) + "x" +
         std::to_string(plan.output_height) + " is neither 0x0 nor a size");
  }
  const int width = width_of(input);
  const int height = height_of(input);
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const auto& jobs = plan.steps[s].jobs;
    const std::string step = "step " + std::to_string(s);
    if (jobs.empty()) {
      fail(step + " has no jobs");
    }
    std::vector<bool> used(static_cast<std::size_t>(t.n), false);
    for (const ComputeJob& job : jobs) {
      if (job.slice < 0 || job.slice >= t.n) {
        fail(step + " slice " + std::to_string(job.slice) + " is outside 0.." +
             std::to_string(t.n - 1));
      }
      if (used[static_cast<std::size_t>(job.slice)]) {
        fail(step + " slice " + std::to_string(job.slice) + " has two jobs");
      }
      used[static_cast<std::size_t>(job.slice)] = true;
      const Rect& r = job.region;
      if (r.width != t.w || r.height != t.h) {
        fail(step + " region " + to_string(r) + " is not the tensor's " + std::to_string(t.w) +
             "x" + std::to_string(t.h));
      }
      if (r.x < 0 || r.y < 0 || r.x + r.width > width || r.y + r.height > height) {
        fail(step + " region " + to_string(r) + " is outside the " + std::to_string(width) + "x" +
             std::to_string(height) + " frame");
      }
    }
  }
  if (plan.steps.size() > 1 || plan.steps.front().jobs.size() > 1) {
    if (plan.output_width == 0) {
      fail("of several jobs needs an output size");
    }
  }
}

}  // namespace pyn
