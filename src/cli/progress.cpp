#include "progress.hpp"

#include <cmath>
#include <cstdio>
#include <deque>
#include <utility>

namespace pyn::cli {

std::string clock_text(double seconds) {
  const auto total = static_cast<long long>(std::max(0.0, std::round(seconds)));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, (total / 60) % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
  }
  return text;
}

std::string progress_text(std::int64_t frames, std::optional<std::int64_t> total, double fps, double elapsed_s) {
  // snprintf throughout: GCC 12 at -O3 warns falsely (-Wrestrict) on chains of std::string +.
  char text[160];
  int n = std::snprintf(text, sizeof text, "frame %lld", static_cast<long long>(frames));
  if (total && *total > 0) {
    n += std::snprintf(text + n, sizeof text - static_cast<std::size_t>(n), "/%lld", static_cast<long long>(*total));
  }
  n += std::snprintf(text + n, sizeof text - static_cast<std::size_t>(n), "  %.1f fps  elapsed %s", fps,
                     clock_text(elapsed_s).c_str());
  if (total && *total >= frames && fps > 0) {
    std::snprintf(text + n, sizeof text - static_cast<std::size_t>(n), "  ETA %s",
                  clock_text(static_cast<double>(*total - frames) / fps).c_str());
  }
  return text;
}

ProgressLine::ProgressLine(const CountingSink& sink, std::optional<std::int64_t> total, bool enabled)
    : sink_(sink), total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()) {
  if (enabled_) {
    thread_ = std::thread([this] { loop(); });
  }
}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::finish() {
  {
    const std::lock_guard lock(mutex_);
    if (done_) {
      return;
    }
    done_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

void ProgressLine::loop() {
  using clock = std::chrono::steady_clock;
  // (time, frames) over the last few seconds, for a rate that follows the run without jitter.
  std::deque<std::pair<clock::time_point, std::int64_t>> window;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return done_; })) {
    const auto now = clock::now();
    const std::int64_t frames = sink_.written();
    window.emplace_back(now, frames);
    while (window.size() > 2 && now - window.front().first > std::chrono::seconds(4)) {
      window.pop_front();
    }
    const double span = std::chrono::duration<double>(now - window.front().first).count();
    const double fps = span > 0 ? static_cast<double>(frames - window.front().second) / span : 0.0;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r\033[K%s", progress_text(frames, total_, fps, elapsed).c_str());
    std::fflush(stderr);
  }
}

}  // namespace pyn::cli
