// Peer names and identities.
//
// A peer is named by 48 bits written like a MAC address, "01:23:45:67:89:ab". The name is
// stable across restarts; the random incarnation id (UID) changes on every fresh start with
// an empty store, so a peer that lost its state is told apart from its earlier self.
// Immutable values, safe to share between threads.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "ring/status.h"

namespace wipam::ring {

class PeerName {
 public:
  static constexpr std::uint64_t kMask = (std::uint64_t{1} << 48) - 1;

  constexpr PeerName() = default;  // the unknown peer, 00:00:00:00:00:00
  explicit constexpr PeerName(std::uint64_t value) : value_(value & kMask) {}

  // Parses "01:23:45:67:89:ab", where groups are one or two hex digits and one "::" may
  // stand for one or more zero groups, as Weave accepts: "::1" is 00:00:00:00:00:01,
  // "1::" is 01:00:00:00:00:00, "1::1" is 01:00:00:00:00:01. The all-zero name is reserved.
  static Result<PeerName> parse(std::string_view text);

  std::uint64_t value() const { return value_; }
  bool unknown() const { return value_ == 0; }
  // Canonical full form, lower case: "00:00:00:00:00:01".
  std::string to_string() const;

  friend constexpr auto operator<=>(const PeerName&, const PeerName&) = default;

 private:
  std::uint64_t value_ = 0;
};

// Who a peer is: its name, a nickname for people (usually the host name), and the
// incarnation id of this run of it.
struct PeerIdentity {
  PeerName name;
  std::string nickname;
  std::uint64_t uid = 0;

  // "00:00:00:00:00:01(host-a)".
  std::string to_string() const;

  friend bool operator==(const PeerIdentity&, const PeerIdentity&) = default;
};

}  // namespace wipam::ring

template <>
struct std::hash<wipam::ring::PeerName> {
  std::size_t operator()(const wipam::ring::PeerName& name) const noexcept {
    return std::hash<std::uint64_t>()(name.value());
  }
};
