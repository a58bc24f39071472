#include "ring/address.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <charconv>

namespace wipam::ring {
namespace {

// Number of trailing zero bits of `v`; `bits` when v is 0.
int trailing_zeros(Uint128 v, int bits) {
  if (v == 0) {
    return bits;
  }
  auto low = static_cast<std::uint64_t>(v);
  if (low != 0) {
    return std::min(bits, __builtin_ctzll(low));
  }
  return std::min(bits, 64 + __builtin_ctzll(static_cast<std::uint64_t>(v >> 64)));
}

// Index of the highest set bit (floor(log2 v)). REQUIRES: v > 0.
int highest_bit(Uint128 v) {
  auto high = static_cast<std::uint64_t>(v >> 64);
  if (high != 0) {
    return 127 - __builtin_clzll(high);
  }
  return 63 - __builtin_clzll(static_cast<std::uint64_t>(v));
}

Uint128 family_end(Family family) {
  // For IPv6 the true end (2^128) is not representable; blocks reaching it are refused.
  return family == Family::kV4 ? (Uint128{1} << 32) : ~Uint128{0};
}

Uint128 block_size(int bits, int prefix_len) {
  int host_bits = bits - prefix_len;
  return host_bits >= 128 ? 0 : Uint128{1} << host_bits;
}

}  // namespace

std::string uint128_to_string(Uint128 value) {
  if (value == 0) {
    return "0";
  }
  std::string digits;
  while (value != 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  std::reverse(digits.begin(), digits.end());
  return digits;
}

Result<Address> Address::parse(std::string_view text) {
  std::string s(text);
  if (s.find(':') == std::string::npos) {
    in_addr v4{};
    if (s.empty() || s.size() > 15 || inet_pton(AF_INET, s.c_str(), &v4) != 1) {
      return Status::invalid_argument("'" + s + "' is not an IPv4 or IPv6 address");
    }
    return Address::v4(ntohl(v4.s_addr));
  }
  in6_addr v6{};
  if (s.size() > 45 || inet_pton(AF_INET6, s.c_str(), &v6) != 1) {
    return Status::invalid_argument("'" + s + "' is not an IPv4 or IPv6 address");
  }
  Uint128 value = 0;
  for (unsigned char byte : v6.s6_addr) {
    value = (value << 8) | byte;
  }
  return Address::v6(value);
}

std::string Address::to_string() const {
  if (value_ >= family_end(family_) && is_v4()) {
    return "<end>";
  }
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (is_v4()) {
    in_addr v4{};
    v4.s_addr = htonl(static_cast<std::uint32_t>(value_));
    inet_ntop(AF_INET, &v4, buffer.data(), buffer.size());
  } else {
    in6_addr v6{};
    Uint128 v = value_;
    for (int i = 15; i >= 0; --i) {
      v6.s6_addr[i] = static_cast<unsigned char>(v & 0xff);
      v >>= 8;
    }
    inet_ntop(AF_INET6, &v6, buffer.data(), buffer.size());
  }
  return buffer.data();
}

Result<Range> Range::make(Address start, Address end) {
  if (start.family() != end.family()) {
    return Status::invalid_argument("range " + start.to_string() + "-" + end.to_string() +
                                    " mixes IPv4 and IPv6");
  }
  if (end < start) {
    return Status::invalid_argument("range starts at " + start.to_string() + " after its end " +
                                    end.to_string());
  }
  return Range(start, end);
}

bool Range::contains(const Range& r) const {
  return r.empty() || (r.family() == family() && start_ <= r.start_ && r.end_ <= end_);
}

bool Range::overlaps(const Range& r) const {
  return r.family() == family() && !empty() && !r.empty() && r.start_ < end_ && start_ < r.end_;
}

Range Range::intersect(const Range& r) const {
  if (!overlaps(r)) {
    return Range(start_, start_);
  }
  return Range(std::max(start_, r.start_), std::min(end_, r.end_));
}

std::vector<Cidr> Range::to_cidrs() const {
  std::vector<Cidr> blocks;
  int bits = start_.bits();
  Uint128 at = start_.value();
  Uint128 end = end_.value();
  while (at < end) {
    // The block size is limited by the alignment of `at` and by what remains.
    int align = trailing_zeros(at, bits);
    int fit = highest_bit(end - at);
    int host_bits = std::min(align, fit);
    blocks.emplace_back(Address::of(family(), at), bits - host_bits);
    at += Uint128{1} << host_bits;
  }
  return blocks;
}

Range Range::biggest_aligned_block() const {
  // Every aligned block inside the range lies within one block of the minimal cover, so the
  // biggest block of that cover is the biggest aligned block.
  Range best(start_, start_);
  for (const Cidr& block : to_cidrs()) {
    Range r = block.range();
    if (r.size() >= best.size()) {
      best = r;
    }
  }
  return best;
}

bool Range::is_cidr() const {
  if (empty()) {
    return false;
  }
  Uint128 n = size();
  return (n & (n - 1)) == 0 && trailing_zeros(start_.value(), start_.bits()) >= highest_bit(n);
}

std::string Range::to_string() const {
  if (empty()) {
    return "(empty range at " + start_.to_string() + ")";
  }
  if (is_cidr()) {
    return Cidr::from_range(*this).to_string();
  }
  return start_.to_string() + "-" + (end_ - 1).to_string();
}

Result<Cidr> Cidr::make(Address address, int prefix_len) {
  if (prefix_len < 0 || prefix_len > address.bits()) {
    return Status::invalid_argument("prefix length " + std::to_string(prefix_len) +
                                    " is out of range for " + address.to_string() + " (0-" +
                                    std::to_string(address.bits()) + ")");
  }
  Cidr cidr(address, prefix_len);
  if (!address.is_v4() &&
      (prefix_len == 0 || cidr.subnet().address().value() + (cidr.size() - 1) == ~Uint128{0})) {
    return Status::invalid_argument(cidr.to_string() +
                                    " reaches the end of the IPv6 space, which weave-ipam "
                                    "does not allocate from");
  }
  return cidr;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  std::string s(text);
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::invalid_argument("'" + s + "' is not a CIDR (expected address/prefix-length)");
  }
  Result<Address> address = Address::parse(text.substr(0, slash));
  if (!address.ok()) {
    return Status::invalid_argument("'" + s + "' is not a CIDR: " + address.status().message());
  }
  std::string_view len_text = text.substr(slash + 1);
  int prefix_len = -1;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix_len);
  if (len_text.empty() || len_text.size() > 3 || ec != std::errc() ||
      ptr != len_text.data() + len_text.size()) {
    return Status::invalid_argument("'" + s + "' is not a CIDR: bad prefix length '" +
                                    std::string(len_text) + "'");
  }
  return make(*address, prefix_len);
}

