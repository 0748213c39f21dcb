#include "pynference/core/error.hpp"

#include <string>
#include <utility>

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

}  // namespace pyn
