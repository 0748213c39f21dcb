#pragma once
// The pixel and tensor vocabulary lives in the core layer; this name stays for the code that includes it.
#include "pynference/core/types.hpp"  // IWYU pragma: export
