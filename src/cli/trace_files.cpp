#include "trace_files.hpp"

#include <filesystem>

#include "common.hpp"
#include "pynference/device/error.hpp"
#include "pynference/trace/timeline.hpp"

namespace pyn::cli {

void write_trace_files(const std::string& dir, const RunReport& report, const std::string& title) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    throw Error("cannot create " + dir + ": " + error.message());
  }
  const Timeline timeline = make_timeline(report, title);
  const std::string base = dir + "/" + std::string(to_string(report.strategy));
  write_file(base + ".svg", timeline_svg(timeline, SvgOptions{}));
  write_file(base + ".trace.json", chrome_trace_json(timeline));
}

}  // namespace pyn::cli
