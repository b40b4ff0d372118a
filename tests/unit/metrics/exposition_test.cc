#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/family_builder.h"
#include "metrics/openmetrics_serializer.h"
#include "metrics/registry.h"
#include "tests/unit/metrics/exposition_parser.h"

namespace greenlb::metrics {
namespace {

using prometheus::MetricType;

TEST(WantsOpenMetrics, FollowsTheAcceptHeader) {
  // What Prometheus 2.x sends.
  EXPECT_TRUE(wantsOpenMetrics(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
  EXPECT_TRUE(wantsOpenMetrics("application/openmetrics-text"));
  EXPECT_TRUE(wantsOpenMetrics("Application/OpenMetrics-Text; version=1.0.0"));
  EXPECT_FALSE(wantsOpenMetrics(""));
  EXPECT_FALSE(wantsOpenMetrics("*/*"));
  EXPECT_FALSE(wantsOpenMetrics("text/plain;version=0.0.4"));
  EXPECT_FALSE(wantsOpenMetrics("application/openmetrics-text;q=0"));
  EXPECT_FALSE(wantsOpenMetrics("text/plain, application/openmetrics-text;q=0.5"));
  EXPECT_TRUE(wantsOpenMetrics("text/plain;q=0.5, application/openmetrics-text;q=0.9"));
}

std::string openMetrics(const std::vector<prometheus::MetricFamily>& families) {
  return serializeFamilies(families, true);
}

TEST(OpenMetrics, NamesCounterFamiliesWithoutTotalAndSamplesWithIt) {
  auto f = family("requests_total", MetricType::Counter, "Requests.");
  f.metric.push_back(counterSample({{"code", "200"}}, 42));
  EXPECT_EQ(openMetrics({f}),
            "# HELP requests Requests.\n"
            "# TYPE requests counter\n"
            "requests_total{code=\"200\"} 42\n"
            "# EOF\n");
}

TEST(OpenMetrics, WritesHistogramsWithCanonicalBoundsAndUnits) {
  const double bounds[] = {0.5, 1, 2.5};
  Histogram h(1, bounds);
  h.observe(0, 0.25);
  h.observe(0, 2);
  auto f = family("wait_seconds", MetricType::Histogram, "Waits.");
  f.metric.push_back(histogramSample({{"hub", "0"}}, h.snapshot()));
  EXPECT_EQ(openMetrics({f}),
            "# HELP wait_seconds Waits.\n"
            "# TYPE wait_seconds histogram\n"
            "# UNIT wait_seconds seconds\n"
            "wait_seconds_bucket{hub=\"0\",le=\"0.5\"} 1\n"
            "wait_seconds_bucket{hub=\"0\",le=\"1.0\"} 1\n"
            "wait_seconds_bucket{hub=\"0\",le=\"2.5\"} 2\n"
            "wait_seconds_bucket{hub=\"0\",le=\"+Inf\"} 2\n"
            "wait_seconds_sum{hub=\"0\"} 2.25\n"
            "wait_seconds_count{hub=\"0\"} 2\n"
            "# EOF\n");
}

TEST(OpenMetrics, AddsTheInfBucketWhenMissing) {
  auto f = family("x_seconds", MetricType::Histogram, "");
  prometheus::ClientMetric m;
  m.histogram.sample_count = 3;
  m.histogram.bucket = {{1, 1.0}};
  f.metric.push_back(m);
  std::string text = openMetrics({f});
  EXPECT_NE(text.find("x_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
}

TEST(OpenMetrics, EscapesHelpAndLabelValuesAndSpellsSpecialValues) {
  auto f = family("odd", MetricType::Gauge, "a \\ b \"c\"\nd");
  f.metric.push_back(gaugeSample({{"path", "C:\\x \"y\"\nz"}}, std::nan("")));
  f.metric.push_back(gaugeSample({{"path", "inf"}}, std::numeric_limits<double>::infinity()));
  f.metric.push_back(gaugeSample({{"path", "frac"}}, 1700000000.25));
  EXPECT_EQ(openMetrics({f}),
            "# HELP odd a \\\\ b \\\"c\\\"\\nd\n"
            "# TYPE odd gauge\n"
            "odd{path=\"C:\\\\x \\\"y\\\"\\nz\"} NaN\n"
            "odd{path=\"inf\"} +Inf\n"
            "odd{path=\"frac\"} 1700000000.25\n"
            "# EOF\n");
}

TEST(OpenMetrics, KeepsInfoGaugesAsGaugesAndCountersWithoutTotalAsUnknown) {
  auto info = family("app_build_info", MetricType::Gauge, "Build.");
  info.metric.push_back(gaugeSample({{"version", "1"}}, 1));
  auto odd = family("legacy_hits", MetricType::Counter, "Hits.");
  odd.metric.push_back(counterSample({}, 3));
  EXPECT_EQ(openMetrics({info, odd}),
            "# HELP app_build_info Build.\n"
            "# TYPE app_build_info gauge\n"
            "app_build_info{version=\"1\"} 1\n"
            "# HELP legacy_hits Hits.\n"
            "# TYPE legacy_hits unknown\n"
            "legacy_hits 3\n"
            "# EOF\n");
}

// The sample name suffixes OpenMetrics allows per type.
const std::map<std::string, std::set<std::string>> kSuffixes = {
    {"counter", {"_total", "_created"}},
    {"gauge", {""}},
    {"info", {"_info"}},
    {"histogram", {"_bucket", "_sum", "_count", "_created"}},
    {"summary", {"", "_sum", "_count", "_created"}},
    {"unknown", {""}},
};

// Checks the structure of a whole OpenMetrics exposition; returns the problems.
std::vector<std::string> openMetricsProblems(const std::string& text) {
  std::vector<std::string> problems;
  testing::Exposition e = testing::parse(text);
  if (e.lines.empty() || e.lines.back() != "# EOF") problems.push_back("no final # EOF");
  if (text.empty() || text.back() != '\n') problems.push_back("no final newline");
  std::set<std::string> seen_families;
  std::string family, type;
  for (size_t i = 0; i + 1 < e.lines.size(); ++i) {
    const std::string& line = e.lines[i];
    if (line.empty()) {
      problems.push_back("empty line " + std::to_string(i));
      continue;
    }
    if (line[0] == '#') {
      std::istringstream in(line);
      std::string hash, kind, name, rest;
      in >> hash >> kind >> name >> rest;
      if (kind != "HELP" && kind != "TYPE" && kind != "UNIT") {
        problems.push_back("stray comment: " + line);
      }
      if (name != family) {
        if (!seen_families.insert(name).second) problems.push_back("family split: " + name);
        family = name;
        type.clear();
      }
      if (kind == "TYPE") type = rest;
      if (kind == "UNIT" && family.substr(family.size() - rest.size()) != rest) {
        problems.push_back("unit not a suffix: " + line);
      }
      continue;
    }
    std::string name = line.substr(0, line.find_first_of("{ "));
    bool matched = false;
    if (kSuffixes.count(type)) {
      for (const std::string& suffix : kSuffixes.at(type)) matched |= name == family + suffix;
    }
    if (!matched) problems.push_back("sample outside its family (" + type + "): " + line);
  }
  return problems;
}

TEST(OpenMetrics, WholeRegistryExpositionIsWellFormed) {
  Registry r(2, "1.0");
  r.listener("web").setCertificateExpiry("c.crt", 2e9);
  r.requests("web", "app").requests.add(1, 404);
  r.upstream("app").connect_duration.observe(0, 1);
  auto e = r.endpoint("app", "127.0.0.1:1");
  r.configReloaded(true);
  std::string text = r.serialize(true);
  EXPECT_EQ(openMetricsProblems(text), std::vector<std::string>{}) << text;
  testing::Exposition parsed = testing::parse(text);
  EXPECT_EQ(parsed.at(R"(greenlb_build_info{version="1.0"})"), 1);
  EXPECT_EQ(parsed.at(R"(greenlb_requests_total{listener="web",upstream="app",code="404"})"), 1);
  EXPECT_EQ(
      parsed.at(R"(greenlb_upstream_connect_duration_seconds_bucket{upstream="app",le="1.0"})"), 1);
  EXPECT_EQ(
      parsed.at(R"(greenlb_upstream_connect_duration_seconds_bucket{upstream="app",le="0.5"})"), 0);
  EXPECT_EQ(parsed.at(R"(greenlb_config_reloads_total{result="success"})"), 1);
  EXPECT_NE(text.find("# TYPE greenlb_config_reloads counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE greenlb_build_info gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\n"),
            std::string::npos);
  EXPECT_EQ(text.find("Nan"), std::string::npos);
}

TEST(PrometheusText, WholeRegistryExpositionParsesBack) {
  Registry r(2, "1.0");
  r.listener("web").bytes_sent.add(1, 1234567890123);
  std::string text = r.serialize(false);
  EXPECT_EQ(text.find("# EOF"), std::string::npos);
  testing::Exposition parsed = testing::parse(text);
  EXPECT_EQ(parsed.at(R"(greenlb_bytes_sent_total{listener="web"})"), 1234567890123);
  EXPECT_NE(text.find("# TYPE greenlb_bytes_sent_total counter\n"), std::string::npos);
  // Each family's HELP and TYPE precede its samples, once.
  std::set<std::string> typed;
  for (const std::string& line : parsed.lines) {
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_TRUE(typed.insert(line.substr(7, line.find(' ', 7) - 7)).second) << line;
    }
  }
}

}  // namespace
}  // namespace greenlb::metrics
