// Addresses, ranges and CIDR blocks, for IPv4 and IPv6 alike.
//
// Every address is a 128-bit unsigned value tagged with its family, so nothing above this
// file assumes 32 bits. A Range is half open, [start, end); its end may be the position one
// past the last address of the family (2^32 for IPv4). IPv6 blocks that reach the very last
// address (ffff:...:ffff) are refused, so no end ever overflows 128 bits.
// Immutable values, safe to share between threads.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ring/status.h"

namespace wipam::ring {

using Uint128 = unsigned __int128;

// Decimal text of a 128-bit count ("1048576").
std::string uint128_to_string(Uint128 value);

enum class Family : std::uint8_t { kV4 = 4, kV6 = 6 };

class Address {
 public:
  constexpr Address() = default;  // 0.0.0.0
  static constexpr Address v4(std::uint32_t value) { return Address(Family::kV4, value); }
  static constexpr Address v6(Uint128 value) { return Address(Family::kV6, value); }
  // REQUIRES: value fits the family, or is one past its last address.
  static constexpr Address of(Family family, Uint128 value) { return Address(family, value); }

  // Parses "10.32.0.1" or "fd00::1". Fails with a message naming the text.
  static Result<Address> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  Uint128 value() const { return value_; }
  // 32 or 128.
  int bits() const { return is_v4() ? 32 : 128; }

  // Canonical text: dotted quad, or RFC 5952 IPv6. One-past-the-end prints as "<end>".
  std::string to_string() const;

  // REQUIRES: the result stays within the family (or one past its end).
  Address operator+(Uint128 n) const { return Address(family_, value_ + n); }
  Address operator-(Uint128 n) const { return Address(family_, value_ - n); }
  // Distance from `other` up to this address. REQUIRES: same family, other <= *this.
  Uint128 operator-(const Address& other) const { return value_ - other.value_; }

  friend constexpr auto operator<=>(const Address&, const Address&) = default;

 private:
  constexpr Address(Family family, Uint128 value) : family_(family), value_(value) {}

  Family family_ = Family::kV4;
  Uint128 value_ = 0;
};

class Cidr;

// The addresses [start, end) of one family. May be empty.
class Range {
 public:
  Range() = default;
  // REQUIRES: same family, start <= end.
  Range(Address start, Address end) : start_(start), end_(end) {}
  // Checked construction for untrusted input.
  static Result<Range> make(Address start, Address end);

  Address start() const { return start_; }
  Address end() const { return end_; }
  Family family() const { return start_.family(); }
  Uint128 size() const { return end_ - start_; }
  bool empty() const { return start_ == end_; }

  bool contains(const Address& a) const {
    return a.family() == family() && start_ <= a && a < end_;
  }
  // True iff every address of `r` is in this range (an empty `r` is contained anywhere).
  bool contains(const Range& r) const;
  bool overlaps(const Range& r) const;
  // The common part; empty (at this range's start) when there is none.
  Range intersect(const Range& r) const;

  // REQUIRES: contains(a).
  Uint128 offset_of(const Address& a) const { return a - start_; }
  // REQUIRES: offset <= size().
  Address at(Uint128 offset) const { return start_ + offset; }

  // The largest block inside this range that is a CIDR in absolute address space; on ties
  // the highest. Empty iff this range is empty.
  Range biggest_aligned_block() const;
  // The fewest CIDR blocks that cover exactly this range, in address order.
  std::vector<Cidr> to_cidrs() const;
  // True iff this range is exactly one CIDR block.
  bool is_cidr() const;

  // "10.32.0.0/12" when the range is one CIDR block, else "10.32.0.5-10.32.0.9" (inclusive).
  std::string to_string() const;

  friend auto operator<=>(const Range&, const Range&) = default;

 private:
  Address start_;
  Address end_;
};

// An address with a prefix length: a subnet ("10.32.0.0/12") or an interface address
// ("10.32.0.7/12").
class Cidr {
 public:
  Cidr() = default;
  // REQUIRES: 0 <= prefix_len <= address.bits(), and the block does not reach the end of the
  // IPv6 space. Use make() for untrusted values.
  Cidr(Address address, int prefix_len) : address_(address), prefix_len_(prefix_len) {}
  static Result<Cidr> make(Address address, int prefix_len);

  // Parses "a/len"; host bits may be set ("10.32.0.7/12").
  static Result<Cidr> parse(std::string_view text);
  // Parses "a/len" and requires the host bits to be zero, naming the subnet meant otherwise.
  static Result<Cidr> parse_subnet(std::string_view text);
  // The block of `size` addresses starting at `start`. REQUIRES: is_cidr() of that range.
  static Cidr from_range(const Range& block);

  Address address() const { return address_; }
  int prefix_len() const { return prefix_len_; }
  Family family() const { return address_.family(); }
  Uint128 size() const;
  // True iff the host bits are zero.
  bool is_subnet() const;
  // The same block with the host bits cleared.
  Cidr subnet() const;

  // Every address of the block.
  Range range() const;
  // The addresses a host may use: for IPv4 blocks of 4 or more, all but the network and
  // broadcast addresses; /31 and /32 whole (RFC 3021); for IPv6, all but the
  // subnet-router anycast (first) address, unless the block is a single address.
  Range host_range() const;

  std::string to_string() const;

  friend auto operator<=>(const Cidr&, const Cidr&) = default;

 private:
  Address address_;
  int prefix_len_ = 0;
};

}  // namespace wipam::ring
