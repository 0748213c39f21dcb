#pragma once
// Runs a step as one stage of one frame, so that any failure names both.

#include <cstdint>
#include <exception>

#include "pynference/device/error.hpp"
#include "pynference/pipeline/stage.hpp"

namespace pyn::detail {

// Any exception leaves body as a StageError naming `stage` and `frame`, except a UsageError during
// setup (frame -1), which reaches the caller as it is: a setup the user asked for and cannot have
// (an odd size for 4:2:0, ...) is theirs to fix.
template <class Body>
void guard(Stage stage, std::int64_t frame, Body&& body) {
  try {
    body();
  } catch (const StageError&) {
    throw;
  } catch (const UsageError& e) {
    if (frame < 0) {
      throw;
    }
    throw StageError(stage, frame, e.what());
  } catch (const std::exception& e) {
    throw StageError(stage, frame, e.what());
  } catch (...) {
    throw StageError(stage, frame, "unknown exception");
  }
}

}  // namespace pyn::detail
