#pragma once
// The pieces of the native module pynference._core, each binding its part into the module.

#include <nanobind/nanobind.h>

namespace pyn::python {

// pynference.Error and its subclasses, and the translation of the library's errors into them.
void bind_errors(nanobind::module_& m);
// pynference._core.Processor: the per-frame face of one device's Processor over numpy frames.
void bind_processor(nanobind::module_& m);
// pynference._core.run: the CLI's run.
void bind_run(nanobind::module_& m);
// pynference._core.keyframes, plan and join: videos cut into segments and joined again.
void bind_segments(nanobind::module_& m);

}  // namespace pyn::python
