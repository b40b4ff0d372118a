#include "metrics/histogram_quantile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace greenlb::metrics {
namespace {

const std::vector<double> kBounds = {0.1, 0.2, 0.4};

TEST(HistogramQuantile, NothingCountedIsNaN) {
  std::vector<uint64_t> none = {0, 0, 0, 0};
  EXPECT_TRUE(std::isnan(histogramQuantile(0.5, kBounds, none)));
}

TEST(HistogramQuantile, InterpolatesInsideTheBucket) {
  // 10 values in (0, 0.1], 10 in (0.1, 0.2]: the median is the top of the first bucket,
  // p75 halfway through the second.
  std::vector<uint64_t> c = {10, 20, 20, 20};
  EXPECT_DOUBLE_EQ(histogramQuantile(0.5, kBounds, c), 0.1);
  EXPECT_DOUBLE_EQ(histogramQuantile(0.75, kBounds, c), 0.15);
  EXPECT_DOUBLE_EQ(histogramQuantile(0.25, kBounds, c), 0.05);
}

TEST(HistogramQuantile, InfBucketReadsAsTheLargestFiniteBound) {
  std::vector<uint64_t> c = {0, 0, 1, 100};
  EXPECT_DOUBLE_EQ(histogramQuantile(0.99, kBounds, c), 0.4);
}

TEST(HistogramQuantile, SkipsEmptyBuckets) {
  std::vector<uint64_t> c = {0, 0, 4, 4};  // all four in (0.2, 0.4]
  EXPECT_DOUBLE_EQ(histogramQuantile(0.5, kBounds, c), 0.3);
}

}  // namespace
}  // namespace greenlb::metrics
