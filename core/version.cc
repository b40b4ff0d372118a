#include "core/version.h"

#include <event2/event.h>

namespace greenlb::core {

std::string libeventVersion() { return event_get_version(); }

}  // namespace greenlb::core
