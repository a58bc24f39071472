#include "ring/store_records.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <span>

#include "ring/messages.h"

namespace wipam::ring {
namespace {

std::string to_hex(Uint128 v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 31; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[static_cast<int>(v & 0xf)];
    v >>= 4;
  }
  return out;
}

std::string bytes_text(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::span<const std::uint8_t> text_bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

Status restore_ring(const Stored& stored, const Range& universe, PeerName self, Restored& out) {
  auto it = stored.find(kRingKey);
  if (it == stored.end()) {
    return Status();
  }
  Result<Ring> ring = Ring::decode(text_bytes(it->second), self);
  if (!ring.ok()) {
    return Status::corruption("stored ring " + std::string(kRingKey) +
                              " is not valid: " + ring.status().message());
  }
  if (ring->universe() != universe) {
    return Status::corruption("stored ring " + std::string(kRingKey) + " covers " +
                              ring->universe().to_string() + ", not " + universe.to_string());
  }
  out.ring = std::move(*ring);
  return Status();
}

Status restore_paxos(const Stored& stored, Restored& out) {
  auto it = stored.find(kPaxosKey);
  if (it == stored.end()) {
    return Status();
  }
  Result<PaxosPersistent> promised = Paxos::decode_persistent(text_bytes(it->second));
  if (!promised.ok()) {
    return Status::corruption("stored consensus state " + std::string(kPaxosKey) +
                              " is not valid: " + promised.status().message());
  }
  out.paxos = *promised;
  return Status();
}

std::string address_key(const char* prefix, const Address& address) {
  return std::string(prefix) + (address.is_v4() ? "4" : "6") + to_hex(address.value());
}

// `prefix` (two characters) + family digit + 32 hex digits.
std::optional<Address> address_in_key(const char* prefix, const std::string& key) {
  if (key.size() != 35 || key.rfind(prefix, 0) != 0 || (key[2] != '4' && key[2] != '6')) {
    return std::nullopt;
  }
  Uint128 v = 0;
  for (std::size_t i = 3; i < key.size(); ++i) {
    char c = key[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) {
      return std::nullopt;
    }
    v = (v << 4) | static_cast<Uint128>(digit);
  }
  if (key[2] == '4') {
    return v <= 0xffffffffu ? std::optional(Address::v4(static_cast<std::uint32_t>(v)))
                            : std::nullopt;
  }
  return Address::v6(v);
}

// The peer names of a share record, after its count; false unless exactly `count` of them
// precede the owner, each in canonical form, ascending.
bool parse_share_peers(const std::string& value, std::size_t& at, std::size_t count,
                       std::set<PeerName>& peers) {
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t end = value.find(' ', at);
    if (end == std::string::npos) {
      return false;
    }
    std::string text = value.substr(at, end - at);
    Result<PeerName> name = PeerName::parse(text);
    if (!name.ok() || name->to_string() != text || (!peers.empty() && *name <= *peers.rbegin())) {
      return false;
    }
    peers.insert(*name);
    at = end + 1;
  }
  return true;
}

}  // namespace

std::string allocation_key(const Address& address) {
  return address_key(kAllocationPrefix, address);
}

std::optional<Address> address_from_key(const std::string& key) {
  return address_in_key(kAllocationPrefix, key);
}

std::string share_key(const Address& address) { return address_key(kSharePrefix, address); }

std::string share_value(const Share& share) {
  std::string value = std::to_string(share.peers.size());
  for (PeerName p : share.peers) {
    value += " " + p.to_string();
  }
  return value + " " + share.owner;
}

Result<std::pair<Address, Share>> decode_share(const std::string& key, const std::string& value,
                                               const Range& universe) {
  std::optional<Address> a = address_in_key(kSharePrefix, key);
  std::size_t count = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
  std::size_t at = static_cast<std::size_t>(end - value.data());
  Share share;
  bool ok = a && universe.contains(*a) && ec == std::errc() && at > 0 && at < value.size() &&
            value[at] == ' ' && count <= kMaxHeldAddresses &&
            parse_share_peers(value, ++at, count, share.peers) && at < value.size() &&
            value.size() - at <= kMaxOwnerBytes;
  if (!ok) {
    return Status::corruption("stored share " + key + " = '" + value +
                              "' is not well formed; restore the store from a backup or "
                              "remove the key");
  }
  share.owner = value.substr(at);
  return std::pair(*a, std::move(share));
}

StoreWrite share_write(const Address& a, const Share& share) {
  return {share_key(a), share_value(share)};
}

StoreWrite share_delete(const Address& a) { return {share_key(a), std::nullopt}; }

std::string notice_key(PeerName peer) { return kNoticePrefix + peer.to_string(); }

StoreWrite notice_write(PeerName peer, const SharesNotice& notice) {
  std::vector<std::uint8_t> bytes = encode_message(notice);
  return {notice_key(peer), std::string(bytes.begin(), bytes.end())};
}

StoreWrite notice_delete(PeerName peer) { return {notice_key(peer), std::nullopt}; }

std::string allocation_value(const Allocation& allocation) {
  return std::to_string(allocation.prefix_len) + (allocation.shared ? "s " : " ") +
         allocation.owner;
}

