// Untrusted JSON: bounded in size and depth before nlohmann parses it, never a throw.
#include "driver/json_input.h"

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

TEST(JsonInputTest, DepthIsCountedOutsideStringsOnly) {
  EXPECT_TRUE(json_depth_within(R"({"a":[1,{"b":[]}]})", 4));
  EXPECT_FALSE(json_depth_within(R"({"a":[1,{"b":[]}]})", 3));
  EXPECT_TRUE(json_depth_within(R"({"a":"[[[[[[[[\"[[[["})", 1));
  EXPECT_TRUE(json_depth_within(R"({"a":"\\"})", 1));  // an escaped backslash ends the escape
}

TEST(JsonInputTest, HostileTextIsAnErrorNamingWhatItWas) {
  for (const std::string& text :
       {std::string(1 << 20, '['), std::string(1 << 16, '{'), std::string("{\"a\":"),
        std::string("\xff\xfe"), std::string(), std::string("[1,2,]")}) {
    Result<nlohmann::json> j = parse_untrusted_json(text, "the body", 2 << 20);
    ASSERT_FALSE(j.ok()) << text.substr(0, 20);
    EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(j.status().message().rfind("the body", 0), 0u) << j.status().message();
  }
  EXPECT_NE(parse_untrusted_json(std::string(100, ' '), "x", 10).status().message().find("larger"),
            std::string::npos);
  Result<nlohmann::json> fine = parse_untrusted_json(R"({"Pool":"10.32.0.0/16"})", "x", 100);
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ((*fine)["Pool"], "10.32.0.0/16");
}

}  // namespace
}  // namespace wipam::driver
