// A small reader of text expositions for the tests: sample lines become
// {"name{labels}" -> value}, comment lines are kept apart.
#pragma once

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace greenlb::metrics::testing {

struct Exposition {
  std::map<std::string, double> samples;  // "name{l1=\"v\",...}" exactly as written
  std::vector<std::string> comments;      // "# HELP ...", "# TYPE ...", ...
  std::vector<std::string> lines;

  bool has(const std::string& series) const { return samples.count(series) != 0; }
  double at(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }
  // Whether any sample's name (the part before '{') is `name`.
  bool hasName(const std::string& name) const {
    for (const auto& [series, value] : samples) {
      if (series.substr(0, series.find('{')) == name) return true;
    }
    return false;
  }
  // Whether any sample series starts with `prefix`.
  bool hasPrefix(const std::string& prefix) const {
    for (const auto& [series, value] : samples) {
      if (series.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }
};

inline double parseValue(const std::string& text) {
  if (text == "+Inf") return 1.0 / 0.0;
  if (text == "-Inf") return -1.0 / 0.0;
  return std::strtod(text.c_str(), nullptr);
}

// Label values in our tests hold no spaces, so the value is after the last space.
inline Exposition parse(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    e.lines.push_back(line);
    if (line.empty()) continue;
    if (line[0] == '#') {
      e.comments.push_back(line);
      continue;
    }
    size_t space = line.rfind(' ');
    e.samples[line.substr(0, space)] = parseValue(line.substr(space + 1));
  }
  return e;
}

}  // namespace greenlb::metrics::testing
