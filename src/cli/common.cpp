#include "common.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "json.hpp"
#include "pynference/device/error.hpp"
#include "version.hpp"

namespace pyn::cli {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
std::atomic<bool> g_nothing_written{false};
// The partial output the handler removes on an exit of its own: fixed storage, since the handler
// may only read it (no allocation, no locks).
char g_part[4096] = {};
std::atomic<bool> g_part_set{false};

void say(const char* text) noexcept {
  std::size_t n = 0;
  while (text[n] != '\0') {
    ++n;
  }
  (void)!write(STDERR_FILENO, text, n);
}

extern "C" void on_signal(int signal) {
  const bool again = g_stop.exchange(true);
  if (!again) {
    g_signal.store(signal);
  }
  const bool at_once = again || signal == SIGQUIT || g_nothing_written.load();
  if (!at_once) {
    say(signal == SIGINT
            ? "\npynference: stopping after the frames in flight (Ctrl-C again to abort)\n"
            : "\npynference: stopping after the frames in flight (signal again to abort)\n");
    return;
  }
  const bool part = g_part_set.load() && g_part[0] != '\0';
  if (part) {
    ::unlink(g_part);
  }
  if (g_nothing_written.load()) {
    say("\npynference: interrupted before the first frame was written; nothing written\n");
  } else {
    say(part ? "\npynference: aborted; the partial output is removed\n"
             : "\npynference: aborted\n");
  }
  _exit(128 + signal);
}

}  // namespace

int stop_signal() noexcept { return g_signal.load(); }

int stop_exit_code() noexcept {
  const int signal = g_signal.load();
  return signal == 0 ? 0 : 128 + signal;
}

void watch_output(const std::string& part) {
  g_part_set.store(false);
  if (part.size() < sizeof g_part) {
    std::memcpy(g_part, part.c_str(), part.size() + 1);
    g_part_set.store(true);
  }
  g_nothing_written.store(true);
}

void note_frame_written() noexcept { g_nothing_written.store(false); }

Device open_device(std::string_view name) {
  if (name == "auto") {
    if (Device::cuda_device_count() > 0) {
      return Device::open(DeviceSpec{Backend::cuda, 0});
    }
    std::fprintf(stderr, "pynference: no CUDA device found; running on the CPU (host backend)\n");
    return Device::open(DeviceSpec{Backend::host, 0});
  }
  const DeviceSpec spec = DeviceSpec::parse(name);
  if (spec.backend == Backend::cuda && Device::cuda_device_count() == 0) {
    // CUDA's own words for this ("driver version is insufficient") mislead where there is no GPU.
    throw DeviceUnavailable("--device " + std::string(name) +
                            ": no CUDA device on this machine (no NVIDIA GPU, or no working NVIDIA "
                            "driver); use --device cpu to run on the CPU");
  }
  return Device::open(spec);
}

const std::atomic<bool>& install_stop_handler() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
    sigaction(signal, &action, nullptr);
  }
  return g_stop;
}

std::string device_line(const DeviceInfo& info) {
  char text[256];
  if (info.backend == Backend::host) {
    std::snprintf(text, sizeof text, "cpu: %s, %d threads (host backend)", info.name.c_str(),
                  info.multiprocessors);
  } else {
    std::snprintf(text, sizeof text,
                  "cuda:%d: %s, %.1f GiB, %d SMs, compute %d.%d, driver %d.%d, runtime %d.%d",
                  info.index, info.name.c_str(), static_cast<double>(info.total_memory) / (1 << 30),
                  info.multiprocessors, info.compute_major, info.compute_minor,
                  info.driver_version / 1000, (info.driver_version % 1000) / 10,
                  info.runtime_version / 1000, (info.runtime_version % 1000) / 10);
  }
  return text;
}

namespace {
std::string spread(const std::vector<FpsRuns>& runs, std::size_t i) {
  if (i >= runs.size() || runs[i].size() < 2) {
    return {};
  }
  const auto [low, high] = std::minmax_element(runs[i].begin(), runs[i].end());
  char text[96];
  std::snprintf(text, sizeof text, "  (%zu runs: %.1f to %.1f fps)", runs[i].size(), *low, *high);
  return text;
}
}  // namespace

std::string report_table(const std::vector<RunReport>& reports, const std::vector<FpsRuns>& runs) {
  std::string text;
  char line[320];
  std::snprintf(line, sizeof line, "%-16s %9s %9s %6s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n",
                "strategy", "fps", "bound", "eff", "h2d ms", "compute", "d2h ms", "both ms",
                "gap ms", "lat p50", "h2d GB/s", "d2h GB/s", "VRAM MiB");
  text += line;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const RunReport& r = reports[i];
    std::snprintf(
        line, sizeof line,
        "%-16s %9.1f %9.1f %6.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.2f %8.1f %8.1f %8.0f%s\n",
        std::string(to_string(r.strategy)).c_str(), r.fps, r.bound_fps, r.efficiency,
        r.stages.h2d_ms, r.stages.compute_ms, r.stages.d2h_ms, r.stages.duplex_ms, r.compute_gap_ms,
        r.latency_p50_ms, r.h2d_gbps, r.d2h_gbps, static_cast<double>(r.vram_bytes) / (1 << 20),
        r.interrupted ? "  (interrupted)" : "");
    text += line;
    if (const std::string note = spread(runs, i); !note.empty()) {
      text.insert(text.size() - 1, note);
    }
  }
  return text;
}

