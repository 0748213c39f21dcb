#pragma once
// Run frames from a source through an engine into a sink with one of the study's strategies.
//
// Every strategy gives the same frames in the same order. A fixed pool of slots (host and device
// buffers) bounds memory; nothing is allocated per frame. A failure in any stage stops the others,
// joins every thread and is rethrown as one StageError naming the stage and the frame. A UsageError
// while setting up (a source, engine or sink refusing the run's formats) comes out as it is.

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"
#include "pynference/pipeline/options.hpp"
#include "pynference/pipeline/report.hpp"
#include "pynference/pipeline/source.hpp"

namespace pyn {

RunReport run_pipeline(const Device& device, Engine& engine, Source& source, Sink& sink,
                       const PipelineOptions& options);

}  // namespace pyn
