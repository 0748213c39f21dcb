// pynference._core.run(argv, progress): the CLI's `run` (src/cli/run_command.hpp) over the same
// arguments, on a thread of its own while the caller's thread, holding the GIL only briefly, calls
// `progress` and lets Python handle signals: Ctrl-C (KeyboardInterrupt) or an exception in
// `progress` stops the run after the frames in flight, as the CLI's first Ctrl-C does, and is
// raised once the run has ended.

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bindings.hpp"
#include "pynference/core/error.hpp"
#include "run_command.hpp"

namespace nb = nanobind;

namespace pyn::python {

namespace {

nb::dict run(const std::vector<std::string>& argv, const nb::object& progress) {
  const std::vector<std::string_view> views(argv.begin(), argv.end());
  const cli::Args args = cli::run_args(views);

  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> written{0};
  std::atomic<std::int64_t> total{-1};
  std::mutex mutex;
  std::condition_variable done_changed;
  bool done = false;
  cli::RunOutcome outcome;
  std::exception_ptr failure;

  cli::RunHooks hooks;
  hooks.stop = &stop;
  hooks.on_start = [&](std::optional<std::int64_t> frames) { total.store(frames.value_or(-1)); };
  hooks.on_frame = [&](std::int64_t frames) { written.store(frames); };

  std::optional<nb::python_error> raised;  // from Python, while the run went on
  std::int64_t told = -1;
  const auto tell = [&] {
    const std::int64_t frames = written.load();
    if (progress.is_none() || frames == told || raised) {
      return;
    }
    told = frames;
    const std::int64_t known = total.load();
    try {
      progress(frames, known < 0 ? nb::none() : nb::cast(known));
    } catch (nb::python_error& e) {
      raised.emplace(std::move(e));
      stop.store(true);
    }
  };

  {
    nb::gil_scoped_release release;
    std::thread worker([&] {
      try {
        outcome = cli::run_command(args, hooks);
      } catch (...) {
        failure = std::current_exception();
      }
      {
        std::lock_guard lock(mutex);
        done = true;
      }
      done_changed.notify_all();
    });
    for (;;) {
      {
        std::unique_lock lock(mutex);
        if (done_changed.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) {
          break;
        }
      }
      nb::gil_scoped_acquire acquire;
      if (!raised && PyErr_CheckSignals() != 0) {
        raised.emplace();  // takes the error Python set (KeyboardInterrupt)
        stop.store(true);
      }
      tell();
    }
    worker.join();
  }
  if (raised) {
    throw std::move(*raised);
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
  tell();
  if (raised) {
    throw std::move(*raised);
  }
  if (!outcome.kept.empty() && !outcome.interrupted) {
    throw Error(outcome.kept_line);
  }
  const RunReport& report = outcome.report;
  nb::dict result;
  result["frames"] = report.frames;
  result["wall_s"] = report.wall_s;
  result["fps"] = report.fps;
  result["first_frame_ms"] = report.first_frame_ms;
  result["setup_ms"] = report.setup_ms;
  result["warmup_ms"] = report.warmup_ms;
  result["interrupted"] = outcome.interrupted;
  result["bound_fps"] = report.bound_fps;
  result["efficiency"] = report.efficiency;
  return result;
}

}  // namespace

void bind_run(nb::module_& m) { m.def("run", &run, nb::arg("argv"), nb::arg("progress").none()); }

}  // namespace pyn::python
