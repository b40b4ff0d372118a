// Costs of the HTTP/1.1 codec on the hot path: parsing a typical request head, a
// response head, de-chunking, rewriting heads, generating request ids. Each benchmark
// also reports heap allocations per iteration, which must stay 0 (docs/architecture.md,
// "House rules", 3).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "proxy/http/chunked_decoder.h"
#include "proxy/http/error_response.h"
#include "proxy/http/head_writer.h"
#include "proxy/http/request_id.h"
#include "proxy/http/request_parser.h"
#include "proxy/http/response_parser.h"

// Counting replacements of the global allocation functions. GCC sees the inlined free()
// of these replacements as mismatched with new; they are matched by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace greenlb::proxy::http {
namespace {

// A browser-like GET with 8 headers (~480 bytes).
const std::string kGet =
    "GET /api/v1/users/12345/orders?limit=20&offset=40 HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NSJ9.abc\r\n"
    "Connection: keep-alive\r\n"
    "X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"
    "\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 1234\r\n"
    "Cache-Control: no-cache\r\n"
    "Vary: Accept-Encoding\r\n"
    "X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"
    "\r\n";

class AllocationCounter {
 public:
  explicit AllocationCounter(benchmark::State& state)
      : state_(state), start_(g_allocations.load()) {}
  ~AllocationCounter() {
    state_.counters["allocs_per_iter"] =
        benchmark::Counter(static_cast<double>(g_allocations.load() - start_) /
                           static_cast<double>(state_.iterations() == 0 ? 1 : state_.iterations()));
  }

 private:
  benchmark::State& state_;
  uint64_t start_;
};

void BM_ParseRequestGet(benchmark::State& state) {
  auto head = std::make_unique<RequestHead>();
  RequestParser parser;
  AllocationCounter allocs(state);
  for (auto _ : state) {
    parser.reset();
    ParseStatus s = parser.parse(kGet, *head);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(head->header_count);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kGet.size()));
}
BENCHMARK(BM_ParseRequestGet);

// The head arrives in two reads: the second call resumes the end-of-head search.
void BM_ParseRequestGetInTwoReads(benchmark::State& state) {
  auto head = std::make_unique<RequestHead>();
  RequestParser parser;
  const std::string_view first = std::string_view(kGet).substr(0, kGet.size() / 2);
  AllocationCounter allocs(state);
  for (auto _ : state) {
    parser.reset();
    benchmark::DoNotOptimize(parser.parse(first, *head));
    benchmark::DoNotOptimize(parser.parse(kGet, *head));
  }
}
BENCHMARK(BM_ParseRequestGetInTwoReads);

void BM_ParseResponse(benchmark::State& state) {
  auto head = std::make_unique<ResponseHead>();
  ResponseParser parser;
  AllocationCounter allocs(state);
  for (auto _ : state) {
    parser.reset();
    benchmark::DoNotOptimize(parser.parse(kResponse, *head));
  }
}
BENCHMARK(BM_ParseResponse);

void BM_WriteUpstreamRequestHead(benchmark::State& state) {
  auto head = std::make_unique<RequestHead>();
  RequestParser parser;
  parser.parse(kGet, *head);
  ForwardInfo info{.client_ip = "203.0.113.7",
                   .proto = "https",
                   .request_id = "0123456789abcdef0123456789abcdef"};
  char out[4096];
  AllocationCounter allocs(state);
  for (auto _ : state) benchmark::DoNotOptimize(writeUpstreamRequestHead(*head, info, out));
}
BENCHMARK(BM_WriteUpstreamRequestHead);

void BM_WriteClientResponseHead(benchmark::State& state) {
  auto head = std::make_unique<ResponseHead>();
  ResponseParser parser;
  parser.parse(kResponse, *head);
  ResponseInfo info{.request_id = "0123456789abcdef0123456789abcdef"};
  char out[4096];
  AllocationCounter allocs(state);
  for (auto _ : state) benchmark::DoNotOptimize(writeClientResponseHead(*head, info, out));
}
BENCHMARK(BM_WriteClientResponseHead);

// 64 KiB of payload in 4 KiB chunks: the framing cost per body.
void BM_ChunkedDecode64KiB(benchmark::State& state) {
  std::string body;
  const std::string chunk(4096, 'x');
  for (int i = 0; i < 16; ++i) body += "1000\r\n" + chunk + "\r\n";
  body += "0\r\n\r\n";
  AllocationCounter allocs(state);
  for (auto _ : state) {
    ChunkedDecoder d;
    std::string_view in = body;
    size_t payload = 0;
    while (!in.empty()) {
      ChunkedDecoder::Step s = d.next(in);
      payload += s.data.size();
      in.remove_prefix(s.consumed);
      if (s.status != ChunkedDecoder::Status::more) break;
    }
    benchmark::DoNotOptimize(payload);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ChunkedDecode64KiB);

void BM_GenerateRequestId(benchmark::State& state) {
  char out[kRequestIdLength];
  AllocationCounter allocs(state);
  for (auto _ : state) benchmark::DoNotOptimize(generateRequestId(out));
}
BENCHMARK(BM_GenerateRequestId);

void BM_WriteErrorResponse(benchmark::State& state) {
  char out[512];
  AllocationCounter allocs(state);
  for (auto _ : state)
    benchmark::DoNotOptimize(
        writeErrorResponse(502, "0123456789abcdef0123456789abcdef", true, out));
}
BENCHMARK(BM_WriteErrorResponse);

}  // namespace
}  // namespace greenlb::proxy::http
