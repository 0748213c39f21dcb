#pragma once
// Sources and sinks live in the core layer, so that io builds without the pipeline; this name
// stays for the code that includes it.
#include "pynference/core/source.hpp"  // IWYU pragma: export
