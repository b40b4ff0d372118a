// Where the parts of a Config came from in its file, so that the checks which relate
// several values (conf/validate.h) can point at the right one. The loader fills it while
// it reads; it lives only for one load.
//
// A position is set when the key is present, whether or not its value was valid; an
// invalid value is left at its default in the Config (addresses and names empty), which
// the checks skip so that one mistake is reported once.
#pragma once

#include <vector>

#include "conf/diagnostics.h"

namespace greenlb::conf {

struct RouteSource {
  SourcePos header;
  SourcePos upstream;
};

struct ListenerSource {
  SourcePos header;
  SourcePos name;
  SourcePos listen;
  SourcePos upstream;
  std::vector<RouteSource> routes;  // parallel to ListenerConfig::routes
};

struct UpstreamSource {
  SourcePos header;
  SourcePos name;
  SourcePos balance;
  SourcePos endpoints;
  SourcePos dns;
  SourcePos hash_key;
  std::vector<SourcePos> endpoint_items;  // parallel to UpstreamConfig::endpoints
};

struct SourceMap {
  SourcePos admin_listen;                 // unset: the default address
  std::vector<ListenerSource> listeners;  // parallel to Config::listeners
  std::vector<UpstreamSource> upstreams;  // parallel to Config::upstreams
};

}  // namespace greenlb::conf
