// Peer names: the MAC-like text form with Weave's '::' shorthand, canonical printing, and
// refusal of malformed names with a message that shows the expected form.
#include "ring/peer_name.h"

#include <gtest/gtest.h>

namespace wipam::ring {
namespace {

std::string canonical(const char* text) {
  Result<PeerName> name = PeerName::parse(text);
  return name.ok() ? name->to_string() : "error: " + name.status().message();
}

TEST(PeerNameTest, ParsesTheFullForm) {
  EXPECT_EQ(canonical("01:23:45:67:89:ab"), "01:23:45:67:89:ab");
  EXPECT_EQ(canonical("01:23:45:67:89:AB"), "01:23:45:67:89:ab");
  EXPECT_EQ(canonical("1:2:3:4:5:6"), "01:02:03:04:05:06");
  EXPECT_EQ(PeerName::parse("00:00:00:00:01:00")->value(), 0x100u);
}

TEST(PeerNameTest, ExpandsTheDoubleColonShorthandLikeWeave) {
  EXPECT_EQ(canonical("::1"), "00:00:00:00:00:01");
  EXPECT_EQ(canonical("1::"), "01:00:00:00:00:00");
  EXPECT_EQ(canonical("1::1"), "01:00:00:00:00:01");
  EXPECT_EQ(canonical("::1:2:3:4:5"), "00:01:02:03:04:05");
  EXPECT_EQ(canonical("a:b::c"), "0a:0b:00:00:00:0c");
  EXPECT_EQ(canonical("1:2:3:4::5"), "01:02:03:04:00:05");
}

TEST(PeerNameTest, RejectsMalformedNames) {
  for (const char* bad : {"", "::", "0:0:0:0:0:0", "1:2:3:4:5", "1:2:3:4:5:6:7",
                          "123::", "::1::", "1:::2", "g::", "1:2:3:4:5:6::", "::1:2:3:4:5:6",
                          "01-23-45-67-89-ab", "1:2:3:4:5:", ":1:2:3:4:5:6", "host-a"}) {
    Result<PeerName> name = PeerName::parse(bad);
    EXPECT_FALSE(name.ok()) << bad;
    EXPECT_NE(name.status().message().find("01:23:45:67:89:ab"), std::string::npos) << bad;
  }
}

TEST(PeerNameTest, OrdersByValueAndKeepsOnly48Bits) {
  EXPECT_LT(*PeerName::parse("::1"), *PeerName::parse("::2"));
  EXPECT_EQ(PeerName(0xffff'0000'0000'0001ull).to_string(), "00:00:00:00:00:01");
  EXPECT_TRUE(PeerName().unknown());
}

TEST(PeerIdentityTest, PrintsNameWithNickname) {
  PeerIdentity id{*PeerName::parse("::3"), "host-c", 42};
  EXPECT_EQ(id.to_string(), "00:00:00:00:00:03(host-c)");
  EXPECT_EQ((PeerIdentity{*PeerName::parse("::3"), "", 1}.to_string()), "00:00:00:00:00:03");
}

}  // namespace
}  // namespace wipam::ring
