#include "pynference/engine/model_compile.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "pynference/device/error.hpp"

extern char** environ;

namespace pyn {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "fp32";
    case DType::f16:
      return "fp16";
    case DType::bf16:
      return "bf16";
  }
  return "fp32";
}

DType parse_dtype_name(const std::string& name) {
  if (name == "fp16") {
    return DType::f16;
  }
  if (name == "bf16") {
    return DType::bf16;
  }
  return DType::f32;
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// The compiler's lines: `pyn.KEY=VALUE` answers, `pynference: ...` lines for the user (shown at
// once), anything else (a Python that fails before the script starts) kept for the error message.
struct Output {
  std::map<std::string, std::string> answers;
  std::string other;
};

void take_line(const std::string& line, Output& output) {
  if (line.starts_with("pyn.")) {
    const std::size_t equals = line.find('=');
    if (equals != std::string::npos) {
      output.answers[line.substr(4, equals - 4)] = line.substr(equals + 1);
      return;
    }
  }
  if (line.starts_with("pynference: ")) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
    return;
  }
  if (!line.empty()) {
    output.other = line;
  }
}

}  // namespace

std::string compiler_python() {
  if (std::string python = env("PYN_PYTHON"); !python.empty()) {
    return python;
  }
#ifdef PYN_CONFIGURED_PYTHON
  if (access(PYN_CONFIGURED_PYTHON, X_OK) == 0) {
    return PYN_CONFIGURED_PYTHON;
  }
#endif
  return "python3";
}

std::string cache_folder() {
  if (std::string dir = env("PYN_CACHE_DIR"); !dir.empty()) {
    return dir;
  }
  if (std::string dir = env("XDG_CACHE_HOME"); !dir.empty()) {
    return dir + "/pynference";
  }
  return env("HOME") + "/.cache/pynference";
}

CompiledModel compile_model(const Device& device, const CompileRequest& request) {
  const std::string python = compiler_python();
  std::vector<std::string> args = {
      python,
      "-u",
      "-W",
      "ignore",
      PYN_COMPILE_SCRIPT,
      request.path,
      "--size",
      std::to_string(request.width) + "x" + std::to_string(request.height),
      "--device",
      device.backend() == Backend::cuda ? "cuda:" + std::to_string(device.info().index) : "cpu",
      "--dtype",
      request.dtype ? dtype_name(*request.dtype) : "auto",
      "--cache",
      cache_folder(),
      "--engine",
      request.engine,
      "--machine"};
  if (device.backend() == Backend::cuda) {
    args.emplace_back("--device-tag");
    args.push_back("sm" + std::to_string(device.info().compute_major) +
                   std::to_string(device.info().compute_minor));
  }
  if (request.noise_level) {
    args.emplace_back("--noise-level");
    args.push_back(format_number(*request.noise_level));
  }
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    throw Error(std::string("cannot start the model compiler: pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    throw UsageError("cannot run " + python + " to compile " + request.path + ": " +
                     std::strerror(spawned) +
                     " (set PYN_PYTHON to a Python with torch and spandrel)");
  }
  Output output;
  std::string line;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] == '\n' || buffer[i] == '\r') {
        take_line(line, output);
        line.clear();
      } else {
        line += buffer[i];
      }
    }
  }
  take_line(line, output);
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (const auto error = output.answers.find("error"); error != output.answers.end()) {
    throw UsageError(error->second);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !output.answers.contains("artifact")) {
    const std::string why = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                              : "signal " + std::to_string(WTERMSIG(status));
    throw UsageError("the model compiler (" + python + " " + PYN_COMPILE_SCRIPT + ") failed on " +
                     request.path + " (" + why + ")" +
                     (output.other.empty() ? "" : ": " + output.other));
  }
  CompiledModel model;
  model.artifact = output.answers["entry"] + "/" + output.answers["artifact"];
  model.arch = output.answers["arch"];
  model.format = output.answers["format"];
  model.dtype = parse_dtype_name(output.answers["dtype"]);
  if (std::sscanf(output.answers["padded"].c_str(), "%dx%d", &model.padded_width,
                  &model.padded_height) != 2) {
    throw Error("the model compiler gave no padded size for " + request.path);
  }
  model.compiled = output.answers["compiled"] == "1";
  return model;
}

}  // namespace pyn
