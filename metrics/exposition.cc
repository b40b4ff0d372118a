#include "metrics/exposition.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <string>

#include "metrics/openmetrics_serializer.h"
#include "prometheus/text_serializer.h"

namespace greenlb::metrics {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The q-value of one media range's parameters ("version=1.0.0;q=0.5"); 1 when absent.
double qValue(std::string_view params) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
      return std::strtod(std::string(param.substr(2)).c_str(), nullptr);
    }
  }
  return 1;
}

}  // namespace

bool wantsOpenMetrics(std::string_view accept) {
  double openmetrics = 0, text = 0;
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    size_t semi = range.find(';');
    std::string_view type = trim(range.substr(0, semi));
    double q = semi == std::string_view::npos ? 1 : qValue(range.substr(semi + 1));
    if (equalsNoCase(type, "application/openmetrics-text")) {
      openmetrics = std::max(openmetrics, q);
    } else if (equalsNoCase(type, "text/plain")) {
      text = std::max(text, q);
    }
  }
  return openmetrics > 0 && openmetrics >= text;
}

std::string serializeFamilies(const std::vector<prometheus::MetricFamily>& families,
                              bool openmetrics) {
  std::ostringstream out;
  if (openmetrics) {
    OpenMetricsSerializer().Serialize(out, families);
  } else {
    prometheus::TextSerializer().Serialize(out, families);
  }
  return std::move(out).str();
}

}  // namespace greenlb::metrics
