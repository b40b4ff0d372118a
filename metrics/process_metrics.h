// The standard process_* metrics (as the Go and Python clients export them), read from
// /proc when scraped.
#pragma once

#include <optional>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace greenlb::metrics {

struct ProcessStats {
  double cpu_seconds = 0;     // user + system
  double resident_bytes = 0;  // RSS
  double virtual_bytes = 0;   // VSZ
  double open_fds = 0;
  double max_fds = 0;             // soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // Unix time
};

// Reads /proc/self/stat, /proc/self/fd, /proc/stat (boot time) and the fd limit; nullopt
// when /proc is not there. A few small reads of kernel memory: fine on a scrape.
std::optional<ProcessStats> readProcessStats();

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds. Empty without /proc.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace greenlb::metrics
