#include "balancer/picker.h"

#include "balancer/round_robin.h"

namespace greenlb::balancer {

std::unique_ptr<Picker> makePicker(conf::Balance balance, size_t hub, uint64_t seed) {
  (void)seed;
  switch (balance) {
    case conf::Balance::round_robin:
    default:
      return std::make_unique<RoundRobinPicker>(hub);
  }
}

}  // namespace greenlb::balancer
