#include "balancer/picker.h"

#include "balancer/least_conn.h"
#include "balancer/maglev.h"
#include "balancer/p2c.h"
#include "balancer/round_robin.h"
#include "balancer/weighted_random.h"

namespace greenlb::balancer {

std::unique_ptr<Picker> makePicker(conf::Balance balance, size_t hub, uint64_t seed) {
  switch (balance) {
    case conf::Balance::least_conn:
      return std::make_unique<LeastConnPicker>(hub);
    case conf::Balance::p2c:
      return std::make_unique<P2cPicker>(seed);
    case conf::Balance::random:
      return std::make_unique<WeightedRandomPicker>(seed);
    case conf::Balance::maglev:
      return std::make_unique<MaglevPicker>(seed);
    case conf::Balance::round_robin:
      break;
  }
  return std::make_unique<RoundRobinPicker>(hub);
}

}  // namespace greenlb::balancer
