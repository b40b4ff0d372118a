// Helpers shared by the head writer tests: a head parsed, then written for the other side.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/head_writer.h"
#include "tests/unit/proxy/http/parse_helpers.h"

namespace greenlb::proxy::http::testing {

// `request` as writeUpstreamRequestHead sends it upstream with `info`.
inline std::string upstreamHead(std::string_view request, const ForwardInfo& info) {
  auto r = parseRequest(request);
  EXPECT_EQ(r.status, ParseStatus::done) << request;
  std::vector<char> buf(8192);
  size_t n = writeUpstreamRequestHead(*r.head, info, buf);
  EXPECT_GT(n, 0u);
  return std::string(buf.data(), n);
}

// `response` as writeClientResponseHead sends it to the client with `info`.
inline std::string clientHead(std::string_view response, const ResponseInfo& info,
                              bool head_request = false) {
  auto r = parseResponse(response, head_request);
  EXPECT_EQ(r.status, ParseStatus::done) << response;
  std::vector<char> buf(8192);
  size_t n = writeClientResponseHead(*r.head, info, buf);
  EXPECT_GT(n, 0u);
  return std::string(buf.data(), n);
}

}  // namespace greenlb::proxy::http::testing
