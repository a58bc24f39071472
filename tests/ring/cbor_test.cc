// The CBOR pre-scan (issue #12): it passes what our encoders write, refuses nesting, lengths
// and item counts beyond the caller's limits at exactly the limit, and refuses what
// nlohmann would recurse on or allocate for (indefinite lengths, lying lengths) before
// nlohmann runs.
#include "ring/cbor.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace wipam::ring {
namespace {

using nlohmann::json;

constexpr CborLimits kLimits{1024, 4, 3, 12};

std::vector<std::uint8_t> nested(std::size_t depth) {
  json j = 7;
  for (std::size_t i = 0; i < depth; ++i) {
    j = json::array({j});
  }
  return json::to_cbor(j);
}

bool refused(const std::vector<std::uint8_t>& bytes, const char* why) {
  Status s = check_cbor(bytes, kLimits);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  return !s.ok();
}

TEST(CborTest, PassesWhatTheEncoderWrites) {
  for (const json& j :
       {json(0), json(-1), json(std::uint64_t{1} << 63), json("text"), json(nullptr), json(true),
        json(1.5), json::binary({1, 2, 3}), json::array({1, json::array({2, "x"}), nullptr}),
        json::object({{"k", json::array({1})}})}) {
    EXPECT_TRUE(check_cbor(json::to_cbor(j), kLimits).ok()) << j.dump();
    Result<json> back = parse_cbor(json::to_cbor(j), kLimits);
    ASSERT_TRUE(back.ok()) << j.dump();
    EXPECT_EQ(*back, j);
  }
}

TEST(CborTest, DepthLengthItemsAndSizeAreRefusedJustPastTheLimit) {
  EXPECT_TRUE(check_cbor(nested(4), kLimits).ok());
  EXPECT_TRUE(refused(nested(5), "nests deeper than 4"));
  EXPECT_TRUE(refused(
      json::to_cbor(json::array({json::array({json::array({json::array({json::array()})})})})),
      "nests deeper"));  // an empty container counts as a level too
  EXPECT_TRUE(check_cbor(json::to_cbor(json::array({1, 2, 3})), kLimits).ok());
  EXPECT_TRUE(refused(json::to_cbor(json::array({1, 2, 3, 4})),
                      "declares 4 items, more than the limit of 3"));
  EXPECT_TRUE(refused(json::to_cbor(json::object({{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}})),
                      "declares 4 pairs"));
  json eleven = json::array({json::array({1, 2, 3}), json::array({4, 5, 6}), json::array({7, 8})});
  EXPECT_TRUE(check_cbor(json::to_cbor(eleven), kLimits).ok());  // 12 items
  eleven[2].push_back(9);
  EXPECT_TRUE(refused(json::to_cbor(eleven), "more than 12 items"));
  EXPECT_TRUE(refused(std::vector<std::uint8_t>(1025, 0x00), "exceeds the limit of 1024"));
}

TEST(CborTest, RefusesWhatNlohmannWouldRecurseOnOrAllocateFor) {
  EXPECT_TRUE(refused({0x9f, 0x9f, 0x9f, 0xff, 0xff, 0xff}, "indefinite-length"));
  EXPECT_TRUE(refused({0x5b, 0, 0, 0, 1, 0, 0, 0, 0, 0x00}, "declares a string of 4294967296"));
  EXPECT_TRUE(refused({0x82, 0x01}, "truncated"));
  EXPECT_TRUE(refused({0x99, 0xff}, "truncated"));
  EXPECT_TRUE(refused({0xc1, 0x00}, "tag"));
  EXPECT_TRUE(refused({0xf8, 0x20}, "simple value"));
  EXPECT_TRUE(refused({0x01, 0x02}, "1 bytes after its item"));
  EXPECT_TRUE(refused({}, "empty"));
  Result<json> r = parse_cbor(std::vector<std::uint8_t>(1 << 20, 0x81), kLimits);
  EXPECT_EQ(r.status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace wipam::ring
