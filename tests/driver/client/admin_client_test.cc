// decode_answer: how the CLI and the CNI plugin read the daemon's answers, in one place.
#include "driver/client/admin_client.h"

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

TEST(DecodeAnswerTest, AnOkAnswerIsItsJsonBody) {
  DecodedAnswer d = decode_answer({200, R"({"addresses":["10.32.0.1/12"]})"});
  EXPECT_FALSE(d.refusal.has_value());
  ASSERT_TRUE(d.body.is_object());
  EXPECT_EQ(d.body["addresses"][0], "10.32.0.1/12");
}

TEST(DecodeAnswerTest, ARefusalIsItsErrElseItsRawBody) {
  EXPECT_EQ(decode_answer({409, R"({"Err":"address 10.32.0.1 is already in use"})"}).refusal,
            "address 10.32.0.1 is already in use");
  EXPECT_EQ(decode_answer({500, "upstream exploded"}).refusal, "upstream exploded");
  EXPECT_EQ(decode_answer({400, R"({"Err":7})"}).refusal, R"({"Err":7})");
}

TEST(DecodeAnswerTest, ABodyThatIsNotJsonIsNullNeverAThrow) {
  DecodedAnswer d = decode_answer({200, std::string(100, '[')});
  EXPECT_FALSE(d.refusal.has_value());
  EXPECT_TRUE(d.body.is_null());
}

}  // namespace
}  // namespace wipam::driver
