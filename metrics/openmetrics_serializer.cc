#include "metrics/openmetrics_serializer.h"

#include <charconv>
#include <cmath>
#include <locale>
#include <ostream>
#include <string>
#include <string_view>

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
      if (endsWith(name, "_info")) return {name.substr(0, name.size() - 5), "info"};
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

// name{labels[,extra="value"]} — the value part of `extra` is written by `extra_value`.
template <class ExtraValue>
void writeSeries(std::ostream& out, std::string_view name, std::string_view suffix,
                 const ClientMetric& m, std::string_view extra, ExtraValue&& extra_value) {
  out << name << suffix;
  if (m.label.empty() && extra.empty()) return;
  char sep = '{';
  for (const auto& l : m.label) {
    out << sep << l.name << "=\"";
    writeEscaped(out, l.value);
    out << '"';
    sep = ',';
  }
  if (!extra.empty()) {
    out << sep << extra << "=\"";
    extra_value();
    out << '"';
  }
  out << '}';
}

void writeSeries(std::ostream& out, std::string_view name, std::string_view suffix,
                 const ClientMetric& m) {
  writeSeries(out, name, suffix, m, {}, [] {});
}

void writeSamples(std::ostream& out, const MetricFamily& f, const ClientMetric& m) {
  const std::string_view name = f.name;
  switch (f.type) {
    case MetricType::Counter:
      writeSeries(out, name, "", m);
      out << ' ';
      writeDouble(out, m.counter.value);
      out << '\n';
      break;
    case MetricType::Gauge:
      writeSeries(out, name, "", m);
      out << ' ';
      writeDouble(out, m.gauge.value);
      out << '\n';
      break;
    case MetricType::Untyped:
      writeSeries(out, name, "", m);
      out << ' ';
      writeDouble(out, m.untyped.value);
      out << '\n';
      break;
    case MetricType::Summary:
      for (const auto& q : m.summary.quantile) {
        writeSeries(out, name, "", m, "quantile", [&] { writeDouble(out, q.quantile, true); });
        out << ' ';
        writeDouble(out, q.value);
        out << '\n';
      }
      writeSeries(out, name, "_sum", m);
      out << ' ';
      writeDouble(out, m.summary.sample_sum);
      out << '\n';
      writeSeries(out, name, "_count", m);
      out << ' ' << m.summary.sample_count << '\n';
      break;
    case MetricType::Histogram: {
      bool has_inf = false;
      for (const auto& b : m.histogram.bucket) {
        has_inf = has_inf || std::isinf(b.upper_bound);
        writeSeries(out, name, "_bucket", m, "le", [&] { writeDouble(out, b.upper_bound, true); });
        out << ' ' << b.cumulative_count << '\n';
      }
      if (!has_inf) {
        writeSeries(out, name, "_bucket", m, "le", [&] { out << "+Inf"; });
        out << ' ' << m.histogram.sample_count << '\n';
      }
      writeSeries(out, name, "_sum", m);
      out << ' ';
      writeDouble(out, m.histogram.sample_sum);
      out << '\n';
      writeSeries(out, name, "_count", m);
      out << ' ' << m.histogram.sample_count << '\n';
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
