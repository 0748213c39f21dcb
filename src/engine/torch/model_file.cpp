// Telling model files apart by content, and LibTorch's errors as one line.

#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/torch_engine.hpp"

namespace pyn::torch_engine {

namespace {

constexpr std::size_t kMaxMessage = 300;
constexpr std::size_t kLongLine = 160;

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  return text;
}

// "RuntimeError: ..." and the like: the line a TorchScript traceback ends with.
bool is_error_line(std::string_view line) {
  const std::size_t colon = line.find(": ");
  if (colon == std::string_view::npos || colon < 5) {
    return false;
  }
  const std::string_view head = line.substr(0, colon);
  if (!head.ends_with("Error") && !head.ends_with("Exception")) {
    return false;
  }
  return std::ranges::all_of(head, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
  });
}

const char* what_file_is(std::string_view head) {
  if (head.starts_with("PK")) {
    return nullptr;
  }
  if (!head.empty() && static_cast<unsigned char>(head.front()) == 0x80) {
    return "a pickled object (a state dict or module saved with torch.save), not TorchScript: "
           "convert it with tools/export_model.py";
  }
  if (head.size() > 8 && head[8] == '{') {
    return "a safetensors state dict, not a model: convert it with tools/export_model.py";
  }
  return "not a TorchScript (.pt, .ts) or AOTInductor (.pt2) file";
}

}  // namespace

std::string one_line(std::string_view message) {
  std::string_view first;
  std::string_view last_error;
  std::size_t start = 0;
  while (start <= message.size()) {
    std::size_t end = message.find('\n', start);
    if (end == std::string_view::npos) {
      end = message.size();
    }
    const std::string_view line = trim(message.substr(start, end - start));
    if (!line.empty()) {
      if (first.empty()) {
        first = line;
      }
      if (is_error_line(line)) {
        last_error = line;
      }
    }
    start = end + 1;
  }
  std::string line(last_error.empty() ? first : last_error);
  // miniz and others append paragraphs of advice: the first sentence says what happened.
  if (line.size() > kLongLine) {
    if (const std::size_t stop = line.find(". ", kLongLine / 4); stop != std::string::npos) {
      line.resize(stop);
    }
  }
  if (line.empty()) {
    line = "unknown error";
  }
  if (line.size() > kMaxMessage) {
    line.resize(kMaxMessage - 3);
    line += "...";
  }
  return line;
}

std::string message_of(const std::exception& error) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) {
    return one_line(c10_error->what_without_backtrace());
  }
  return one_line(error.what());
}

}  // namespace pyn::torch_engine

namespace pyn {

bool is_model_source(const std::string& path) {
  namespace fs = std::filesystem;
  std::string extension = fs::path(path).extension().string();
  std::ranges::transform(extension, extension.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return false;
  }
  if (extension == ".onnx") {
    return true;
  }
  std::array<char, 16> buffer{};
  std::ifstream file(path, std::ios::binary);
  file.read(buffer.data(), buffer.size());
  const std::string_view head(buffer.data(), static_cast<std::size_t>(file.gcount()));
  if (head.empty()) {
    return false;
  }
  if (static_cast<unsigned char>(head.front()) == 0x80 || (head.size() > 8 && head[8] == '{')) {
    return true;  // a pickle (torch.save before 1.6), or safetensors (8-byte length, then JSON)
  }
  if (!head.starts_with("PK")) {
    return false;
  }
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    bool data = false;
    for (const std::string& record : reader.getAllRecords()) {
      if (record.starts_with("code/") || record.starts_with("data/aotinductor/") ||
          record == "archive_format") {
        return false;
      }
      data = data || record == "data.pkl";
    }
    return data;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pyn

namespace pyn::torch_engine {

Format detect_format(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string name = fs::path(path).filename().string();
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    throw UsageError("cannot open model " + path + ": no such file");
  }
  if (fs::is_directory(status)) {
    throw UsageError("model " + path + " is a folder, not a file");
  }
  std::array<char, 16> buffer{};
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw UsageError("cannot read model " + path);
  }
  file.read(buffer.data(), buffer.size());
  const std::string_view head(buffer.data(), static_cast<std::size_t>(file.gcount()));
  if (head.empty()) {
    throw UsageError("model " + name + " is empty");
  }
  if (const char* what = what_file_is(head)) {
    throw UsageError("model " + name + " is " + what);
  }

  std::vector<std::string> records;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    records = reader.getAllRecords();
  } catch (const std::exception& e) {
    throw UsageError("model " + name + " is not a readable TorchScript or AOTInductor archive (" +
                     message_of(e) + ")");
  }
  bool aoti_code = false;
  bool pt2 = false;
  bool code = false;
  bool constants = false;
  bool data = false;
  for (const std::string& record : records) {
    aoti_code = aoti_code || record.starts_with("data/aotinductor/");
    pt2 = pt2 || record == "archive_format";
    code = code || record.starts_with("code/");
    constants = constants || record == "constants.pkl";
    data = data || record == "data.pkl";
  }
  if (aoti_code) {
    return Format::aoti;
  }
  if (pt2) {
    throw UsageError("model " + name +
                     " is an exported program without AOTInductor code: compile it with "
                     "tools/export_model.py");
  }
  if (code && constants) {
    return Format::torchscript;
  }
  if (data) {
    throw UsageError("model " + name +
                     " is a pickled object (a state dict or module saved with torch.save), not "
                     "TorchScript: convert it with tools/export_model.py");
  }
  throw UsageError("model " + name + " is a zip archive but not a TorchScript or AOTInductor file");
}

}  // namespace pyn::torch_engine
