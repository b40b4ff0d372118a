// The rules that relate several values of a config: unique names and listen addresses,
// references from listeners and routes to upstreams, and keys that need or exclude
// each other. Single values are checked by the loader as it reads them.
#pragma once

#include "conf/config.h"
#include "conf/diagnostics.h"
#include "conf/source_map.h"

namespace greenlb::conf {

void validateConfig(const Config& config, const SourceMap& sources, Diagnostics& diags);

}  // namespace greenlb::conf
