// Smooth weighted round robin (nginx's algorithm) over whichever candidates a caller offers:
// every round adds each candidate's weight to its running score, takes the highest, and
// subtracts the round's total from it. Weights 5,1,1 give a a b a c a a: interleaved,
// never bursts. round_robin uses it over every eligible endpoint; least_conn over the
// endpoints tied for the lowest load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace greenlb::balancer {

class SmoothWrr {
 public:
  // Forgets the scores: `n` candidates, all at zero. Allocates (membership changes only).
  void reset(size_t n) { current_.assign(n, 0); }
  size_t size() const { return current_.size(); }

  // One round. `weight(i)` is candidate i's weight this round, 0 to leave it out.
  // Returns the chosen index, or -1 when every weight was 0.
  template <class WeightOf>
  int next(WeightOf&& weight) {
    int best = -1;
    int64_t total = 0;
    for (size_t i = 0; i < current_.size(); ++i) {
      auto w = static_cast<int64_t>(weight(i));
      if (w == 0) continue;
      current_[i] += w;
      total += w;
      if (best < 0 || current_[i] > current_[static_cast<size_t>(best)]) best = static_cast<int>(i);
    }
    if (best >= 0) current_[static_cast<size_t>(best)] -= total;
    return best;
  }

 private:
  std::vector<int64_t> current_;
};

}  // namespace greenlb::balancer
