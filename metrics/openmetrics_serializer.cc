#include "metrics/openmetrics_serializer.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <locale>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace greenlb::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void writeEscaped(std::ostream& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\':
        out << "\\\\";
        break;
      case '"':
        out << "\\\"";
        break;
      case '\n':
        out << "\\n";
        break;
      default:
        out << c;
    }
  }
}

// Shortest text that reads back as the same double. `canonical` (for `le` and `quantile`
// label values) writes it the way the Go client does, %g-style with ".0" on integral values
// ("0.0005", "1.0", "1e-05"), so that series keep their labels across exposers.
void writeDouble(std::ostream& out, double v, bool canonical = false) {
  if (std::isnan(v)) {
    out << "NaN";
    return;
  }
  if (std::isinf(v)) {
    out << (v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[64];
  auto [end, ec] = canonical ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general)
                             : std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  out << text;
  if (canonical && text.find_first_of(".e") == std::string_view::npos) out << ".0";
}

struct Shape {
  std::string_view family;  // name on the HELP/TYPE/UNIT lines
  std::string_view type;
};

Shape shapeOf(const MetricFamily& f) {
  std::string_view name = f.name;
  switch (f.type) {
    case MetricType::Counter:
      // A counter without `_total` cannot be an OpenMetrics counter: expose it untyped.
      if (endsWith(name, "_total")) return {name.substr(0, name.size() - 6), "counter"};
      return {name, "unknown"};
    case MetricType::Gauge:
      // Gauges stay gauges, "_info" ones too: the contract types greenlb_build_info as a
      // gauge (docs/observability.md, "Metric families"), and an OpenMetrics info family
      // would be named "greenlb_build" (a different family name, and metadata type, than
      // the text format's).
      return {name, "gauge"};
    case MetricType::Summary:
      return {name, "summary"};
    case MetricType::Histogram:
      return {name, "histogram"};
    case MetricType::Untyped:
      break;
  }
  return {name, "unknown"};
}

std::string_view unitOf(std::string_view family) {
  for (std::string_view unit : {"seconds", "bytes"}) {
    if (family.size() > unit.size() && endsWith(family, unit) &&
        family[family.size() - unit.size() - 1] == '_') {
      return unit;
    }
  }
  return {};
}

// Writes the sample lines of one metric: name+suffix, its labels plus an optional numeric
// one (le, quantile), the value.
class SampleWriter {
 public:
  SampleWriter(std::ostream& out, std::string_view name, const ClientMetric& m)
      : out_(out), name_(name), m_(m) {}

  template <class V>
  void line(std::string_view suffix, V value) {
    line(suffix, {}, 0, value);
  }
  template <class V>
  void line(std::string_view suffix, std::string_view label, double label_value, V value) {
    out_ << name_ << suffix;
    char sep = '{';
    for (const auto& l : m_.label) {
      out_ << sep << l.name << "=\"";
      writeEscaped(out_, l.value);
      out_ << '"';
      sep = ',';
    }
    if (!label.empty()) {
      out_ << sep << label << "=\"";
      writeDouble(out_, label_value, true);
      out_ << '"';
      sep = ',';
    }
    if (sep == ',') out_ << '}';
    out_ << ' ';
    if constexpr (std::is_floating_point_v<V>) {
      writeDouble(out_, value);
    } else {
      out_ << value;
    }
    out_ << '\n';
  }

 private:
  std::ostream& out_;
  std::string_view name_;
  const ClientMetric& m_;
};

void writeSamples(std::ostream& out, const MetricFamily& f, const ClientMetric& m) {
  SampleWriter w(out, f.name, m);
  switch (f.type) {
    case MetricType::Counter:
      w.line("", m.counter.value);
      break;
    case MetricType::Gauge:
      w.line("", m.gauge.value);
      break;
    case MetricType::Untyped:
      w.line("", m.untyped.value);
      break;
    case MetricType::Summary:
      for (const auto& q : m.summary.quantile) w.line("", "quantile", q.quantile, q.value);
      w.line("_sum", m.summary.sample_sum);
      w.line("_count", m.summary.sample_count);
      break;
    case MetricType::Histogram: {
      const auto& h = m.histogram;
      for (const auto& b : h.bucket) w.line("_bucket", "le", b.upper_bound, b.cumulative_count);
      if (h.bucket.empty() || !std::isinf(h.bucket.back().upper_bound)) {
        w.line("_bucket", "le", std::numeric_limits<double>::infinity(), h.sample_count);
      }
      w.line("_sum", h.sample_sum);
      w.line("_count", h.sample_count);
      break;
    }
  }
}

}  // namespace

void OpenMetricsSerializer::Serialize(std::ostream& out,
                                      const std::vector<MetricFamily>& families) const {
  // Numbers in the exposition never depend on the global locale (no digit grouping).
  std::locale saved = out.imbue(std::locale::classic());
  for (const MetricFamily& f : families) {
    const Shape shape = shapeOf(f);
    if (!f.help.empty()) {
      out << "# HELP " << shape.family << ' ';
      writeEscaped(out, f.help);
      out << '\n';
    }
    out << "# TYPE " << shape.family << ' ' << shape.type << '\n';
    if (std::string_view unit = unitOf(shape.family); !unit.empty()) {
      out << "# UNIT " << shape.family << ' ' << unit << '\n';
    }
    for (const ClientMetric& m : f.metric) writeSamples(out, f, m);
  }
  out << "# EOF\n";
  out.imbue(saved);
}

}  // namespace greenlb::metrics
