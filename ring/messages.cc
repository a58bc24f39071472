#include "ring/messages.h"

#include <nlohmann/json.hpp>

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
};

Result<std::vector<std::uint8_t>> decode_bytes(const json& j, const char* what) {
  if (!j.is_binary()) {
    return Status::corruption(std::string(what) + " is not a byte string");
  }
  return std::vector<std::uint8_t>(j.get_binary().begin(), j.get_binary().end());
}

Result<PeerMessage> decode_held(const json& body) {
  if (!body.is_array() || body.size() > kMaxHeldAddresses) {
    return Status::corruption("held addresses are not a bounded list");
  }
  HeldAddresses held;
  held.addresses.reserve(body.size());
  for (const json& item : body) {
    Result<Address> a = decode_address(item);
    if (!a.ok()) {
      return a.status();
    }
    held.addresses.push_back(*a);
  }
  return PeerMessage(std::move(held));
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
    return {Tag::kHeldAddresses, std::move(list)};
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
  // [type, body]: the longest list is held-addresses'; ring and paxos state are byte strings.
  static constexpr CborLimits kLimits{kMaxMessageBytes, kMaxCborDepth, kMaxHeldAddresses,
                                      kMaxHeldAddresses + 8};
  Result<json> parsed = parse_cbor(bytes, kLimits);
  if (!parsed.ok()) {
    return parsed.status().with_context("message refused");
  }
  if (!parsed->is_array() || parsed->size() != 2 || !(*parsed)[0].is_number_unsigned()) {
    return Status::corruption("message is not a [type, body] CBOR pair");
  }
  const json& j = *parsed;
  auto tag = j[0].get<std::uint64_t>();
  if (tag < 1 || tag > 6) {
    return Status::corruption("unknown message type " + std::to_string(tag));
  }
  return decode_body(static_cast<Tag>(tag), j[1]);
}

const char* message_name(const PeerMessage& message) {
  static constexpr const char* kNames[] = {"ring-update",  "ring-request", "space-request",
                                           "space-denied", "paxos-update", "held-addresses"};
  return kNames[message.index()];
}

}  // namespace wipam::ring
