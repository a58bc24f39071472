// The link password outside the handshake: --password-file read from a real file (one
// trailing newline stripped; empty, missing or unreadable files refused with the flag and
// path), the short-password warning, and `weave-ipam genkey`'s 256-bit hex keys.
#include "driver/daemon/password.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

namespace fs = std::filesystem;

class PasswordFileTest : public ::testing::Test {
 protected:
  PasswordFileTest()
      : dir_(fs::temp_directory_path() /
             ("wipam-password-" +
              std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~PasswordFileTest() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::string error_of(const std::string& path) {
    Result<std::string> p = read_password_file(path);
    return p.ok() ? "(read " + *p + ")" : p.status().message();
  }

  fs::path dir_;
};

TEST_F(PasswordFileTest, OneTrailingNewlineIsStripped) {
  EXPECT_EQ(*read_password_file(write("lf", "s3cret\n")), "s3cret");
  EXPECT_EQ(*read_password_file(write("crlf", "s3cret\r\n")), "s3cret");
  EXPECT_EQ(*read_password_file(write("none", "s3cret")), "s3cret");
  // Only one: the rest is part of the password, as written.
  EXPECT_EQ(*read_password_file(write("two", "s3cret\n\n")), "s3cret\n");
  EXPECT_EQ(*read_password_file(write("inner", " a b\r")), " a b\r");
}

TEST_F(PasswordFileTest, EmptyFileIsRefused) {
  std::string empty = write("empty", "");
  EXPECT_EQ(error_of(empty), "--password-file " + empty +
                                 ": the file is empty; put the password in it (weave-ipam genkey)");
  std::string newline = write("newline", "\n");
  EXPECT_EQ(error_of(newline),
            "--password-file " + newline +
                ": the file is empty; put the password in it (weave-ipam genkey)");
}

TEST_F(PasswordFileTest, MissingOrUnreadableFileIsRefused) {
  std::string missing = (dir_ / "missing").string();
  EXPECT_EQ(error_of(missing),
            "--password-file " + missing + ": cannot open: No such file or directory");
  EXPECT_EQ(error_of(dir_.string()),
            "--password-file " + dir_.string() + ": cannot read: Is a directory");
  std::string huge = write("huge", std::string(64 * 1024 + 1, 'x'));
  EXPECT_EQ(error_of(huge), "--password-file " + huge +
                                ": longer than 64 KiB; expected one line with the password");
}

TEST_F(PasswordFileTest, ResolveFillsThePasswordFromTheFile) {
  Config c;
  c.password_file = write("key", "0123456789abcdef0123456789abcdef\n");
  Result<Config> resolved = resolve_password_file(c);
  ASSERT_TRUE(resolved.ok()) << resolved.status().to_string();
  EXPECT_EQ(resolved->password, "0123456789abcdef0123456789abcdef");
  c.password_file = (dir_ / "missing").string();
  EXPECT_FALSE(resolve_password_file(c).ok());
  // No file named: the password stays as given.
  Config plain;
  plain.password = "given";
  EXPECT_EQ(resolve_password_file(plain)->password, "given");
  EXPECT_FALSE(resolve_password_file(Config())->password.has_value());
}

TEST(PasswordWarningTest, OnlyPasswordsUnderSixteenCharactersAreWarnedAbout) {
  EXPECT_FALSE(short_password_warning(std::nullopt).has_value());
  EXPECT_FALSE(short_password_warning(std::string(16, 'x')).has_value());
  std::optional<std::string> warning = short_password_warning(std::string(15, 'x'));
  ASSERT_TRUE(warning.has_value());
  EXPECT_EQ(warning->rfind("password is shorter than 16 characters: ", 0), 0u);
  EXPECT_NE(warning->find("offline"), std::string::npos);
  EXPECT_NE(warning->find("weave-ipam genkey"), std::string::npos);
  EXPECT_TRUE(short_password_warning(std::string()).has_value());
  // Characters, not bytes: 15 two-byte characters are still short, 16 are not.
  std::string e_acute = "\xc3\xa9";
  std::string fifteen, sixteen;
  for (int i = 0; i < 15; ++i)
    fifteen += e_acute;
  sixteen = fifteen + e_acute;
  EXPECT_TRUE(short_password_warning(fifteen).has_value());
  EXPECT_FALSE(short_password_warning(sixteen).has_value());
}

bool is_lower_hex(const std::string& text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(GenkeyTest, KeysAre64LowercaseHexDigitsAndDiffer) {
  Result<std::string> a = generate_key();
  Result<std::string> b = generate_key();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_TRUE(is_lower_hex(*a)) << *a;
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(short_password_warning(*a).has_value());
}

TEST(GenkeyTest, RunGenkeyPrintsOneKeyLine) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(run_genkey(out, err), 0);
  std::rewind(out);
  char line[128] = {};
  std::size_t n = std::fread(line, 1, sizeof line - 1, out);
  EXPECT_EQ(n, 65u);
  std::string text(line, n);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_TRUE(is_lower_hex(text.substr(0, 64))) << text;
  EXPECT_EQ(std::ftell(err), 0);
  std::fclose(out);
  std::fclose(err);
}

}  // namespace
}  // namespace wipam::driver
