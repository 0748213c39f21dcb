// The CUDA runtime's failures as the library's errors.

#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

#include "pynference/core/error.hpp"
#include "pynference/device/cuda_check.hpp"

namespace pyn {

namespace detail {

namespace {
int current_device() noexcept {
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess) {
    device = -1;
  }
  return device;
}
}  // namespace

void throw_cuda_error(cudaError_t code, const char* statement, const char* file, int line) {
  const std::string message = std::string(cudaGetErrorName(code)) + ": " + cudaGetErrorString(code);
  if (code == cudaErrorMemoryAllocation) {
    throw OutOfMemory(statement, message, file, line, current_device(), static_cast<int>(code));
  }
  throw DeviceError(statement, message, file, line, current_device(), static_cast<int>(code));
}

void report_cuda_dtor_error(cudaError_t code, const char* statement, const char* file,
                            int line) noexcept {
  std::fprintf(stderr, "pynference: warning: %s failed in cleanup: %s (%s:%d)\n", statement,
               cudaGetErrorString(code), file, line);
}

}  // namespace detail
}  // namespace pyn
