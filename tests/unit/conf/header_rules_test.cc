// A route's header rules and prefix rewrite (docs/configuration.md,
// "[listener.route.request_headers] and [listener.route.response_headers]"): what loads,
// and every refusal with the position `greenlb --check` prints.
#include "conf/header_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conf/loader.h"
#include "tests/unit/conf/conf_test_util.h"

namespace greenlb::conf {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using testing::mustLoad;
using testing::toml;

// A listener whose one route's lines follow from line 6; the upstream comes after them.
std::string withRoute(std::string_view route_lines) {
  return std::string(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
[[listener.route]]
upstream = "app"
)")) + std::string(route_lines) +
         "\n[[upstream]]\nname = \"app\"\nendpoints = [\"127.0.0.1:9001\"]\n";
}

TEST(HeaderRules, InlineTablesLoad) {
  auto config = mustLoad(withRoute(R"(path_prefix = "/api/"
rewrite_prefix = "/"
request_headers = { set = { "X-Env" = "prod", "X-Who" = "${client_ip}" }, add = { "Via" = "g" }, remove = ["X-Debug"] }
response_headers = { remove = ["Server"] })"));
  const RouteConfig& r = config->listeners[0].routes[0];
  EXPECT_EQ(r.rewrite_prefix, "/");
  using Fields = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r.request_headers.set, (Fields{{"X-Env", "prod"}, {"X-Who", "${client_ip}"}}));
  EXPECT_EQ(r.request_headers.add, (Fields{{"Via", "g"}}));
  EXPECT_EQ(r.request_headers.remove, std::vector<std::string>{"X-Debug"});
  EXPECT_EQ(r.response_headers.remove, std::vector<std::string>{"Server"});
  EXPECT_TRUE(r.response_headers.set.empty());
}

TEST(HeaderRules, TableFormLoadsTheSame) {
  auto inline_form = mustLoad(
      withRoute(R"(request_headers = { set = { "X-Env" = "prod" }, remove = ["X-Debug"] })"));
  auto table_form = mustLoad(withRoute(R"(
[listener.route.request_headers]
remove = ["X-Debug"]
[listener.route.request_headers.set]
"X-Env" = "prod")"));
  EXPECT_EQ(inline_form->listeners[0].routes[0], table_form->listeners[0].routes[0]);
}

TEST(HeaderRules, HopByHopAndFramingHeadersAreRefused) {
  EXPECT_THAT(
      errorsOf(withRoute(
          R"(request_headers = { set = { "Connection" = "x" }, add = { "transfer-encoding" = "chunked" }, remove = ["Content-Length", "TE", "Host", "Upgrade"] }
response_headers = { remove = ["Keep-Alive", "Trailer", "Proxy-Connection", "HTTP2-Settings"] })")),
      ElementsAre(
          "6:29: header \"Connection\" in 'set' is a hop-by-hop or framing header, which only "
          "the proxy writes",
          "6:59: header \"transfer-encoding\" in 'add' is a hop-by-hop or framing header, which "
          "only the proxy writes",
          "6:104: header \"Content-Length\" in 'remove' is a hop-by-hop or framing header, which "
          "only the proxy writes",
          "6:122: header \"TE\" in 'remove' is a hop-by-hop or framing header, which only the "
          "proxy writes",
          "6:128: header \"Host\" in 'remove' is a hop-by-hop or framing header, which only the "
          "proxy writes",
          "6:136: header \"Upgrade\" in 'remove' is a hop-by-hop or framing header, which only "
          "the proxy writes",
          "7:32: header \"Keep-Alive\" in 'remove' is a hop-by-hop or framing header, which "
          "only the proxy writes",
          "7:46: header \"Trailer\" in 'remove' is a hop-by-hop or framing header, which only "
          "the proxy writes",
          "7:57: header \"Proxy-Connection\" in 'remove' is a hop-by-hop or framing header, "
          "which only the proxy writes",
          "7:77: header \"HTTP2-Settings\" in 'remove' is a hop-by-hop or framing header, which "
          "only the proxy writes"));
}

TEST(HeaderRules, PseudoHeadersAndBadNamesAreRefused) {
  EXPECT_THAT(errorsOf(withRoute(
                  R"(request_headers = { set = { ":path" = "/x", "X Y" = "z" }, remove = [""] })")),
              ElementsAre("6:29: header \":path\" in 'set' is an HTTP/2 pseudo-header, which only "
                          "the proxy writes",
                          "6:45: header \"X Y\" in 'set' is not a header name (letters, digits "
                          "and !#$%&'*+-.^_`|~ only)",
                          "6:70: header \"\" in 'remove' is empty"));
}

TEST(HeaderRules, UnknownVariablesAreRefused) {
  EXPECT_THAT(
      errorsOf(withRoute(
          R"(request_headers = { set = { "X-A" = "${clientip}", "X-B" = "a ${upstream" } })")),
      ElementsAre("6:37: the value of header \"X-A\" uses unknown variable \"${clientip}\"; "
                  "known: ${client_ip}, ${request_id}, ${listener} or ${upstream}",
                  "6:60: the value of header \"X-B\" has an unterminated variable \"${upstream\" "
                  "(write \"$$\" for a literal \"$\")"));
}

TEST(HeaderRules, BadValuesAreRefused) {
  EXPECT_THAT(
      errorsOf(withRoute(
          R"(response_headers = { add = { "X-A" = "a\r\nInjected: 1", "X-B" = " pad", "X-C" = 5 } })")),
      ElementsAre("6:38: the value of header \"X-A\" contains a control character (no "
                  "CR, LF or NUL in a header value)",
                  "6:66: the value of header \"X-B\" has whitespace at its start or end, "
                  "which HTTP would strip",
                  "6:82: the value of header \"X-C\" must be a string, not an integer; "
                  "put it in quotes"));
}

TEST(HeaderRules, AHeaderIsInOneListOnce) {
  EXPECT_THAT(
      errorsOf(withRoute(
          R"(request_headers = { set = { "X-A" = "1", "x-a" = "2" }, remove = ["X-A"] })")),
      ElementsAre(::testing::StartsWith("6:42: header \"x-a\" in 'set' is already named"),
                  ::testing::StartsWith("6:67: header \"X-A\" in 'remove' is already named")));
}

TEST(HeaderRules, WrongTypes) {
  EXPECT_THAT(
      errorsOf(withRoute(R"(request_headers = { set = ["X-A"], remove = "X-B", sett = {} }
response_headers = "Server"
rewrite_prefix = 1)")),
      ElementsAre(
          "6:27: 'set' must be a table of header names to values, such as { \"X-Env\" = "
          "\"prod\" }, not an array",
          "6:45: 'remove' must be an array of strings, not a string",
          "6:52: unknown key 'sett' in [listener.route.request_headers]; did you mean 'set'?",
          "7:20: 'response_headers' must be a table, not a string",
          "8:18: 'rewrite_prefix' must be a string, not an integer; put it in quotes"));
}

TEST(HeaderRules, RewritePrefixNeedsAPathPrefix) {
  EXPECT_THAT(errorsOf(withRoute(R"(rewrite_prefix = "/v2/")")),
              ElementsAre("6:18: 'rewrite_prefix' replaces the route's 'path_prefix': set "
                          "'path_prefix' too"));
  EXPECT_THAT(errorsOf(withRoute("path_prefix = \"/a/\"\nrewrite_prefix = \"v2\"")),
              ElementsAre("7:18: 'rewrite_prefix': path \"v2\" must start with \"/\""));
}

TEST(HeaderRules, TooManyOrTooLongHeaders) {
  std::string many = "[listener.route.request_headers.add]\n";
  for (int i = 0; i <= 32; ++i) many += "\"X-" + std::to_string(i) + "\" = \"v\"\n";
  EXPECT_THAT(errorsOf(withRoute(many)),
              ElementsAre("6:1: 'set' and 'add' write at most 32 headers together"));
  std::string big = "request_headers = { set = { \"X-A\" = \"";
  for (int i = 0; i < 64; ++i) big += "${request_id}";
  big += "\" } }";
  EXPECT_THAT(errorsOf(withRoute(big)), ElementsAre(::testing::HasSubstr("take up to 8199 bytes")));
}

TEST(HeaderRules, Templates) {
  std::vector<std::string> pieces;
  auto literal = [&](std::string_view s) {
    std::string quoted(1, '\'');  // appended: "'" + string trips GCC 12's -Wrestrict
    quoted += s;
    quoted += '\'';
    pieces.push_back(std::move(quoted));
  };
  auto variable = [&](HeaderVariable v) {
    pieces.push_back(std::string(kHeaderVariableNames[static_cast<size_t>(v)]));
  };
  EXPECT_EQ(
      splitHeaderTemplate("a ${client_ip}-${request_id}$$x $y ${listener}", literal, variable), "");
  EXPECT_THAT(pieces,
              ElementsAre("'a '", "client_ip", "'-'", "request_id", "'$'", "'x $y '", "listener"));
  EXPECT_EQ(headerTemplateProblem("${upstream}"), "");
  EXPECT_EQ(headerTemplateProblem("$"), "");
  EXPECT_NE(headerTemplateProblem("${}"), "");
  EXPECT_EQ(headerTemplateMaxBytes("ab${request_id}${listener}"), 2u + 128u + 64u);
}

}  // namespace
}  // namespace greenlb::conf