Result<std::pair<Address, Allocation>> decode_allocation(const std::string& key,
                                                         const std::string& value,
                                                         const Range& universe) {
  std::optional<Address> a = address_from_key(key);
  auto space_at = value.find(' ');
  int prefix_len = -1;
  bool shared = false;
  if (space_at != std::string::npos) {
    auto [end, ec] = std::from_chars(value.data(), value.data() + space_at, prefix_len);
    shared = end == value.data() + space_at - 1 && *end == 's';
    if (ec != std::errc() || (end != value.data() + space_at && !shared)) {
      prefix_len = -1;
    }
  }
  if (!a || space_at == std::string::npos || prefix_len < 0 || prefix_len > a->bits() ||
      value.size() - space_at - 1 > kMaxOwnerBytes || !universe.contains(*a)) {
    return Status::corruption("stored allocation " + key + " = '" + value +
                              "' is not well formed; restore the store from a backup or "
                              "remove the key");
  }
  return std::pair(*a, Allocation{value.substr(space_at + 1), prefix_len, shared});
}

StoreWrite allocation_write(const Address& a, const Allocation& allocation) {
  return {allocation_key(a), allocation_value(allocation)};
}

StoreWrite allocation_delete(const Address& a) { return {allocation_key(a), std::nullopt}; }

StoreWrite ring_write(const Ring& ring) { return {kRingKey, bytes_text(ring.encode())}; }

StoreWrite paxos_write(const PaxosPersistent& promised) {
  return {kPaxosKey, bytes_text(Paxos::encode_persistent(promised))};
}

std::string identity_value(const PeerIdentity& self) {
  return self.name.to_string() + " " + std::to_string(self.uid) + " " + self.nickname;
}

std::optional<PeerIdentity> parse_identity(const std::string& value) {
  std::size_t space = value.find(' ');
  if (space == std::string::npos) {
    return std::nullopt;
  }
  std::string name = value.substr(0, space);
  Result<PeerName> parsed = PeerName::parse(name);
  std::size_t uid_end = std::min(value.find(' ', space + 1), value.size());
  std::uint64_t uid = 0;
  auto [end, ec] = std::from_chars(value.data() + space + 1, value.data() + uid_end, uid);
  if (!parsed.ok() || parsed->to_string() != name || ec != std::errc() ||
      end != value.data() + uid_end || uid_end == space + 1) {
    return std::nullopt;
  }
  PeerIdentity identity;
  identity.name = *parsed;
  identity.uid = uid;
  identity.nickname = uid_end < value.size() ? value.substr(uid_end + 1) : std::string();
  return identity;
}

std::string identity_name(const std::string& value) { return value.substr(0, value.find(' ')); }

bool identity_is(const std::string& value, PeerName name) {
  std::optional<PeerIdentity> identity = parse_identity(value);
  return identity && identity->name == name;
}

std::vector<StoreWrite> start_records(const Cidr& universe, const PeerIdentity& self) {
  return {{kUniverseKey, universe.to_string()}, {kIdentityKey, identity_value(self)}};
}

Status check_stored_owner(const Stored& stored, const Cidr& universe, PeerName self) {
  std::string universe_text = universe.to_string();
  auto universe_it = stored.find(kUniverseKey);
  if (universe_it != stored.end() && universe_it->second != universe_text) {
    return Status::failed_precondition("the stored state is for allocation range " +
                                       universe_it->second + ", not " + universe_text);
  }
  auto identity_it = stored.find(kIdentityKey);
  if (identity_it != stored.end() && !identity_is(identity_it->second, self)) {
    return Status::failed_precondition("the stored state belongs to another peer name (" +
                                       identity_name(identity_it->second) + ")");
  }
  return Status();
}

namespace {

Result<Restored> restore_notices(const Stored& stored, const Range& universe, Restored& out) {
  for (auto it = stored.lower_bound(kNoticePrefix);
       it != stored.end() && it->first.rfind(kNoticePrefix, 0) == 0; ++it) {
    Result<PeerName> peer = PeerName::parse(it->first.substr(std::string(kNoticePrefix).size()));
    const std::string& value = it->second;
    Result<PeerMessage> m = decode_message(
        std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
    const SharesNotice* notice = m.ok() ? std::get_if<SharesNotice>(&*m) : nullptr;
    bool inside = notice != nullptr &&
                  std::all_of(notice->shares.begin(), notice->shares.end(),
                              [&](const SharedAddress& s) { return universe.contains(s.address); });
    if (!peer.ok() || notice_key(*peer) != it->first || !inside) {
      return Status::corruption("stored shares-notice " + it->first +
                                " is not well formed; restore the store from a backup or "
                                "remove the key");
    }
    out.notices[*peer] = *notice;
  }
  return std::move(out);
}

}  // namespace

Result<Restored> restore(const Stored& stored, const Range& universe, PeerName self) {
  Restored out;
  WIPAM_RETURN_IF_ERROR(restore_ring(stored, universe, self, out));
  WIPAM_RETURN_IF_ERROR(restore_paxos(stored, out));
  for (auto it = stored.lower_bound(kAllocationPrefix);
       it != stored.end() && it->first.rfind(kAllocationPrefix, 0) == 0; ++it) {
    Result<std::pair<Address, Allocation>> allocation =
        decode_allocation(it->first, it->second, universe);
    WIPAM_RETURN_IF_ERROR(allocation.status());
    out.allocations.push_back(std::move(*allocation));
  }
  for (auto it = stored.lower_bound(kSharePrefix);
       it != stored.end() && it->first.rfind(kSharePrefix, 0) == 0; ++it) {
    Result<std::pair<Address, Share>> share = decode_share(it->first, it->second, universe);
    WIPAM_RETURN_IF_ERROR(share.status());
    out.shares.push_back(std::move(*share));
  }
  return restore_notices(stored, universe, out);
}

}  // namespace wipam::ring
