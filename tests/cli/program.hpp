#pragma once
// Running the `pynference` program as a user does: a command line in, exit code and output out.

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace pyn::test {

struct Result {
  int code = -1;
  std::string output;  // stdout and stderr together
};

// A shell command line, stdout and stderr captured together.
inline Result shell(const std::string& command_line) {
  const std::string command = "{ " + command_line + "; } 2>&1";
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return result;
  }
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
    result.output += buffer.data();
  }
  const int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline const std::string& binary() {
  static const std::string path = PYN_BINARY;
  return path;
}

// `pynference ARGUMENTS`.
inline Result run(const std::string& arguments) { return shell(binary() + " " + arguments); }

inline std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("pyn-cli-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace pyn::test