Result<Cidr> Cidr::parse_subnet(std::string_view text) {
  Result<Cidr> cidr = parse(text);
  if (!cidr.ok()) {
    return cidr;
  }
  if (!cidr->is_subnet()) {
    return Status::invalid_argument(std::string(text) + " has host bits set; did you mean " +
                                    cidr->subnet().to_string() + "?");
  }
  return cidr;
}

Cidr Cidr::from_range(const Range& block) {
  return Cidr(block.start(), block.start().bits() - highest_bit(block.size()));
}

Uint128 Cidr::size() const { return block_size(address_.bits(), prefix_len_); }

bool Cidr::is_subnet() const { return subnet().address_ == address_; }

Cidr Cidr::subnet() const {
  Uint128 size = block_size(address_.bits(), prefix_len_);
  Uint128 mask = size == 0 ? 0 : ~(size - 1);
  return Cidr(Address::of(address_.family(), address_.value() & mask), prefix_len_);
}

Range Cidr::range() const {
  Address start = subnet().address_;
  return Range(start, start + size());
}

Range Cidr::host_range() const {
  Range all = range();
  Uint128 n = all.size();
  if (address_.is_v4()) {
    return n >= 4 ? Range(all.start() + 1, all.end() - 1) : all;
  }
  return n >= 2 ? Range(all.start() + 1, all.end()) : all;
}

std::string Cidr::to_string() const {
  return address_.to_string() + "/" + std::to_string(prefix_len_);
}

}  // namespace wipam::ring
