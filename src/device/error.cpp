#include "pynference/device/error.hpp"

#include <cuda_runtime_api.h>

#include <cstdio>

#include "pynference/device/cuda_check.hpp"

namespace pyn {

namespace {

std::string describe(const std::string& statement, const std::string& message, const char* file,
                     int line, int device) {
  std::string text = "CUDA error on cuda:" + std::to_string(device) + ": " + message + " (" +
                     statement + " at " + file + ":" + std::to_string(line) + ")";
  return text;
}

}  // namespace

DeviceError::DeviceError(std::string statement, const std::string& message, const char* file,
                         int line, int device, int code)
    : Error(describe(statement, message, file, line, device)),
      statement_(std::move(statement)),
      file_(file),
      line_(line),
      device_(device),
      code_(code) {}

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
  throw DeviceError(statement, std::string(cudaGetErrorName(code)) + ": " + cudaGetErrorString(code),
                    file, line, current_device(), static_cast<int>(code));
}

void report_cuda_dtor_error(cudaError_t code, const char* statement, const char* file,
                            int line) noexcept {
  std::fprintf(stderr, "pynference: warning: %s failed in cleanup: %s (%s:%d)\n", statement,
               cudaGetErrorString(code), file, line);
}

}  // namespace detail
}  // namespace pyn
