// Versions of the libraries the runtime is built on, for `greenlb --version`.
#pragma once

#include <string>

namespace greenlb::core {

std::string libeventVersion();

}  // namespace greenlb::core
