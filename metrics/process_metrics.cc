#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>

#include "metrics/family_builder.h"

namespace greenlb::metrics {
namespace {

// Seconds since the epoch at which the system booted (/proc/stat "btime").
std::optional<double> bootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

// The fields of /proc/self/stat after "(comm)": comm may hold spaces and parentheses, so
// parsing starts after the last ')'. Field 3 (state) is fields[0].
std::optional<std::vector<std::string>> statFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields{std::istream_iterator<std::string>(rest),
                                  std::istream_iterator<std::string>()};
  return fields;
}

double openFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the directory's own descriptor
}

}  // namespace

std::optional<ProcessStats> readProcessStats() {
  auto fields = statFields();
  // Field numbers as in proc(5); fields[0] is field 3.
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kStartTime = 22 - 3, kVsize = 23 - 3,
                   kRss = 24 - 3;
  if (!fields || fields->size() <= kRss) return std::nullopt;
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto field = [&](size_t i) { return std::stod((*fields)[i]); };

  ProcessStats s;
  // getrusage is exact to the microsecond; /proc's utime and stime come in clock ticks
  // (10 ms), so a lightly loaded proxy would read 0 for a long time.
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    auto seconds = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    s.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  } else {
    s.cpu_seconds = (field(kUtime) + field(kStime)) / ticks;
  }
  s.virtual_bytes = field(kVsize);
  s.resident_bytes = field(kRss) * page;
  s.open_fds = openFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = static_cast<double>(limit.rlim_cur);
  // The boot time never changes and the start time is fixed at exec: read btime once.
  static const std::optional<double> boot = bootTime();
  s.start_time_seconds = boot.value_or(0) + field(kStartTime) / ticks;
  return s;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto stats = readProcessStats();
  if (!stats) return out;
  using prometheus::MetricType;
  auto add = [&](const char* name, MetricType type, const char* help, double value) {
    out.push_back(family(name, type, help));
    out.back().metric.push_back(type == MetricType::Counter ? counterSample({}, value)
                                                            : gaugeSample({}, value));
  };
  add("process_cpu_seconds_total", MetricType::Counter,
      "Total user and system CPU time spent in seconds.", stats->cpu_seconds);
  add("process_resident_memory_bytes", MetricType::Gauge, "Resident memory size in bytes.",
      stats->resident_bytes);
  add("process_virtual_memory_bytes", MetricType::Gauge, "Virtual memory size in bytes.",
      stats->virtual_bytes);
  add("process_open_fds", MetricType::Gauge, "Number of open file descriptors.", stats->open_fds);
  add("process_max_fds", MetricType::Gauge, "Maximum number of open file descriptors.",
      stats->max_fds);
  add("process_start_time_seconds", MetricType::Gauge,
      "Start time of the process since unix epoch in seconds.", stats->start_time_seconds);
  return out;
}

}  // namespace greenlb::metrics