std::string report_json(const DeviceInfo& device, const WorkloadInfo& workload,
                        const std::vector<RunReport>& reports, const std::vector<FpsRuns>& runs) {
  Json json;
  json.begin_object();
  json.field("tool", "pynference").field("version", kVersion).field("commit", kCommit);
  json.begin_object("device")
      .field("backend", to_string(device.backend))
      .field("name", device.name)
      .field("memory_bytes", static_cast<long long>(device.total_memory))
      .field("multiprocessors", device.multiprocessors)
      .field("compute_capability",
             std::to_string(device.compute_major) + "." + std::to_string(device.compute_minor))
      .field("driver_version", device.driver_version)
      .field("runtime_version", device.runtime_version)
      .end_object();
  json.begin_object("workload")
      .field("width", workload.width)
      .field("height", workload.height)
      .field("scale", workload.scale)
      .field("compute_ms", workload.compute_ms)
      .field("dtype", workload.dtype)
      .field("pixel", workload.pixel)
      .field("engine", workload.engine)
      .field("frames", workload.frames)
      .end_object();
  json.begin_array("results");
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const RunReport& r = reports[i];
    json.begin_object()
        .field("strategy", to_string(r.strategy))
        .field("streams", r.streams)
        .field("compute_lanes", r.compute_lanes)
        .field("slots", r.slots)
        .field("batch", r.batch)
        .field("cuda_graph", r.cuda_graph)
        .field("frames", static_cast<long long>(r.frames))
        .field("measured_frames", static_cast<long long>(r.measured_frames))
        .field("fps", r.fps)
        .field("first_frame_ms", r.first_frame_ms)
        .field("setup_ms", r.setup_ms)
        .field("warmup_ms", r.warmup_ms)
        .field("h2d_ms", r.stages.h2d_ms)
        .field("compute_ms", r.stages.compute_ms)
        .field("d2h_ms", r.stages.d2h_ms)
        .field("duplex_ms", r.stages.duplex_ms)
        .field("in_run_h2d_ms", r.in_run.h2d_ms)
        .field("in_run_compute_ms", r.in_run.compute_ms)
        .field("in_run_d2h_ms", r.in_run.d2h_ms)
        .field("bound_fps", r.bound_fps)
        .field("efficiency", r.efficiency)
        .field("compute_gap_ms", r.compute_gap_ms)
        .field("latency_p50_ms", r.latency_p50_ms)
        .field("latency_p99_ms", r.latency_p99_ms)
        .field("h2d_gbps", r.h2d_gbps)
        .field("d2h_gbps", r.d2h_gbps)
        .field("vram_bytes", static_cast<long long>(r.vram_bytes))
        .field("interrupted", r.interrupted);
    if (i < runs.size()) {
      json.begin_array("fps_runs");
      for (double fps : runs[i]) {
        json.value(fps);
      }
      json.end_array();
    }
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return json.str() + "\n";
}

void write_file(const std::string& path, std::string_view text) {
  const std::string temporary = path + ".part";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw Error("cannot write " + path);
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) {
      throw Error("cannot write " + path);
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw Error("cannot write " + path);
  }
}

namespace {

// Creates `file` and removes it again, or opens it where it exists; "" or what stopped it.
std::string try_create(const std::string& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  const bool made = fd >= 0;
  if (fd < 0 && errno == EEXIST) {
    fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    return std::strerror(errno);
  }
  ::close(fd);
  if (made) {
    ::unlink(file.c_str());
  }
  return {};
}

}  // namespace

void check_writable_file(const std::string& path, std::string_view option) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError("cannot write --" + std::string(option) + " " + path + ": it is a directory");
  }
  if (const std::string error = try_create(path + ".part"); !error.empty()) {
    throw UsageError("cannot write --" + std::string(option) + " " + path + ": " + error);
  }
}

void check_writable_dir(const std::string& dir, std::string_view option) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw UsageError("cannot write --" + std::string(option) + " " + dir + ": " + ec.message());
  }
  const std::string probe = dir + "/.pynference-" + std::to_string(::getpid());
  if (const std::string error = try_create(probe); !error.empty()) {
    throw UsageError("cannot write --" + std::string(option) + " " + dir + ": " + error);
  }
}

}  // namespace pyn::cli
