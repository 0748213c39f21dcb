#pragma once
// Model files users download (state dicts, .onnx): tools/compile_model.py, run with the
// project's Python, compiles FILE for this device, dtype and frame size into the cache (or finds it
// there), and the torch engine then loads what it wrote. This file only starts that Python and
// reads its answer; docs/models.md says what the compile does.

#include <optional>
#include <string>

#include "pynference/device/device.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn {

struct CompileRequest {
  std::string path;
  int width = 0;  // the frames' size
  int height = 0;
  std::optional<DType> dtype;  // none: the architecture's fastest safe one
  std::optional<double> noise_level;
  std::string engine = "torch";  // torch, native or auto (tools/compile_model.py --engine)
};

struct CompiledModel {
  std::string artifact;  // model.pt2, model.pt or native.plan inside the cache entry
  std::string format;    // pt2, pt or native
  std::string arch;
  DType dtype = DType::f32;
  int padded_width = 0;  // the size the network was compiled for, >= the frames'
  int padded_height = 0;
  bool compiled = false;  // false: found in the cache
};

// The Python that runs the compiler: $PYN_PYTHON, else the .venv python found when pynference was
// configured, else python3.
[[nodiscard]] std::string compiler_python();
// The cache folder: $PYN_CACHE_DIR, else $XDG_CACHE_HOME/pynference, else ~/.cache/pynference.
[[nodiscard]] std::string cache_folder();

// Progress and warnings of the compiler go to stderr as they come, one line each. Its failures
// throw UsageError with its one line; nothing is left in the cache then.
[[nodiscard]] CompiledModel compile_model(const Device& device, const CompileRequest& request);

}  // namespace pyn
