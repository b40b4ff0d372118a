#include "metrics/registry.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <string_view>

#include "core/hub.h"
#include "metrics/catalog.h"
#include "metrics/exposition.h"
#include "metrics/family_builder.h"
#include "prometheus/registry.h"

namespace greenlb::metrics {
namespace {

using prometheus::MetricFamily;

double unixNow() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string str(std::string_view s) {
  return std::string(s);
}

std::string codeLabel(int code) {
  return code == StatusCounters::kOtherStatus ? "other" : std::to_string(code);
}

// One MetricFamily per catalog entry, filled by the scrape, then handed out in catalog
// order (the order of metrics/family_list.h).
class FamilySet {
 public:
  FamilySet() {
    for (const FamilyInfo& info : kFamilies) {
      families_[index(info.id)] = family(str(info.name), info.type, str(info.help));
    }
  }
  void counter(FamilyId id, Labels labels, double value) {
    at(id).metric.push_back(counterSample(std::move(labels), value));
  }
  void gauge(FamilyId id, Labels labels, double value) {
    at(id).metric.push_back(gaugeSample(std::move(labels), value));
  }
  void histogram(FamilyId id, Labels labels, HistogramSnapshot h) {
    at(id).metric.push_back(histogramSample(std::move(labels), std::move(h)));
  }

  // The samples of one field (metrics/family_fields.h), labelled `labels`.
  void add(FamilyId id, const Labels& labels, const Counter& c) {
    counter(id, labels, static_cast<double>(c.value()));
  }
  void add(FamilyId id, const Labels& labels, const Gauge& g) {
    gauge(id, labels, static_cast<double>(g.value()));
  }
  template <int64_t Initial>
  void add(FamilyId id, const Labels& labels, const SharedLevel<Initial>& level) {
    gauge(id, labels, static_cast<double>(level.load(std::memory_order_relaxed)));
  }
  void add(FamilyId id, const Labels& labels, const Histogram& h) {
    histogram(id, labels, h.snapshot());
  }
  // One counter sample per enum value, labelled with the enum's label.
  template <class E>
  void add(FamilyId id, const Labels& labels, const CountersBy<E>& values) {
    const LabelValues names = labelsOf(E{});
    for (size_t i = 0; i < CountersBy<E>::kSize; ++i) {
      uint64_t v = values[i].value();
      // gRPC statuses appear once seen, as status codes do: most pairs carry no gRPC.
      if (std::is_same_v<E, GrpcStatus> && v == 0) continue;
      Labels l = labels;
      l.push_back({str(names.label), str(names.values[i])});
      counter(id, std::move(l), static_cast<double>(v));
    }
  }
  // One counter sample per status code seen.
  void add(FamilyId id, const Labels& labels, const StatusCounters& codes) {
    codes.forEach([&](int code, uint64_t total) {
      Labels l = labels;
      l.push_back({"code", codeLabel(code)});
      counter(id, std::move(l), static_cast<double>(total));
    });
  }
  std::vector<MetricFamily> take() && {
    std::vector<MetricFamily> out;
    for (MetricFamily& f : families_) {
      if (!f.metric.empty()) out.push_back(std::move(f));
    }
    return out;
  }

