#include "proxy/http/request_id.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace greenlb::proxy::http {
namespace {

struct IdGenerator {
  uint64_t state = 0;
  bool seeded = false;

  void seed() {
    uint64_t s = 0;
    ssize_t n;
    do {
      n = getrandom(&s, sizeof s, 0);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof s)) {
      // No entropy source (ancient kernel, seccomp): ids only need to be unique, so a
      // mix of time, thread and address still serves.
      s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
          std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
          reinterpret_cast<uintptr_t>(this);
    }
    state = s;
    seeded = true;
  }

  // splitmix64: a bijection of a 64-bit counter, so a thread never repeats an id, and
  // threads start from independent random points.
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

thread_local IdGenerator t_generator;

void putHex(uint64_t v, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[v & 0xf];
    v >>= 4;
  }
}

}  // namespace

size_t generateRequestId(std::span<char> out) {
  if (out.size() < kRequestIdLength) return 0;
  IdGenerator& g = t_generator;
  if (!g.seeded) g.seed();
  putHex(g.next(), out.data());
  putHex(g.next(), out.data() + 16);
  return kRequestIdLength;
}

bool isValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

}  // namespace greenlb::proxy::http
