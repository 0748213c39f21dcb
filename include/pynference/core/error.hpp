#pragma once
// Errors of the library. Every error is an exception derived from pyn::Error; the library never
// exits the process, so an encoder upstream can always be flushed. Messages name fields and
// values; each front end (the CLI, Python) says them in its own words where they name its inputs.

#include <stdexcept>
#include <string>

namespace pyn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A call of the GPU runtime failed: which statement, where, on which device, with what code.
class DeviceError : public Error {
 public:
  DeviceError(std::string statement, const std::string& message, const char* file, int line,
              int device, int code);

  [[nodiscard]] const std::string& statement() const noexcept { return statement_; }
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] int line() const noexcept { return line_; }
  [[nodiscard]] int device() const noexcept { return device_; }
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  std::string statement_;
  std::string file_;
  int line_;
  int device_;
  int code_;
};

// A device (or, through DeviceError's code, the GPU runtime) has no memory left for a request.
class OutOfMemory : public DeviceError {
 public:
  using DeviceError::DeviceError;
};

// The requested device does not exist on this machine (no GPU, no driver, index out of range).
class DeviceUnavailable : public Error {
 public:
  using Error::Error;
};

// Bad user input: an unknown option value, a shape that does not fit, a malformed device name.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace pyn
