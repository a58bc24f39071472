// The messages peers' allocators send each other, and their wire encoding.
//
// A message is one CBOR map carried as an opaque payload by the gossip layer, which has
// already authenticated the sender. decode() treats its input as hostile: anything
// malformed is refused with Code::kCorruption, never a crash. The byte layout is described
// in ring/MESSAGES.md. Immutable values, safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ring/address.h"
#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::ring {

// Our whole ring, sent on every ownership change (broadcast), in reply to a newcomer
// (unicast) and as periodic anti-entropy (gossip). `ring` is Ring::encode().
struct RingUpdate {
  std::vector<std::uint8_t> ring;
  friend bool operator==(const RingUpdate&, const RingUpdate&) = default;
};

// "I have no ring and need one": an observer or a peer that restarted empty asks; peers
// with a ring answer with a RingUpdate, electors without one start consensus.
struct RingRequest {
  friend bool operator==(const RingRequest&, const RingRequest&) = default;
};

// Asks the receiver to give the sender free space inside `wanted` (a whole subnet for an
// allocation, a single address for a claim).
struct SpaceRequest {
  Range wanted;
  friend bool operator==(const SpaceRequest&, const SpaceRequest&) = default;
};

// The receiver of a SpaceRequest has nothing free inside `wanted`.
struct SpaceDenied {
  Range wanted;
  friend bool operator==(const SpaceDenied&, const SpaceDenied&) = default;
};

// Paxos knowledge for creating the ring; `state` is Paxos::encode().
struct PaxosUpdate {
  std::vector<std::uint8_t> state;
  friend bool operator==(const PaxosUpdate&, const PaxosUpdate&) = default;
};

// Every address the sender still holds inside ranges the receiver now owns (after a ring
// conflict or an rmpeer of a peer that was alive, or a share). The receiver reserves exactly
// this set for the sender, replacing what the sender told it before.
// An address held by a shared claim (shares.h), with the owner it is held for, so that a new
// owner of its range can tell several peers sharing it from a duplicate.
struct SharedHolding {
  Address address;
  std::string owner;
  friend bool operator==(const SharedHolding&, const SharedHolding&) = default;
};
// The addresses held by shared claims are in `shared`, not in `addresses`.
// `incarnation` (the sender's run, PeerIdentity::uid) and `sequence` (counting up in that
// run) order one sender's messages: the network may reorder them, and a set the sender said
// before a share was granted must not end the share (0: not ordered, from an older version).
// `asked` lists the shares the sender has asked the receiver for and awaits: a grant already
// on its way must not be taken back because this set, sent before it arrived, lacks it.
struct HeldAddresses {
  std::vector<Address> addresses;
  std::vector<SharedHolding> shared = {};
  std::vector<SharedHolding> asked = {};
  std::uint64_t incarnation = 0;
  std::uint64_t sequence = 0;
  friend bool operator==(const HeldAddresses&, const HeldAddresses&) = default;
};

// Asks the receiver, whose space holds `address`, to share it with the sender for `owner` (a
// claim that several peers may hold at once, such as a gateway every host names). Granted
// iff the receiver holds it for that owner; free, it is handed over as for a SpaceRequest of
// the one address; otherwise denied with a SpaceDenied.
// Ordered with the sender's HeldAddresses (same incarnation and sequence), so that one the
// sender sent before it is not taken as its word after the grant.
struct ShareRequest {
  Address address;
  std::string owner;
  std::uint64_t incarnation = 0;
  std::uint64_t sequence = 0;
  friend bool operator==(const ShareRequest&, const ShareRequest&) = default;
};

// The sender shares `address` for `owner` with the receiver, which may now hold it too.
struct ShareGranted {
  Address address;
  std::string owner;
  friend bool operator==(const ShareGranted&, const ShareGranted&) = default;
};

// One shared address of the sender's space: the owner it is held for, and the other peers
// holding it (the sender's table may name one of them as a `peer:` reservation).
struct SharedAddress {
  Address address;
  std::string owner;
  std::vector<PeerName> holders;
  friend bool operator==(const SharedAddress&, const SharedAddress&) = default;
};
// Every shared address of the sender's space, replacing what it said before. Every peer keeps
// the last one of each peer, so that whoever takes the sender's space over by rmpeer keeps
// those addresses for their other holders, even for one that is away just then.
struct SharesNotice {
  std::vector<SharedAddress> shares;
  friend bool operator==(const SharesNotice&, const SharesNotice&) = default;
};

using PeerMessage = std::variant<RingUpdate, RingRequest, SpaceRequest, SpaceDenied, PaxosUpdate,
                                 HeldAddresses, ShareRequest, ShareGranted, SharesNotice>;

// Limits that keep a hostile peer from making us allocate without bound.
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxHeldAddresses = 65536;
inline constexpr std::size_t kMaxSharedHeld = 1024;  // of those, with their owners
inline constexpr std::size_t kMaxNoticeShares = 1024;
inline constexpr std::size_t kMaxNoticeHolders = 16384;  // over all of a notice's shares

std::vector<std::uint8_t> encode_message(const PeerMessage& message);
Result<PeerMessage> decode_message(std::span<const std::uint8_t> bytes);

// A message of one of several allocation ranges (range_allocators.h). The first range's
// messages travel bare, as a one-range peer sends them; another range's are wrapped as
// message type 10, `[10, [[address, prefix length], payload]]`, naming the range they are for.
struct RangedMessage {
  std::optional<Cidr> range;  // nullopt: the first range's, sent bare
  PeerMessage message;
};
std::vector<std::uint8_t> encode_ranged_message(const Cidr& range, const PeerMessage& message);
// A bare message, or one wrapped for a range (whose inner message is bare).
Result<RangedMessage> decode_ranged_message(std::span<const std::uint8_t> bytes);

// "ring-update", "space-request", ... for logs.
const char* message_name(const PeerMessage& message);

}  // namespace wipam::ring
