// Turning metric families into a /metrics response body: Prometheus text 0.0.4 (via
// prometheus-cpp's TextSerializer) or OpenMetrics 1.0 text when the scraper asks for it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "prometheus/metric_family.h"

namespace greenlb::metrics {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// True when an Accept header prefers OpenMetrics: application/openmetrics-text is listed
// with a q-value above 0 and at least that of text/plain (Prometheus sends both, OpenMetrics
// first).
bool wantsOpenMetrics(std::string_view accept);

std::string serializeFamilies(const std::vector<prometheus::MetricFamily>& families,
                              bool openmetrics);

}  // namespace greenlb::metrics
