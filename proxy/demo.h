// `greenlb demo` (docs/operations.md, "Command line"): three demo upstream HTTP servers
// in-process on 127.0.0.1:9001-9003 and the proxy in front of them on 127.0.0.1:8080 (admin
// 127.0.0.1:9901), with the curl lines to try printed once everything listens.
#pragma once

#include <string>

namespace greenlb::proxy {

int runDemo(const std::string& version);

}  // namespace greenlb::proxy
