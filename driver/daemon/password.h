// The link password's life outside the handshake: read from --password-file, judged at
// start (a short one is warned about), and made by `weave-ipam genkey` (256 random bits).
// The mesh keys its links with it (gossip/crypto.h); gossip/WIRE_FORMAT.md says why a long
// random key matters.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "driver/daemon/config.h"

namespace wipam::driver {

// Below this many characters a password is warned about at start.
inline constexpr std::size_t kShortPasswordChars = 16;

// The password in `path`, less one trailing "\n" or "\r\n". An unreadable or empty file is
// an error naming --password-file and the path.
Result<std::string> read_password_file(const std::string& path);

// `config` with `password` read from its `password_file`, if it has one.
Result<Config> resolve_password_file(Config config);

// The warning to log at start, or nothing for no password or one of 16 characters or more.
std::optional<std::string> short_password_warning(const std::optional<std::string>& password);

// 32 bytes from OpenSSL's generator as 64 lowercase hex digits.
Result<std::string> generate_key();

// `weave-ipam genkey`: prints generate_key() and a newline; 0, or 1 with a message.
int run_genkey(std::FILE* out, std::FILE* err);

}  // namespace wipam::driver
