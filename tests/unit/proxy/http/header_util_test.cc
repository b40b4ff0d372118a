#include "proxy/http/header_util.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/http/header_names.h"

namespace greenlb::proxy::http {
namespace {

std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  CommaSplitter items(list);
  for (std::string_view item; items.next(item);) out.emplace_back(item);
  return out;
}

TEST(HeaderUtil, EqualsIgnoreCase) {
  EXPECT_TRUE(equalsIgnoreCase("Content-Length", "content-length"));
  EXPECT_TRUE(equalsIgnoreCase("", ""));
  EXPECT_FALSE(equalsIgnoreCase("Content-Length", "Content-Lengt"));
  EXPECT_FALSE(equalsIgnoreCase("a-b", "a_b"));
  // Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by the case bit but are not
  // letters.
  EXPECT_FALSE(equalsIgnoreCase("@", "`"));
  EXPECT_FALSE(equalsIgnoreCase("[", "{"));
}

TEST(HeaderUtil, TrimOws) {
  EXPECT_EQ(trimOws(" \t a b \t "), "a b");
  EXPECT_EQ(trimOws("   "), "");
  EXPECT_EQ(trimOws("x"), "x");
}

TEST(HeaderUtil, CommaSplitter) {
  EXPECT_EQ(split("a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split("a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(split(""), (std::vector<std::string>{""}));
  EXPECT_EQ(split(" , a ,"), (std::vector<std::string>{"", "a", ""}));
}

TEST(HeaderUtil, ListContainsToken) {
  EXPECT_TRUE(listContainsToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(listContainsToken("close", "CLOSE"));
  EXPECT_FALSE(listContainsToken("closed", "close"));
  EXPECT_FALSE(listContainsToken("", "close"));
}

TEST(HeaderUtil, Tokens) {
  EXPECT_TRUE(isToken("GET"));
  EXPECT_TRUE(isToken("x-custom!#$%&'*+.^_`|~09"));
  EXPECT_FALSE(isToken(""));
  EXPECT_FALSE(isToken("a b"));
  for (char c : std::string("()<>@,;:\\\"/[]?={} \t\x7f\x80")) EXPECT_FALSE(isTokenChar(c)) << c;
}

TEST(HeaderUtil, FieldValueChars) {
  EXPECT_TRUE(isFieldValueChar(' '));
  EXPECT_TRUE(isFieldValueChar('\t'));
  EXPECT_TRUE(isFieldValueChar('~'));
  EXPECT_TRUE(isFieldValueChar('\x80'));
  EXPECT_FALSE(isFieldValueChar('\0'));
  EXPECT_FALSE(isFieldValueChar('\r'));
  EXPECT_FALSE(isFieldValueChar('\n'));
  EXPECT_FALSE(isFieldValueChar('\x7f'));
}

// The 8-bytes-at-a-time skips stop exactly where the byte loops would, for every byte
// value at every position of a word and across word boundaries.
TEST(HeaderUtil, SkipsStopAtTheFirstDisallowedByte) {
  for (size_t len : {1u, 7u, 8u, 9u, 16u, 23u}) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string s(len, 'a');
        s[pos] = static_cast<char>(c);
        const char* b = s.data();
        const char* e = b + s.size();
        const char* value_stop = b;
        while (value_stop < e && isFieldValueChar(*value_stop)) ++value_stop;
        const char* target_stop = b;
        while (target_stop < e && isTargetChar(*target_stop)) ++target_stop;
        ASSERT_EQ(skipFieldValueChars(b, e), value_stop) << len << " " << pos << " " << c;
        ASSERT_EQ(skipTargetChars(b, e), target_stop) << len << " " << pos << " " << c;
      }
    }
  }
}

TEST(HeaderNames, Classification) {
  EXPECT_EQ(headerId("content-LENGTH"), HeaderId::content_length);
  EXPECT_EQ(headerId("Transfer-Encoding"), HeaderId::transfer_encoding);
  EXPECT_EQ(headerId("TE"), HeaderId::te);
  EXPECT_EQ(headerId("host"), HeaderId::host);
  EXPECT_EQ(headerId("Keep-Alive"), HeaderId::keep_alive);
  EXPECT_EQ(headerId("Proxy-Connection"), HeaderId::proxy_connection);
  EXPECT_EQ(headerId("X-Forwarded-Host"), HeaderId::x_forwarded_host);
  EXPECT_EQ(headerId("Transfer_Encoding"), HeaderId::other);
  EXPECT_EQ(headerId("Hosts"), HeaderId::other);
  EXPECT_EQ(headerId(""), HeaderId::other);
  EXPECT_TRUE(isHopByHop(HeaderId::trailer));
  EXPECT_FALSE(isHopByHop(HeaderId::content_length));
}

}  // namespace
}  // namespace greenlb::proxy::http
