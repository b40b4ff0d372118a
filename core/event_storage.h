// Room for one libevent `struct event` inside an owning object, so that no public core
// header includes libevent (only core/ sees it: docs/architecture.md, "Layers") and no
// wait allocates an event.
#pragma once

namespace greenlb::core::detail {

struct EventStorage {
  alignas(8) unsigned char bytes[128];
};

}  // namespace greenlb::core::detail
