#include "driver/daemon/password.h"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "gossip/crypto.h"

namespace wipam::driver {
namespace {

// A password file is a line, not a stream: a wrong path such as /dev/zero must not be read
// for ever.
constexpr std::size_t kMaxPasswordFileBytes = 64 * 1024;

Status file_error(const std::string& path, const std::string& why) {
  return Status::invalid_argument("--password-file " + path + ": " + why);
}

}  // namespace

Result<std::string> read_password_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return file_error(path, std::string("cannot open: ") + std::strerror(errno));
  }
  std::string text;
  char buffer[4096];
  std::size_t n = 0;
  while (text.size() <= kMaxPasswordFileBytes &&
         (n = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
    text.append(buffer, n);
  }
  int read_errno = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (read_errno != 0) {
    return file_error(path, std::string("cannot read: ") + std::strerror(read_errno));
  }
  if (text.size() > kMaxPasswordFileBytes) {
    return file_error(path, "longer than 64 KiB; expected one line with the password");
  }
  if (text.ends_with("\r\n")) {
    text.resize(text.size() - 2);
  } else if (text.ends_with('\n')) {
    text.pop_back();
  }
  if (text.empty()) {
    return file_error(path, "the file is empty; put the password in it (weave-ipam genkey)");
  }
  return text;
}

Result<Config> resolve_password_file(Config config) {
  if (config.password_file) {
    Result<std::string> password = read_password_file(*config.password_file);
    if (!password.ok()) {
      return password.status();
    }
    config.password = *password;
  }
  return config;
}

std::optional<std::string> short_password_warning(const std::optional<std::string>& password) {
  if (!password) {
    return std::nullopt;
  }
  // Characters, not bytes: UTF-8 continuation bytes do not start one.
  std::size_t chars = 0;
  for (unsigned char c : *password) {
    chars += (c & 0xC0) != 0x80 ? 1 : 0;
  }
  if (chars >= kShortPasswordChars) {
    return std::nullopt;
  }
  return "password is shorter than 16 characters: a party this peer dials can test guesses "
         "against its handshake offline; use weave-ipam genkey";
}

Result<std::string> generate_key() {
  std::array<std::uint8_t, 32> key{};
  WIPAM_RETURN_IF_ERROR(gossip::random_bytes(key));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (std::uint8_t b : key) {
    text += kHex[b >> 4];
    text += kHex[b & 0x0F];
  }
  return text;
}

int run_genkey(std::FILE* out, std::FILE* err) {
  Result<std::string> key = generate_key();
  if (!key.ok()) {
    std::fprintf(err, "weave-ipam genkey: %s\n", key.status().message().c_str());
    return 1;
  }
  std::fprintf(out, "%s\n", key->c_str());
  return 0;
}

}  // namespace wipam::driver
