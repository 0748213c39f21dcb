#pragma once
// The library's errors live in the core layer; this name stays for the code that includes it.
#include "pynference/core/error.hpp"  // IWYU pragma: export
