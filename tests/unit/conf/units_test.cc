// The value grammars: durations, sizes, addresses (conf/units.h), hash keys, retry
// conditions, host patterns, names (conf/value_syntax.h) and typo suggestions.
#include "conf/units.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "conf/suggest.h"
#include "conf/value_syntax.h"

namespace greenlb::conf {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(Duration, ParsesEveryUnitAndCombinations) {
  EXPECT_EQ(parseDuration("250ms").value, milliseconds(250));
  EXPECT_EQ(parseDuration("5s").value, seconds(5));
  EXPECT_EQ(parseDuration("2m").value, minutes(2));
  EXPECT_EQ(parseDuration("1h").value, hours(1));
  EXPECT_EQ(parseDuration("1m30s").value, seconds(90));
  EXPECT_EQ(parseDuration("1h2m3s4ms").value, hours(1) + minutes(2) + seconds(3) + milliseconds(4));
  EXPECT_EQ(parseDuration("0s").value, milliseconds(0));
  EXPECT_EQ(parseDuration("0").value, milliseconds(0));
  EXPECT_EQ(parseDuration("90s").value, seconds(90));  // a unit may exceed the next one up
  EXPECT_EQ(parseDuration("10000h").value, hours(10000));
}

TEST(Duration, RejectsWithAReason) {
  auto why = [](std::string_view text) { return parseDuration(text).error; };
  EXPECT_EQ(why("5"), "has no unit (use ms, s, m or h, e.g. \"250ms\", \"5s\", \"1m30s\")");
  EXPECT_EQ(why("5sec"),
            "has an unknown unit \"sec\" (use ms, s, m or h, e.g. \"250ms\", \"5s\", \"1m30s\")");
  EXPECT_EQ(why("1d"),
            "has an unknown unit \"d\" (use ms, s, m or h, e.g. \"250ms\", \"5s\", \"1m30s\")");
  EXPECT_EQ(why(""), "is empty (use ms, s, m or h, e.g. \"250ms\", \"5s\", \"1m30s\")");
  EXPECT_EQ(why("-5s"), "is negative");
  EXPECT_EQ(why("30s1m"), "must list its units from largest to smallest (h, m, s, ms)");
  EXPECT_EQ(why("1s1s"), "must list its units from largest to smallest (h, m, s, ms)");
  EXPECT_EQ(why("10001h"), "is too long (at most 10000h)");
  EXPECT_EQ(why("99999999999999999999999s"), "is too long (at most 10000h)");
  EXPECT_EQ(why("9999h3600000s"), "is too long (at most 10000h)");
  for (auto bad : {"5 s", " 5s", "1.5s", "s", "5s ", "ms"}) {
    EXPECT_FALSE(parseDuration(bad)) << bad;
  }
}

TEST(Duration, FormatsCanonically) {
  EXPECT_EQ(formatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(formatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(formatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(formatDuration(hours(1)), "1h");
  EXPECT_EQ(formatDuration(milliseconds(3723004)), "1h2m3s4ms");
  for (int64_t ms :
       std::initializer_list<int64_t>{1, 999, 1000, 59999, 60000, 3600001, 36000000000}) {
    EXPECT_EQ(parseDuration(formatDuration(milliseconds(ms))).value, milliseconds(ms)) << ms;
  }
}

TEST(Size, ParsesUnitsAndPlainBytes) {
  EXPECT_EQ(parseSize("16KiB").value, 16 * 1024u);
  EXPECT_EQ(parseSize("1MiB").value, 1024u * 1024);
  EXPECT_EQ(parseSize("1GiB").value, 1024u * 1024 * 1024);
  EXPECT_EQ(parseSize("512B").value, 512u);
  EXPECT_EQ(parseSize("1024").value, 1024u);
  EXPECT_EQ(parseSize("0").value, 0u);
}

TEST(Size, RejectsWithAReason) {
  constexpr std::string_view kUse = " (use B, KiB, MiB or GiB, e.g. \"16KiB\", or an integer)";
  EXPECT_EQ(parseSize("16KB").error, "has an unknown unit \"KB\"" + std::string(kUse));
  EXPECT_EQ(parseSize("16k").error, "has an unknown unit \"k\"" + std::string(kUse));
  EXPECT_EQ(parseSize("").error, "is empty" + std::string(kUse));
  EXPECT_EQ(parseSize("-1KiB").error, "is negative");
  EXPECT_EQ(parseSize("KiB").error, "is not a number followed by a unit" + std::string(kUse));
  EXPECT_EQ(parseSize("1.5MiB").error, "is not a number followed by a unit" + std::string(kUse));
  EXPECT_EQ(parseSize("9999999999GiB").error, "is too large");
}

TEST(Size, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(formatSize(0), "0");
  EXPECT_EQ(formatSize(1000), "1000");
  EXPECT_EQ(formatSize(64 * 1024), "64KiB");
  EXPECT_EQ(formatSize(1536 * 1024), "1536KiB");
  EXPECT_EQ(formatSize(2 * kMiB), "2MiB");
  EXPECT_EQ(formatSize(3 * 1024 * kMiB), "3GiB");
}

TEST(AddressParse, Ipv4NamesAndIpv6) {
  auto v4 = parseAddress("127.0.0.1:8080", false).value;
  ASSERT_TRUE(v4);
  EXPECT_EQ(*v4, (Address{"127.0.0.1", 8080, true}));
  EXPECT_EQ(v4->str(), "127.0.0.1:8080");

  auto v6 = parseAddress("[::1]:443", false).value;
  ASSERT_TRUE(v6);
  EXPECT_EQ(*v6, (Address{"::1", 443, true}));
  EXPECT_EQ(v6->str(), "[::1]:443");

  auto name = parseAddress("app.default.svc.cluster.local:8080", false).value;
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, (Address{"app.default.svc.cluster.local", 8080, false}));

  auto srv = parseAddress("_http._tcp.app:80", false).value;
  ASSERT_TRUE(srv);
  EXPECT_FALSE(srv->is_ip);

  EXPECT_TRUE(parseAddress("0.0.0.0:0", true));  // listen on a kernel-picked port
  EXPECT_TRUE(parseAddress("[::]:8080", true));
  EXPECT_TRUE(parseAddress("localhost.:80", false));
}

TEST(AddressParse, RejectsWithAReason) {
  auto why = [](std::string_view text, bool listen = false) {
    return parseAddress(text, listen).error;
  };
  EXPECT_EQ(why("8080"), "has no port (expected \"host:port\" or \"[v6]:port\")");
  EXPECT_EQ(why(""), "is empty (expected \"host:port\" or \"[v6]:port\")");
  EXPECT_EQ(why(":8080"), "has no host (use \"0.0.0.0:PORT\" or \"[::]:PORT\" for any address)");
  EXPECT_EQ(why("::1:80"), "looks like an IPv6 address: put it in brackets, e.g. \"[::1]:8080\"");
  EXPECT_EQ(why("[::1]"), "has no port (expected \"host:port\" or \"[v6]:port\")");
  EXPECT_EQ(why("[::1:80"), "has no closing ']'");
  EXPECT_EQ(why("[1.2.3.4]:80"), "has an invalid IPv6 address in brackets");
  EXPECT_EQ(why("256.1.1.1:80"), "has an invalid IPv4 address");
  EXPECT_EQ(why("1.2.3:80"), "has an invalid IPv4 address");
  EXPECT_EQ(why("a b:80"), "has an invalid host name \"a b\"");
  EXPECT_EQ(why("a..b:80"), "has an invalid host name \"a..b\"");
  EXPECT_EQ(why("host:http"), "has an invalid port \"http\"");
  EXPECT_EQ(why("host:"), "has an invalid port \"\"");
  EXPECT_EQ(why("host:70000"), "has a port above 65535");
  EXPECT_EQ(why("host:0"), "has port 0");
  EXPECT_EQ(why("host:-1"), "has an invalid port \"-1\"");
}

TEST(HashKeySyntax, ParsesEveryForm) {
  EXPECT_EQ(parseHashKey("client_ip").value, (HashConfig{HashKey::client_ip, ""}));
  EXPECT_EQ(parseHashKey("path").value, (HashConfig{HashKey::path, ""}));
  EXPECT_EQ(parseHashKey("header:X-User-Id").value, (HashConfig{HashKey::header, "x-user-id"}));
  EXPECT_EQ(parseHashKey("cookie:Session").value, (HashConfig{HashKey::cookie, "Session"}));
  EXPECT_EQ(parseHashKey("header:").error, "needs a valid header name after the colon");
  EXPECT_EQ(parseHashKey("cookie:a b").error, "needs a valid cookie name after the colon");
  EXPECT_EQ(parseHashKey("clientip").error,
            "is not a hash key (expected \"client_ip\", \"header:NAME\", \"cookie:NAME\" or "
            "\"path\"); did you mean \"client_ip\"?");
  for (auto text : {"client_ip", "path", "header:x-a", "cookie:Sid"}) {
    EXPECT_EQ(formatHashKey(*parseHashKey(text).value), text);
  }
}

TEST(RetryConditionSyntax, ParsesNamesAnd5xx) {
  EXPECT_EQ(parseRetryCondition("connect_failure").value->kind, RetryCondition::connect_failure);
  EXPECT_EQ(parseRetryCondition("reset").value->kind, RetryCondition::reset);
  EXPECT_EQ(parseRetryCondition("timeout").value->kind, RetryCondition::timeout);
  auto status = parseRetryCondition("502").value;
  ASSERT_TRUE(status);
  EXPECT_EQ(status->kind, RetryCondition::status);
  EXPECT_EQ(status->code, 502);
  EXPECT_EQ(parseRetryCondition("404").error,
            "is not a 5xx status; only 5xx responses are retried");
  EXPECT_EQ(parseRetryCondition("5xx").error,
            "is not a retry condition (expected \"connect_failure\", \"reset\", \"timeout\" or a "
            "5xx status such as \"503\")");
  EXPECT_EQ(parseRetryCondition("resets").error,
            "is not a retry condition (expected \"connect_failure\", \"reset\", \"timeout\" or a "
            "5xx status such as \"503\"); did you mean \"reset\"?");
  EXPECT_FALSE(parseRetryCondition("5030"));
}

TEST(RetryConditionSyntax, FormatsTheOnList) {
  RetryConfig r;
  EXPECT_EQ(formatRetryOn(r), (std::vector<std::string>{"connect_failure", "reset", "503"}));
  r.on_connect_failure = r.on_reset = false;
  r.on_timeout = true;
  r.on_status = {502, 504};
  EXPECT_EQ(formatRetryOn(r), (std::vector<std::string>{"timeout", "502", "504"}));
}

// The chart checks these grammars with regular expressions (kHashKeyPattern and
// kRetryConditionPattern): they must accept what the parsers accept. The hash key pattern
// is looser about NAME (any text), the parser then says what is wrong with it.
TEST(GrammarPatterns, AcceptWhatTheParsersAccept) {
  const std::regex hash_key{std::string(kHashKeyPattern)};
  for (const char* text : {"client_ip", "path", "header:X-User", "cookie:s", "header:a b"}) {
    EXPECT_TRUE(std::regex_match(text, hash_key)) << text;
  }
  for (const char* text : {"client_ip", "path", "header:X-User", "cookie:s"}) {
    EXPECT_TRUE(parseHashKey(text)) << text;
  }
  for (const char* text : {"clientip", "header:", "cookie", "paths", "", "header"}) {
    EXPECT_FALSE(std::regex_match(text, hash_key)) << text;
    EXPECT_FALSE(parseHashKey(text)) << text;
  }
  const std::regex retry{std::string(kRetryConditionPattern)};
  for (const char* text : {"connect_failure", "reset", "timeout", "500", "503", "599"}) {
    EXPECT_TRUE(std::regex_match(text, retry)) << text;
    EXPECT_TRUE(parseRetryCondition(text)) << text;
  }
  for (const char* text : {"404", "5000", "50", "resets", "", "connect-failure"}) {
    EXPECT_FALSE(std::regex_match(text, retry)) << text;
    EXPECT_FALSE(parseRetryCondition(text)) << text;
  }
}

TEST(HostPattern, ExactAndWildcardLowerCased) {
  EXPECT_EQ(parseHostPattern("API.Example.com").value, "api.example.com");
  EXPECT_EQ(parseHostPattern("*.example.com").value, "*.example.com");
  EXPECT_EQ(parseHostPattern("api.example.com:443").error, "must be a host name without a port");
  for (auto bad : {"", "*", "*.", "a.*.com", "*example.com", "a..b", ".a", "a b"}) {
    EXPECT_FALSE(parseHostPattern(bad)) << bad;
  }
}

TEST(Names, LettersDigitsAndPunctuation) {
  EXPECT_EQ(nameProblem("web-1.api_v2"), "");
  EXPECT_EQ(nameProblem(""), "must not be empty");
  EXPECT_EQ(nameProblem("a b"), "may contain only letters, digits, '_', '-' and '.'");
  EXPECT_EQ(nameProblem(std::string(65, 'a')), "is longer than 64 characters");
}

TEST(Suggest, EditDistanceCountsSwapsAsOne) {
  EXPECT_EQ(editDistance("workers", "workers"), 0u);
  EXPECT_EQ(editDistance("workres", "workers"), 1u);
  EXPECT_EQ(editDistance("worker", "workers"), 1u);
  EXPECT_EQ(editDistance("Workers", "workers"), 0u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
}

TEST(Suggest, ClosestWithinAThirdOfTheWord) {
  std::vector<std::string_view> keys{"workers", "max_connections", "graceful_timeout"};
  EXPECT_EQ(closestMatch("workres", keys), "workers");
  EXPECT_EQ(closestMatch("max-connections", keys), "max_connections");
  EXPECT_EQ(closestMatch("maxconnection", keys), "max_connections");
  EXPECT_EQ(closestMatch("threads", keys), "");
  EXPECT_EQ(closestMatch("", keys), "");
  EXPECT_EQ(closestMatch("tls", {"tcp"}), "");  // two edits in three letters is no typo
  EXPECT_EQ(closestMatch("tsl", {"tls"}), "tls");
}

}  // namespace
}  // namespace greenlb::conf
