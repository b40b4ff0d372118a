// "Did you mean ...?" for misspelt keys and enum values.
#pragma once

#include <string_view>
#include <vector>

namespace greenlb::conf {

// Edit distance counting insertions, deletions, substitutions and swaps of two adjacent
// characters (optimal string alignment), ignoring ASCII case.
size_t editDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a typo of it (at most a
// third of the word's length, and at least one edit allowed); empty otherwise. Ties go to
// the earliest candidate.
std::string_view closestMatch(std::string_view word,
                              const std::vector<std::string_view>& candidates);

}  // namespace greenlb::conf
