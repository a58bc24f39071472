#include "ring/messages.h"

#include <nlohmann/json.hpp>

#include "ring/allocation_table.h"
#include "ring/cbor.h"

namespace wipam::ring {
namespace {

using nlohmann::json;

enum class Tag : std::uint8_t {
  kRingUpdate = 1,
  kRingRequest = 2,
  kSpaceRequest = 3,
  kSpaceDenied = 4,
  kPaxosUpdate = 5,
  kHeldAddresses = 6,
  kShareRequest = 7,
  kShareGranted = 8,
  kSharesNotice = 9,
};
constexpr std::uint64_t kLastTag = 9;
constexpr std::uint64_t kRangedTag = 10;  // an envelope, not a PeerMessage of its own

Result<std::vector<std::uint8_t>> decode_bytes(const json& j, const char* what) {
  if (!j.is_binary()) {
    return Status::corruption(std::string(what) + " is not a byte string");
  }
  return std::vector<std::uint8_t>(j.get_binary().begin(), j.get_binary().end());
}

// One held address: its bytes, [bytes, owner] when it is held by a shared claim, or
// [bytes, owner, true] for a share asked for and not yet granted.
Status decode_held_item(const json& item, HeldAddresses& held) {
  if (!item.is_array()) {
    Result<Address> a = decode_address(item);
    WIPAM_RETURN_IF_ERROR(a.status());
    held.addresses.push_back(*a);
    return Status();
  }
  bool asked = item.size() == 3 && item[2].is_boolean() && item[2].get<bool>();
  if ((item.size() != 2 && !asked) || !item[1].is_string() ||
      item[1].get_ref<const std::string&>().size() > kMaxOwnerBytes ||
      held.shared.size() + held.asked.size() >= kMaxSharedHeld) {
    return Status::corruption("a shared held address is not a bounded [address, owner] pair");
  }
  Result<Address> a = decode_address(item[0]);
  WIPAM_RETURN_IF_ERROR(a.status());
  (asked ? held.asked : held.shared).push_back({*a, item[1].get<std::string>()});
  return Status();
}

// The addresses, then (from a version that orders them) the incarnation and the sequence.
Result<PeerMessage> decode_held(const json& body) {
  if (!body.is_array() || body.size() > kMaxHeldAddresses + 2) {
    return Status::corruption("held addresses are not a bounded list");
  }
  std::size_t n = body.size();
  bool ordered = n >= 2 && body[n - 1].is_number_unsigned() && body[n - 2].is_number_unsigned();
  std::size_t items = ordered ? n - 2 : n;
  if (items > kMaxHeldAddresses) {
    return Status::corruption("held addresses are not a bounded list");
  }
  HeldAddresses held;
  held.addresses.reserve(items);
  for (std::size_t i = 0; i < items; ++i) {
    WIPAM_RETURN_IF_ERROR(decode_held_item(body[i], held));
  }
  if (ordered) {
    held.incarnation = body[n - 2].get<std::uint64_t>();
    held.sequence = body[n - 1].get<std::uint64_t>();
  }
  return PeerMessage(std::move(held));
}

// [address, owner]: the body of a share-granted, and of a share-request, which may add its
// sender's [incarnation, sequence].
Result<PeerMessage> decode_share(Tag tag, const json& body) {
  bool ordered = tag == Tag::kShareRequest && body.is_array() && body.size() == 4 &&
                 body[2].is_number_unsigned() && body[3].is_number_unsigned();
  if (!body.is_array() || (body.size() != 2 && !ordered) || !body[1].is_string() ||
      body[1].get_ref<const std::string&>().size() > kMaxOwnerBytes) {
    return Status::corruption("a share is not an [address, owner] pair");
  }
  Result<Address> a = decode_address(body[0]);
  if (!a.ok()) {
    return a.status();
  }
  std::string owner = body[1].get<std::string>();
  if (tag == Tag::kShareGranted) {
    return PeerMessage(ShareGranted{*a, std::move(owner)});
  }
  ShareRequest request{*a, std::move(owner)};
  if (ordered) {
    request.incarnation = body[2].get<std::uint64_t>();
    request.sequence = body[3].get<std::uint64_t>();
  }
  return PeerMessage(std::move(request));
}

// [address, owner, [peer name...]]: one shared address of a shares-notice.
Status decode_shared_address(const json& item, std::size_t& holders, SharesNotice& notice) {
  if (!item.is_array() || item.size() != 3 || !item[1].is_string() ||
      item[1].get_ref<const std::string&>().size() > kMaxOwnerBytes || !item[2].is_array() ||
      item[2].size() > kMaxNoticeHolders - holders) {
    return Status::corruption("a shared address is not a bounded [address, owner, peers] list");
  }
  Result<Address> a = decode_address(item[0]);
  WIPAM_RETURN_IF_ERROR(a.status());
  SharedAddress shared{*a, item[1].get<std::string>(), {}};
  for (const json& peer : item[2]) {
    if (!peer.is_number_unsigned() || peer.get<std::uint64_t>() > PeerName::kMask ||
        peer.get<std::uint64_t>() == 0) {
      return Status::corruption("a shared address's holder is not a peer name");
    }
    shared.holders.push_back(PeerName(peer.get<std::uint64_t>()));
  }
  holders += shared.holders.size();
  notice.shares.push_back(std::move(shared));
  return Status();
}

Result<PeerMessage> decode_notice(const json& body) {
  if (!body.is_array() || body.size() > kMaxNoticeShares) {
    return Status::corruption("a shares-notice is not a bounded list");
  }
  SharesNotice notice;
  std::size_t holders = 0;
  for (const json& item : body) {
    WIPAM_RETURN_IF_ERROR(decode_shared_address(item, holders, notice));
  }
  return PeerMessage(std::move(notice));
}

Result<PeerMessage> decode_body(Tag tag, const json& body) {
  switch (tag) {
    case Tag::kRingUpdate: {
      Result<std::vector<std::uint8_t>> ring = decode_bytes(body, "ring");
      return ring.ok() ? Result<PeerMessage>(RingUpdate{std::move(*ring)}) : ring.status();
    }
    case Tag::kRingRequest:
      return PeerMessage(RingRequest{});
    case Tag::kSpaceRequest:
    case Tag::kSpaceDenied: {
      Result<Range> wanted = decode_range(body);
      if (!wanted.ok()) {
        return wanted.status();
      }
      return tag == Tag::kSpaceRequest ? PeerMessage(SpaceRequest{*wanted})
                                       : PeerMessage(SpaceDenied{*wanted});
    }
    case Tag::kPaxosUpdate: {
      Result<std::vector<std::uint8_t>> state = decode_bytes(body, "paxos state");
      return state.ok() ? Result<PeerMessage>(PaxosUpdate{std::move(*state)}) : state.status();
    }
    case Tag::kHeldAddresses:
      return decode_held(body);
    case Tag::kShareRequest:
    case Tag::kShareGranted:
      return decode_share(tag, body);
    case Tag::kSharesNotice:
      return decode_notice(body);
  }
  return Status::corruption("unknown message type " + std::to_string(static_cast<int>(tag)));
}

struct Encoder {
  json operator()(const RingUpdate& m) const { return {Tag::kRingUpdate, json::binary(m.ring)}; }
  json operator()(const RingRequest&) const { return {Tag::kRingRequest, nullptr}; }
  json operator()(const SpaceRequest& m) const {
    return {Tag::kSpaceRequest, encode_range(m.wanted)};
  }
  json operator()(const SpaceDenied& m) const {
    return {Tag::kSpaceDenied, encode_range(m.wanted)};
  }
  json operator()(const PaxosUpdate& m) const { return {Tag::kPaxosUpdate, json::binary(m.state)}; }
  json operator()(const HeldAddresses& m) const {
    json list = json::array();
    for (const Address& a : m.addresses) {
      list.push_back(encode_address(a));
    }
    for (const SharedHolding& h : m.shared) {
      list.push_back(json::array({encode_address(h.address), h.owner}));
    }
    for (const SharedHolding& h : m.asked) {
      list.push_back(json::array({encode_address(h.address), h.owner, true}));
    }
    if (m.incarnation != 0 || m.sequence != 0) {  // what was decoded, said again
      list.push_back(m.incarnation);
      list.push_back(m.sequence);
    }
    return {Tag::kHeldAddresses, std::move(list)};
  }
  json operator()(const ShareRequest& m) const {
    json body = json::array({encode_address(m.address), m.owner});
    if (m.incarnation != 0 || m.sequence != 0) {  // what was decoded, said again
      body.push_back(m.incarnation);
      body.push_back(m.sequence);
    }
    return {Tag::kShareRequest, std::move(body)};
  }
  json operator()(const ShareGranted& m) const {
    return {Tag::kShareGranted, {encode_address(m.address), m.owner}};
  }
  json operator()(const SharesNotice& m) const {
    json list = json::array();
    for (const SharedAddress& s : m.shares) {
      json holders = json::array();
      for (PeerName p : s.holders) {
        holders.push_back(p.value());
      }
      list.push_back(json::array({encode_address(s.address), s.owner, std::move(holders)}));
    }
    return {Tag::kSharesNotice, std::move(list)};
  }
};

}  // namespace

std::vector<std::uint8_t> encode_message(const PeerMessage& message) {
  return json::to_cbor(std::visit(Encoder{}, message));
}

Result<PeerMessage> decode_message(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxMessageBytes) {
    return Status::corruption("message of " + std::to_string(bytes.size()) +
                              " bytes exceeds the limit");
  }
  // [type, body]: the longest list is held-addresses' (a shared one is a pair, two items
  // more, and an asked one a triple, three more); ring and paxos state are byte strings.
  static constexpr CborLimits kLimits{kMaxMessageBytes, kMaxCborDepth, kMaxHeldAddresses + 2,
                                      kMaxHeldAddresses + 3 * kMaxSharedHeld + 10};
  Result<json> parsed = parse_cbor(bytes, kLimits);
  if (!parsed.ok()) {
    return parsed.status().with_context("message refused");
  }
  if (!parsed->is_array() || parsed->size() != 2 || !(*parsed)[0].is_number_unsigned()) {
    return Status::corruption("message is not a [type, body] CBOR pair");
  }
  const json& j = *parsed;
  auto tag = j[0].get<std::uint64_t>();
  if (tag < 1 || tag > kLastTag) {
    return Status::corruption("unknown message type " + std::to_string(tag));
  }
  return decode_body(static_cast<Tag>(tag), j[1]);
}

