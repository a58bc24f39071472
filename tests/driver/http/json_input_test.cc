// Untrusted JSON: bounded in size and depth before nlohmann parses it, never a throw.
#include "driver/http/json_input.h"

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

// The readers of answers whose shape nobody polices: any other shape is "" or false.
TEST(JsonInputTest, LenientReadersNeverThrowOnAnotherShape) {
  nlohmann::json answer = {{"status", "ready"}, {"ready", true}, {"n", 3}, {"no", false}};
  EXPECT_EQ(string_or_empty(answer, "status"), "ready");
  EXPECT_EQ(string_or_empty(answer, "n"), "");
  EXPECT_EQ(string_or_empty(answer, "absent"), "");
  EXPECT_EQ(string_or_empty(nlohmann::json::array({1, 2}), "status"), "");
  EXPECT_EQ(string_or_empty(nlohmann::json("text"), "status"), "");
  EXPECT_TRUE(is_true(answer, "ready"));
  EXPECT_FALSE(is_true(answer, "no"));
  EXPECT_FALSE(is_true(answer, "status"));
  EXPECT_FALSE(is_true(answer, "absent"));
  EXPECT_FALSE(is_true(nlohmann::json(nullptr), "ready"));
}

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

// Text that never went through a JSON parse (a path, an environment variable) may be any
// bytes: dump_json() replaces what is not UTF-8 instead of throwing (issue #12's fuzzing).
TEST(JsonInputTest, DumpingInvalidUtf8ReplacesItInsteadOfThrowing) {
  EXPECT_EQ(dump_json(nlohmann::json{{"Err", "unknown endpoint /\xe8"}}),
            "{\"Err\":\"unknown endpoint /\xef\xbf\xbd\"}");
  EXPECT_EQ(dump_json(nlohmann::json{{"k", "caf\xc3\xa9"}}), "{\"k\":\"caf\xc3\xa9\"}");
}

TEST(JsonInputTest, Utf8IsCheckedAsJsonStringsNeedIt) {
  for (const char* ok : {"", "eth0", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) {
    EXPECT_TRUE(valid_utf8(ok)) << ok;
  }
  for (const char* bad : {"\xff", "e\xe8", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xe2\x82", "\x80"}) {
    EXPECT_FALSE(valid_utf8(bad)) << bad;
  }
}

TEST(JsonFieldTest, StringFieldReadsAbsentAsEmptyUnlessRequiredAndRefusesOtherTypes) {
  nlohmann::json j = {{"Pool", "10.0.0.0/24"}, {"Null", nullptr}, {"Number", 3}};
  EXPECT_EQ(*string_field(j, "Pool"), "10.0.0.0/24");
  EXPECT_EQ(*string_field(j, "Absent"), "");
  EXPECT_EQ(*string_field(j, "Null"), "");
  EXPECT_EQ(string_field(j, "Absent", FieldNeed::kRequired).status().message(),
            "\"Absent\" is required");
  EXPECT_EQ(string_field(j, "Null", FieldNeed::kRequired).status().message(),
            "\"Null\" is required");
  EXPECT_EQ(string_field(j, "Number").status().message(), "\"Number\" must be a string");
}

TEST(JsonFieldTest, ObjectFieldReadsAbsentOrNullAsEmptyAndRefusesOtherTypes) {
  nlohmann::json j = {{"Options", {{"k", "v"}}}, {"Null", nullptr}, {"List", {1, 2}}};
  EXPECT_EQ(*object_field(j, "Options"), (nlohmann::json{{"k", "v"}}));
  EXPECT_EQ(*object_field(j, "Absent"), nlohmann::json::object());
  EXPECT_EQ(*object_field(j, "Null"), nlohmann::json::object());
  EXPECT_EQ(object_field(j, "List").status().message(), "\"List\" must be a map or null");
}

}  // namespace
}  // namespace wipam::driver
