// The other classic: fetch several URLs at once with a GreenPool, each under a Timeout.
//
//   example_fetcher HOST:PORT/PATH...       (plain http, one GET each)
// Prints "STATUS-LINE BYTES URL" per URL, or "error: ..." when it failed or timed out.
#include <cstdio>
#include <string>
#include <vector>

#include "core/dns.h"
#include "core/green_pool.h"
#include "core/runtime.h"
#include "core/socket.h"
#include "core/timeout.h"

using namespace greenlb::core;

std::string fetch(const std::string& url) {
  size_t slash = url.find('/');
  std::string hostport = url.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  size_t colon = hostport.rfind(':');
  std::string host = hostport.substr(0, colon);
  auto port = static_cast<uint16_t>(colon == std::string::npos ? 80 : std::stoi(hostport.substr(colon + 1)));

  Timeout deadline(std::chrono::seconds(5));  // covers DNS, connect, request and response
  Result<std::vector<SocketAddress>> addrs = resolve(host, port);
  if (!addrs.ok()) return std::string("error: resolve: ") + addrs.error().message();
  Result<Stream> conn = Stream::connect(addrs->front());
  if (!conn.ok()) return std::string("error: connect: ") + conn.error().message();
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  if (!conn->writeAll(request.data(), request.size()).ok()) return "error: write";
  std::string response;
  char buf[4096];
  for (;;) {
    Result<size_t> n = conn->readSome(buf, sizeof buf);
    if (!n.ok()) return std::string("error: read: ") + n.error().message();
    if (*n == 0) break;
    response.append(buf, *n);
  }
  std::string status = response.substr(0, response.find("\r\n"));
  return status + " " + std::to_string(response.size());
}

int main(int argc, char** argv) {
  std::vector<std::string> urls(argv + 1, argv + argc);
  std::vector<std::string> results(urls.size());
  Runtime runtime(RuntimeOptions{.hubs = 1});
  runtime.run([&] {
    GreenPool pool(4);  // at most four fetches in flight
    for (size_t i = 0; i < urls.size(); ++i) {
      (void)pool.spawn([&, i] { results[i] = fetch(urls[i]); });
    }
    (void)pool.waitAll();
  });
  int failed = 0;
  for (size_t i = 0; i < urls.size(); ++i) {
    std::printf("%s %s\n", results[i].c_str(), urls[i].c_str());
    failed += results[i].rfind("error", 0) == 0;
  }
  return failed == 0 ? 0 : 1;
}