std::vector<std::uint8_t> encode_ranged_message(const Cidr& range, const PeerMessage& message) {
  json named = json::array({encode_address(range.address()), range.prefix_len()});
  json body = json::array({std::move(named), json::binary(encode_message(message))});
  return json::to_cbor(json::array({kRangedTag, std::move(body)}));
}

Result<RangedMessage> decode_ranged_message(std::span<const std::uint8_t> bytes) {
  // A bare message's first bytes are an array head and its type; an envelope's type is 10.
  static constexpr std::uint8_t kEnvelopeHead[] = {0x82, static_cast<std::uint8_t>(kRangedTag)};
  if (bytes.size() < 2 || bytes[0] != kEnvelopeHead[0] || bytes[1] != kEnvelopeHead[1]) {
    Result<PeerMessage> bare = decode_message(bytes);
    if (!bare.ok()) {
      return bare.status();
    }
    return RangedMessage{std::nullopt, std::move(*bare)};
  }
  if (bytes.size() > kMaxMessageBytes + 64) {
    return Status::corruption("message of " + std::to_string(bytes.size()) +
                              " bytes exceeds the limit");
  }
  static constexpr CborLimits kLimits{kMaxMessageBytes + 64, 3, 2, 8};
  Result<json> parsed = parse_cbor(bytes, kLimits);
  if (!parsed.ok()) {
    return parsed.status().with_context("ranged message refused");
  }
  const json& j = *parsed;
  if (!j.is_array() || j.size() != 2 || !j[1].is_array() || j[1].size() != 2 ||
      !j[1][0].is_array() || j[1][0].size() != 2 || !j[1][0][1].is_number_unsigned() ||
      !j[1][1].is_binary()) {
    return Status::corruption("ranged message is not [10, [[address, prefix], payload]]");
  }
  Result<Address> address = decode_address(j[1][0][0]);
  if (!address.ok()) {
    return address.status().with_context("ranged message");
  }
  std::uint64_t prefix = j[1][0][1].get<std::uint64_t>();
  Result<Cidr> range = Cidr::make(*address, prefix > 128 ? -1 : static_cast<int>(prefix));
  if (!range.ok() || !range->is_subnet()) {
    return Status::corruption("ranged message names no subnet");
  }
  const auto& inner = j[1][1].get_binary();
  Result<PeerMessage> message = decode_message(std::span(inner.data(), inner.size()));
  if (!message.ok()) {
    return message.status().with_context("message for " + range->to_string());
  }
  return RangedMessage{*range, std::move(*message)};
}

const char* message_name(const PeerMessage& message) {
  static constexpr const char* kNames[] = {"ring-update",   "ring-request",  "space-request",
                                           "space-denied",  "paxos-update",  "held-addresses",
                                           "share-request", "share-granted", "shares-notice"};
  return kNames[message.index()];
}

}  // namespace wipam::ring
