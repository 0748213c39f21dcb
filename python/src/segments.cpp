// pynference._core.keyframes, plan and join: the io layer's segments (pynference/io/segments.hpp)
// for pynference.distributed, with the GIL released while files are read and written.

#include "pynference/io/segments.hpp"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"

namespace nb = nanobind;

namespace pyn::python {

namespace {

nb::dict keyframes(const std::string& path) {
  Keyframes keys;
  {
    nb::gil_scoped_release release;
    keys = list_keyframes(path);
  }
  nb::dict result;
  result["times_s"] = keys.times_s;
  result["end_s"] = keys.end_s;
  result["packets"] = keys.packets;
  return result;
}

std::vector<std::pair<double, std::optional<double>>> plan(const std::string& path, int count,
                                                           double every_s) {
  std::vector<Segment> segments;
  {
    nb::gil_scoped_release release;
    segments = plan_segments(list_keyframes(path), count, every_s);
  }
  std::vector<std::pair<double, std::optional<double>>> result;
  for (const Segment& s : segments) {
    result.emplace_back(s.start_s, s.end_s);
  }
  return result;
}

std::int64_t join(const std::string& input, const std::vector<std::string>& segments,
                  const std::vector<double>& starts_s, const std::string& output,
                  bool copy_streams) {
  JoinOptions options;
  options.input = input;
  options.segments = segments;
  options.starts_s = starts_s;
  options.output = output;
  options.copy_streams = copy_streams;
  nb::gil_scoped_release release;
  return join_segments(options);
}

}  // namespace

void bind_segments(nb::module_& m) {
  m.def("keyframes", &keyframes, nb::arg("path"));
  m.def("plan", &plan, nb::arg("path"), nb::arg("count"), nb::arg("every_s") = 0.0);
  m.def("join", &join, nb::arg("input"), nb::arg("segments"), nb::arg("starts_s"),
        nb::arg("output"), nb::arg("copy_streams") = true);
}

}  // namespace pyn::python
