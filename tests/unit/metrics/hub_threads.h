// Test helper: counting from real threads, one per hub index, with a scrape racing them.
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace greenlb::metrics::testing {

// Runs count(hub) on `hubs` threads, one per hub index, while scrape() runs in a loop on
// another thread until they are done (the scrape racing the writers, as in production).
template <class Count, class Scrape>
void countOnHubThreads(size_t hubs, Count count, Scrape scrape) {
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) scrape();
  });
  std::vector<std::thread> writers;
  for (size_t hub = 0; hub < hubs; ++hub) writers.emplace_back([&count, hub] { count(hub); });
  for (auto& t : writers) t.join();
  done = true;
  scraper.join();
}

}  // namespace greenlb::metrics::testing
