#include "ring/peer_name.h"

#include <array>
#include <cstdio>
#include <optional>
#include <vector>

namespace wipam::ring {
namespace {

constexpr int kGroups = 6;

std::optional<int> hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return std::nullopt;
}

// Parses colon-separated groups of one or two hex digits. An empty text has no groups.
std::optional<std::vector<int>> parse_groups(std::string_view text) {
  std::vector<int> groups;
  if (text.empty()) {
    return groups;
  }
  std::size_t at = 0;
  while (true) {
    std::size_t colon = text.find(':', at);
    std::string_view group =
        text.substr(at, colon == std::string_view::npos ? text.npos : colon - at);
    if (group.empty() || group.size() > 2) {
      return std::nullopt;
    }
    int value = 0;
    for (char c : group) {
      std::optional<int> digit = hex_digit(c);
      if (!digit) {
        return std::nullopt;
      }
      value = value * 16 + *digit;
    }
    groups.push_back(value);
    if (colon == std::string_view::npos) {
      return groups;
    }
    at = colon + 1;
  }
}

}  // namespace

Result<PeerName> PeerName::parse(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Status::invalid_argument("invalid peer name '" + std::string(text) + "': " + why +
                                    " (expected six hex pairs like 01:23:45:67:89:ab, or a "
                                    "'::' shorthand like ::1)");
  };
  if (text.size() > 17) {
    return invalid("too long");
  }
  std::size_t gap = text.find("::");
  std::vector<int> groups;
  if (gap == std::string_view::npos) {
    std::optional<std::vector<int>> all = parse_groups(text);
    if (!all || all->size() != kGroups) {
      return invalid("not six groups of hex digits");
    }
    groups = *all;
  } else {
    if (text.find("::", gap + 1) != std::string_view::npos) {
      return invalid("'::' may appear only once");
    }
    std::optional<std::vector<int>> left = parse_groups(text.substr(0, gap));
    std::optional<std::vector<int>> right = parse_groups(text.substr(gap + 2));
    if (!left || !right || left->size() + right->size() >= kGroups) {
      return invalid("bad groups around '::'");
    }
    groups = *left;
    groups.resize(kGroups - right->size(), 0);
    groups.insert(groups.end(), right->begin(), right->end());
  }
  std::uint64_t value = 0;
  for (int group : groups) {
    value = (value << 8) | static_cast<std::uint64_t>(group);
  }
  if (value == 0) {
    return invalid("the all-zero name is reserved");
  }
  return PeerName(value);
}

std::string PeerName::to_string() const {
  std::array<char, 18> buffer{};
  std::snprintf(
      buffer.data(), buffer.size(), "%02x:%02x:%02x:%02x:%02x:%02x",
      static_cast<unsigned>((value_ >> 40) & 0xff), static_cast<unsigned>((value_ >> 32) & 0xff),
      static_cast<unsigned>((value_ >> 24) & 0xff), static_cast<unsigned>((value_ >> 16) & 0xff),
      static_cast<unsigned>((value_ >> 8) & 0xff), static_cast<unsigned>(value_ & 0xff));
  return buffer.data();
}

std::string PeerIdentity::to_string() const {
  return nickname.empty() ? name.to_string() : name.to_string() + "(" + nickname + ")";
}

}  // namespace wipam::ring
