// The /status document (docs/observability.md): version, generation, draining, listeners,
// upstreams with their endpoints' health, ejection and in-flight requests, and each hub's
// fibers and loop lag. Built on hub 0 from the generation in force there.
#pragma once

#include <string>

namespace greenlb::proxy {

class Server;

std::string statusJson(Server& server, const std::string& version);

}  // namespace greenlb::proxy
