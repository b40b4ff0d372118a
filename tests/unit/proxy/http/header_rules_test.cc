// A route's header rules and prefix rewrite applied by the HTTP/1.1 head writers
// (docs/proxying.md, "Header rules and prefix rewrite"): compiled from the config once,
// expanded into the head being written.
#include "proxy/http/header_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/http/head_writer.h"
#include "tests/unit/proxy/http/head_writer_helpers.h"

namespace greenlb::proxy::http {
namespace {

using conf::HeaderVariable;

RuleVars someVars() {
  RuleVars v;
  v[HeaderVariable::client_ip] = "10.0.0.7";
  v[HeaderVariable::request_id] = "rid-1";
  v[HeaderVariable::listener] = "web";
  v[HeaderVariable::upstream] = "api";
  return v;
}

std::string expanded(const HeaderRules& rules, size_t i, const RuleVars& vars) {
  std::string out;
  rules.expand(rules.field(i), vars, [&](std::string_view s) { out += s; });
  EXPECT_EQ(out.size(), rules.valueSize(rules.field(i), vars));
  return out;
}

TEST(HeaderRules, CompilesNamesAndTemplates) {
  conf::HeaderRulesConfig c;
  c.set = {{"X-Env", "prod"}, {"X-Forwarded-For", "${client_ip}"}};
  c.add = {{"Via", "${listener}/${upstream} $$ ${request_id}"}};
  c.remove = {"X-Debug"};
  HeaderRules rules(c);
  ASSERT_EQ(rules.fieldCount(), 3u);
  EXPECT_EQ(rules.field(0).name, "X-Env");
  EXPECT_EQ(rules.field(0).lower, "x-env");
  EXPECT_EQ(rules.field(2).name, "Via");
  RuleVars vars = someVars();
  EXPECT_EQ(expanded(rules, 0, vars), "prod");
  EXPECT_EQ(expanded(rules, 1, vars), "10.0.0.7");
  EXPECT_EQ(expanded(rules, 2, vars), "web/api $ rid-1");
  // Removed and set names are dropped, whatever their case; added ones are not.
  EXPECT_TRUE(rules.drops("x-debug"));
  EXPECT_TRUE(rules.drops("X-ENV"));
  EXPECT_FALSE(rules.drops("via"));
  EXPECT_TRUE(rules.drops(HeaderId::x_forwarded_for));
  EXPECT_FALSE(rules.drops(HeaderId::x_request_id));
  EXPECT_FALSE(rules.drops(HeaderId::other));
  EXPECT_TRUE(HeaderRules().empty());
  HeaderRules copy = rules;  // offsets, not views: copies stay valid
  EXPECT_EQ(expanded(copy, 2, vars), "web/api $ rid-1");
}

TEST(HeaderRules, PathOffset) {
  EXPECT_EQ(pathOffset("/a?b"), 0u);
  EXPECT_EQ(pathOffset("http://h:80/a"), 11u);
  EXPECT_EQ(pathOffset("http://h"), 8u);
  EXPECT_EQ(pathOffset("*"), 1u);
}

TEST(HeaderRules, RequestSetAddRemoveAfterTheProxysOwnFields) {
  conf::HeaderRulesConfig c;
  c.set = {{"X-Env", "prod"}, {"X-Request-Id", "r-${request_id}"}};
  c.add = {{"Accept", "text/plain"}};
  c.remove = {"X-Debug", "X-Forwarded-Proto"};
  HeaderRules rules(c);
  RuleVars vars = someVars();
  ForwardInfo info;
  info.client_ip = "10.0.0.7";
  info.proto = "http";
  info.request_id = "rid-1";
  info.rules = &rules;
  info.vars = &vars;
  EXPECT_EQ(testing::upstreamHead(
                "GET /a HTTP/1.1\r\nHost: h\r\nx-env: dev\r\nX-ENV: test\r\nX-Debug: 1\r\n"
                "Accept: */*\r\nX-Request-Id: from-client\r\n\r\n",
                info),
            "GET /a HTTP/1.1\r\n"
            "Host: h\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Host: h\r\n"
            "X-Env: prod\r\n"
            "X-Request-Id: r-rid-1\r\n"
            "Accept: text/plain\r\n"
            "\r\n");
}

TEST(HeaderRules, PrefixRewriteKeepsTheQuery) {
  ForwardInfo info;
  info.rewrite = {5, "/"};  // "/api/" -> "/"
  EXPECT_EQ(testing::upstreamHead("GET /api/users?id=1&x=/api/ HTTP/1.1\r\nHost: h\r\n\r\n", info),
            "GET /users?id=1&x=/api/ HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: h\r\n\r\n");
  info.rewrite = {4, "/v2/internal"};  // "/api" -> "/v2/internal"
  EXPECT_EQ(testing::upstreamHead("GET http://h/api/x HTTP/1.1\r\nHost: h\r\n\r\n", info),
            "GET http://h/v2/internal/x HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: h\r\n\r\n");
}

TEST(HeaderRules, ResponseRules) {
  conf::HeaderRulesConfig c;
  c.set = {{"Cache-Control", "no-store"}};
  c.add = {{"X-Served-By", "${upstream}"}};
  c.remove = {"Server", "x-request-id"};
  HeaderRules rules(c);
  RuleVars vars = someVars();
  ResponseInfo info;
  info.request_id = "rid-1";
  info.rules = &rules;
  info.vars = &vars;
  EXPECT_EQ(testing::clientHead("HTTP/1.1 200 OK\r\nServer: nginx\r\nCache-Control: max-age=9\r\n"
                                "Content-Length: 2\r\n\r\n",
                                info),
            "HTTP/1.1 200 OK\r\n"
            "Content-Length: 2\r\n"
            "Cache-Control: no-store\r\n"
            "X-Served-By: api\r\n"
            "\r\n");
}

}  // namespace
}  // namespace greenlb::proxy::http