 private:
  MetricFamily& at(FamilyId id) { return families_[index(id)]; }
  std::array<MetricFamily, kFamilyCount> families_;
};

}  // namespace

Registry::Registry(size_t hubs, std::string version)
    : hubs_(detail::checkedHubs(hubs)),
      version_(std::move(version)),
      last_reload_success_(unixNow()),
      extra_(std::make_shared<prometheus::Registry>()) {}

Registry::~Registry() = default;

ListenerMetrics& Registry::listener(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& slot = listeners_[name];
  if (!slot) slot = std::make_unique<ListenerMetrics>(hubs_);
  return *slot;
}

RequestMetrics& Registry::requests(const std::string& listener, const std::string& upstream) {
  std::lock_guard lock(mu_);
  auto& slot = requests_[{listener, upstream}];
  if (!slot) slot = std::make_unique<RequestMetrics>(hubs_);
  return *slot;
}

UpstreamMetrics& Registry::upstream(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& slot = upstreams_[name];
  if (!slot) slot = std::make_unique<UpstreamMetrics>(hubs_);
  return *slot;
}

std::vector<std::pair<std::string, std::shared_ptr<EndpointMetrics>>> Registry::endpointsOf(
    const std::string& upstream) const {
  std::vector<std::pair<std::string, std::shared_ptr<EndpointMetrics>>> out;
  std::lock_guard lock(mu_);
  for (auto it = endpoints_.lower_bound({upstream, ""});
       it != endpoints_.end() && it->first.first == upstream; ++it) {
    if (auto alive = it->second.lock()) out.emplace_back(it->first.second, std::move(alive));
  }
  return out;
}

std::shared_ptr<EndpointMetrics> Registry::endpoint(const std::string& upstream,
                                                    const std::string& address) {
  std::lock_guard lock(mu_);
  // Pruning the whole map on every call made building an upstream of n endpoints O(n^2)
  // (seconds at 5000): prune when the map has doubled since the last prune instead.
  if (endpoints_.size() >= prune_at_) {
    std::erase_if(endpoints_, [](const auto& entry) { return entry.second.expired(); });
    prune_at_ = std::max<size_t>(kMinPruneAt, 2 * endpoints_.size());
  }
  auto& slot = endpoints_[{upstream, address}];
  if (auto alive = slot.lock()) return alive;
  // Not make_shared: the cells go back to the heap at the last release, not when the
  // registry prunes the weak_ptr.
  std::shared_ptr<EndpointMetrics> fresh(new EndpointMetrics(hubs_));
  slot = fresh;
  return fresh;
}

void Registry::attachHubs(std::vector<core::Hub*> hubs) {
  std::lock_guard lock(mu_);
  for (core::Hub* hub : hubs) {
    auto& lag = loop_lag_[hub->id()];
    if (!lag) lag = std::make_unique<Histogram>(1, kLoopLagBuckets);
    Histogram* histogram = lag.get();
    hub->post([hub, histogram] {
      hub->setLoopLagObserver([histogram](double seconds) { histogram->observe(0, seconds); });
    });
  }
  hubs_attached_ = std::move(hubs);
}

void Registry::configReloaded(bool success) {
  reloads_[success ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
  if (success) last_reload_success_.store(unixNow(), std::memory_order_relaxed);
}

std::vector<MetricFamily> Registry::Collect() const {
  using enum FamilyId;
  FamilySet out;
  out.gauge(build_info, {{"version", version_}}, 1);

  std::lock_guard lock(mu_);
  // The families of each scope, as metrics/family_list.h declares them.
  for (const auto& [name, l] : listeners_) {
    const Labels by{{"listener", name}};
#define GREENLB_LISTENER(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, out.add(FamilyId::id, by, l->field);, , , , , )
    GREENLB_METRIC_FAMILIES(GREENLB_LISTENER)
#undef GREENLB_LISTENER
    for (const auto& [route, count] : l->rateLimitedCounts()) {
      out.counter(rate_limited, {{"listener", name}, {"route", route}},
                  static_cast<double>(count));
    }
    if (l->hasTls()) {
#define GREENLB_TLS(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, , out.add(FamilyId::id, by, l->field);, , , , )
      GREENLB_METRIC_FAMILIES(GREENLB_TLS)
#undef GREENLB_TLS
      for (auto& [cert, expiry] : l->certificates()) {
        out.gauge(tls_certificate_expiry, {{"listener", name}, {"name", cert}}, expiry);
      }
    }
  }

  for (const auto& [key, r] : requests_) {
    // Every listener gets request metrics for every upstream (routes may reach any of
    // them); only pairs that saw a request are exported, or the series would grow as
    // listeners x upstreams x buckets whatever the traffic.
    if (!r->counted()) continue;
    const Labels by{{"listener", key.first}, {"upstream", key.second}};
#define GREENLB_REQUEST(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, , , out.add(FamilyId::id, by, r->field);, , , )
    GREENLB_METRIC_FAMILIES(GREENLB_REQUEST)
#undef GREENLB_REQUEST
  }

  for (const auto& [name, u] : upstreams_) {
    const Labels by{{"upstream", name}};
#define GREENLB_UPSTREAM(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, , , , out.add(FamilyId::id, by, u->field);, , )
    GREENLB_METRIC_FAMILIES(GREENLB_UPSTREAM)
#undef GREENLB_UPSTREAM
  }

  const bool per_endpoint = perEndpointMetrics();
  for (auto it = endpoints_.begin(); it != endpoints_.end();) {
    std::shared_ptr<EndpointMetrics> e = it->second.lock();
    if (!e) {
      it = endpoints_.erase(it);
      continue;
    }
    if (per_endpoint) {
      const Labels by{{"upstream", it->first.first}, {"endpoint", it->first.second}};
#define GREENLB_ENDPOINT(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, , , , , out.add(FamilyId::id, by, e->field);, )
      GREENLB_METRIC_FAMILIES(GREENLB_ENDPOINT)
#undef GREENLB_ENDPOINT
    }
    ++it;
  }

  for (core::Hub* hub : hubs_attached_) {
    const Labels by{{"hub", std::to_string(hub->id())}};
    out.gauge(hub_fibers, by,
              static_cast<double>(hub->counters().fibers.load(std::memory_order_relaxed)));
    out.add(hub_loop_lag, by, *loop_lag_.at(hub->id()));
  }

  out.counter(config_reloads, {{"result", "success"}},
              static_cast<double>(reloads_[0].load(std::memory_order_relaxed)));
  out.counter(config_reloads, {{"result", "failure"}},
              static_cast<double>(reloads_[1].load(std::memory_order_relaxed)));
  out.gauge(config_last_reload_success, {}, last_reload_success_.load(std::memory_order_relaxed));
  return std::move(out).take();
}

std::vector<MetricFamily> Registry::collectAll() const {
  std::vector<MetricFamily> all = Collect();
  for (std::vector<MetricFamily> more : {extra_->Collect(), process_.Collect()}) {
    for (MetricFamily& f : more) {
      if (!f.metric.empty()) all.push_back(std::move(f));
    }
  }
  return all;
}

std::string Registry::serialize(bool openmetrics) const {
  return serializeFamilies(collectAll(), openmetrics);
}

}  // namespace greenlb::metrics
