#include "proxy/history_json.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "proxy/json_writer.h"

namespace greenlb::proxy {
namespace {

using metrics::HistoryField;
using metrics::HistoryKind;
using metrics::HistorySeries;

// Rates to a thousandth, latencies to a microsecond: more digits are noise, and the full
// document (900 samples a field) stays small.
double rounded(HistoryField f, float v) {
  double scale = f == HistoryField::p50 || f == HistoryField::p99 ? 1e6 : 1e3;
  return std::round(static_cast<double>(v) * scale) / scale;
}

void writeFields(JsonWriter& w, const HistorySeries& s, size_t last) {
  const size_t n = std::min(last, s.size());
  for (size_t f = 0; f < metrics::kHistoryFields; ++f) {
    auto field = static_cast<HistoryField>(f);
    if (!s.has(field)) continue;
    const metrics::HistoryRing<float>& ring = s.ring(field);
    w.key(metrics::historyFieldName(s.kind(), field)).beginArray();
    for (size_t i = ring.size() - n; i < ring.size(); ++i)
      w.value(rounded(field, ring[i]));  // NaN: null
    w.endArray();
  }
}

}  // namespace

std::string historyJson(const metrics::History& history, size_t last) {
  std::map<std::string, std::vector<const HistorySeries*>> endpoints;  // by upstream
  for (const HistorySeries* s : history.series()) {
    if (s->kind() == HistoryKind::endpoint) endpoints[s->scope()].push_back(s);
  }
  JsonWriter w;
  w.beginObject();
  w.key("interval_seconds").value(1);
  w.key("capacity").value(static_cast<uint64_t>(history.samples()));
  w.key("round").value(history.round());
  w.key("time").value(history.lastUnixTime());
  w.key("series_left_out").value(static_cast<uint64_t>(history.leftOut()));
  w.key("listeners").beginArray();
  for (const HistorySeries* s : history.series()) {
    if (s->kind() != HistoryKind::listener) continue;
    w.beginObject().key("name").value(s->name());
    writeFields(w, *s, last);
    w.endObject();
  }
  w.endArray();
  w.key("upstreams").beginArray();
  for (const HistorySeries* s : history.series()) {
    if (s->kind() != HistoryKind::upstream) continue;
    w.beginObject().key("name").value(s->name());
    writeFields(w, *s, last);
    w.key("endpoints").beginArray();
    for (const HistorySeries* e : endpoints[s->name()]) {
      w.beginObject().key("address").value(e->name());
      writeFields(w, *e, last);
      w.endObject();
    }
    w.endArray();
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.str();
}

}  // namespace greenlb::proxy
