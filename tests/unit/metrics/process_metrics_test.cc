#include "metrics/process_metrics.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <ctime>
#include <fstream>

namespace greenlb::metrics {
namespace {

TEST(ProcessMetrics, ReadsPlausibleValuesFromProc) {
  auto stats = readProcessStats();
  ASSERT_TRUE(stats.has_value());
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(stats->start_time_seconds, now - 24 * 3600);
  EXPECT_LE(stats->start_time_seconds, now + 1);
  EXPECT_GT(stats->resident_bytes, 1 << 20);
  EXPECT_GE(stats->virtual_bytes, stats->resident_bytes);
  EXPECT_GE(stats->cpu_seconds, 0);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(stats->max_fds, static_cast<double>(limit.rlim_cur));
}

TEST(ProcessMetrics, CountsOpenDescriptors) {
  double before = readProcessStats()->open_fds;
  EXPECT_GE(before, 3);  // stdin, stdout, stderr
  {
    std::ifstream a("/proc/self/stat"), b("/proc/self/status");
    EXPECT_EQ(readProcessStats()->open_fds, before + 2);
  }
  EXPECT_EQ(readProcessStats()->open_fds, before);
}

TEST(ProcessMetrics, CollectorExportsTheStandardFamilies) {
  auto families = ProcessCollector().Collect();
  std::vector<std::string> names;
  for (const auto& f : families) {
    names.push_back(f.name);
    EXPECT_FALSE(f.help.empty());
    EXPECT_EQ(f.metric.size(), 1u);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"process_cpu_seconds_total", "process_resident_memory_bytes",
                                      "process_virtual_memory_bytes", "process_open_fds",
                                      "process_max_fds", "process_start_time_seconds"}));
}

}  // namespace
}  // namespace greenlb::metrics
