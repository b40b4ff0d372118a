// Every greenlb_* metric family: name, type and help text, in exposition order
// (docs/observability.md, "Metric families"), made from the one declaration in
// metrics/family_list.h.
//
// One table, so the exposition, the tests and the docs cannot disagree on a name.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "metrics/family_fields.h"
#include "metrics/family_list.h"
#include "prometheus/metric_type.h"

namespace greenlb::metrics {

#define GREENLB_FAMILY_ID(id, scope, Field, field, name, help) id,
enum class FamilyId : size_t {
  GREENLB_METRIC_FAMILIES(GREENLB_FAMILY_ID)  //
  count_,                                     // not a family: the number of them
};
#undef GREENLB_FAMILY_ID

struct FamilyInfo {
  FamilyId id;
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
  bool per_endpoint;  // carries the endpoint label (dropped when per_endpoint_metrics is off)
};

inline constexpr size_t kFamilyCount = index(FamilyId::count_);

// Indexed by FamilyId.
#define GREENLB_FAMILY_INFO(id, scope, Field, field, name, help) \
  FamilyInfo{FamilyId::id, name, ExposedAs<Field>::type, help,   \
             GREENLB_METRIC_SCOPE(scope, false, false, false, false, true, false)},
inline constexpr std::array<FamilyInfo, kFamilyCount> kFamilies = {
    GREENLB_METRIC_FAMILIES(GREENLB_FAMILY_INFO)};
#undef GREENLB_FAMILY_INFO

constexpr const FamilyInfo& familyInfo(FamilyId id) {
  return kFamilies[index(id)];
}

}  // namespace greenlb::metrics
