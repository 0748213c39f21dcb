#pragma once
// The stages a frame passes through, and the error that names the stage and frame that failed.

#include <cstdint>
#include <string>
#include <string_view>

#include "pynference/device/error.hpp"

namespace pyn {

enum class Stage { source, h2d, pre, engine, post, d2h, sink };

[[nodiscard]] std::string_view to_string(Stage stage) noexcept;

class StageError : public Error {
 public:
  StageError(Stage stage, std::int64_t frame, const std::string& cause);
  [[nodiscard]] Stage stage() const noexcept { return stage_; }
  // -1 where the failure belongs to no single frame (setup, teardown).
  [[nodiscard]] std::int64_t frame() const noexcept { return frame_; }

 private:
  Stage stage_;
  std::int64_t frame_;
};

}  // namespace pyn
