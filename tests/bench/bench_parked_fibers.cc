// RSS of fibers parked in a socket read, reported in KiB per fiber.
//
// 100,000 fibers do not fit in one process here: each parked read needs an fd (20,000 per
// process, a hard limit) and each fiber stack two kernel VMAs (vm.max_map_count 65,530).
// So the fibers are spread over several processes, each measuring its own RSS growth.
//
//   bench_parked_fibers [total_fibers=100000] [fibers_per_process=16000]
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "core/socket.h"

namespace {

using namespace greenlb::core;

long rssKiB() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib;
      in >> kib;
      return kib;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

// Parks `count` fibers in reads and returns the RSS growth they caused, in KiB.
long measureChild(int count) {
  long delta = -1;
  RuntimeOptions o;
  o.hubs = 1;
  o.max_stacks = static_cast<uint64_t>(count) + 16;
  Runtime rt(o);
  rt.run([&] {
    std::vector<std::unique_ptr<Stream>> ends;
    ends.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count / 2; ++i) {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        std::perror("socketpair");
        return;
      }
      ends.push_back(std::make_unique<Stream>(sv[0]));
      ends.push_back(std::make_unique<Stream>(sv[1]));
    }
    long before = rssKiB();
    Hub& hub = currentHub();
    for (auto& end : ends) {
      Stream* s = end.get();
      if (hub.spawnDetached("parked", [s] {
            char c;
            (void)s->readSome(&c, 1);
          }) == nullptr) {
        std::fprintf(stderr, "spawn refused\n");
        return;
      }
    }
    yield();  // every fiber runs once and parks in its read
    delta = rssKiB() - before;
    for (auto& end : ends) end->close();  // wakes them: they finish
    yield();
  });
  return delta;
}

}  // namespace

int main(int argc, char** argv) {
  long total = argc > 1 ? std::atol(argv[1]) : 100000;
  long per = argc > 2 ? std::atol(argv[2]) : 16000;
  per -= per % 2;
  std::vector<std::pair<pid_t, int>> children;
  for (long started = 0; started < total; started += per) {
    long n = std::min(per, total - started);
    n -= n % 2;
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      long delta = measureChild(static_cast<int>(n));
      std::string line = std::to_string(n) + " " + std::to_string(delta) + "\n";
      (void)!write(fds[1], line.data(), line.size());
      _exit(delta < 0 ? 1 : 0);
    }
    close(fds[1]);
    children.emplace_back(pid, fds[0]);
  }
  long fibers = 0, kib = 0;
  bool ok = true;
  for (auto [pid, fd] : children) {
    char buf[64] = {};
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    int status = 0;
    waitpid(pid, &status, 0);
    long n = 0, d = 0;
    if (r <= 0 || std::sscanf(buf, "%ld %ld", &n, &d) != 2 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      ok = false;
      continue;
    }
    fibers += n;
    kib += d;
  }
  std::printf("parked fibers: %ld in %zu processes, RSS growth %ld KiB, %.2f KiB per fiber\n",
              fibers, children.size(), kib, fibers > 0 ? static_cast<double>(kib) / fibers : 0.0);
  return ok ? 0 : 1;
}
