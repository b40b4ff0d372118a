// The /status/history document (docs/observability.md, "History"): the newest samples of
// every listener, upstream and endpoint, one array per field, oldest first.
#pragma once

#include <cstddef>
#include <string>

#include "metrics/history.h"

namespace greenlb::proxy {

// At most the newest `last` samples of each series (all that are kept when larger).
std::string historyJson(const metrics::History& history, size_t last);

}  // namespace greenlb::proxy
