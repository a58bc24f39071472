// The messages peers exchange inside frames, and their binary encoding.
//
// Every frame body starts with one FrameType byte. Integers are big-endian and sized;
// strings and byte blobs carry a length prefix and are bounded, so a decoder never
// allocates more than the frame it was handed. WIRE_FORMAT.md is the prose description.
// Decoders take untrusted bytes and return a Status naming what was wrong.
// Plain values and free functions; safe to use from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::gossip {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

enum class FrameType : std::uint8_t {
  kHello = 1,      // plaintext: who I am, what I allocate from, my key share
  kVerdict = 2,    // first keyed frame: accepted or refused (with reason) plus proof
  kHeartbeat = 3,  // keeps an idle link alive
  kTopology = 4,   // peer entries: who is connected to whom
  kBroadcast = 5,  // flooded to everyone, delivered once per (source, uid, seq)
  kUnicast = 6,    // routed hop by hop to one destination
  kGossip = 7,     // anti-entropy payload for one neighbour, never relayed
};

inline constexpr std::size_t kKeyShareBytes = 32;
inline constexpr std::size_t kNonceBytes = 32;
inline constexpr std::size_t kProofBytes = 32;
inline constexpr std::size_t kMaxNicknameBytes = 255;
inline constexpr std::size_t kMaxRangeTextBytes = 64;
inline constexpr std::size_t kMaxReasonBytes = 1024;
inline constexpr std::size_t kMaxAddressTextBytes = 64;
inline constexpr std::size_t kMaxAllocationIdentityBytes = 4096;
inline constexpr std::size_t kMaxLinksPerEntry = 4096;
inline constexpr std::size_t kMaxEntriesPerTopology = 4096;
inline constexpr std::uint8_t kMaxHops = 64;

// The largest Hello and Verdict bodies. Until a link is up no frame may be longer (plus the
// AEAD tag), so a stranger who has not authenticated can make a peer buffer only this much.
inline constexpr std::size_t kMaxHelloBytes = 1 + 8 + 8 + 2 + kMaxNicknameBytes + 2 + 2 +
                                              kMaxRangeTextBytes + 1 + kNonceBytes +
                                              kKeyShareBytes + 2 + kMaxAllocationIdentityBytes;
inline constexpr std::size_t kMaxVerdictBytes = 1 + 1 + kProofBytes + 2 + kMaxReasonBytes;
inline constexpr std::size_t kMaxHandshakeFrameBytes =
    kMaxHelloBytes > kMaxVerdictBytes ? kMaxHelloBytes : kMaxVerdictBytes;

struct Hello {
  ring::PeerIdentity identity;
  std::uint16_t listen_port = 0;
  std::string range;  // the allocation range, canonical CIDR text
  bool keyed = false;
  std::array<std::uint8_t, kNonceBytes> nonce{};
  std::array<std::uint8_t, kKeyShareBytes> key_share{};  // X25519 public key iff keyed
  // Opaque to the mesh (the daemon's ring identity); empty while there is none and on
  // version 1 links, which do not carry it.
  std::string allocation_identity;
};

// From this protocol version on a Hello carries allocation_identity.
inline constexpr std::uint8_t kHelloIdentityVersion = 2;

struct Verdict {
  bool accept = false;
  std::array<std::uint8_t, kProofBytes> proof{};  // zeros on plain links
  std::string reason;                             // empty iff accept
};

// One direct link a peer reports: the neighbour and the address it listens on.
struct Link {
  ring::PeerName peer;
  std::string address;  // "ip:port" others may dial to reach `peer`
  friend bool operator==(const Link&, const Link&) = default;
};

// What a peer says about itself; only the peer itself originates its entry.
struct PeerEntry {
  ring::PeerIdentity identity;
  std::uint64_t version = 0;
  std::vector<Link> links;
  friend bool operator==(const PeerEntry&, const PeerEntry&) = default;
};

struct BroadcastMessage {
  ring::PeerName source;
  std::uint64_t source_uid = 0;
  std::uint64_t seq = 0;
  Bytes payload;
};

struct UnicastMessage {
  ring::PeerName source;
  ring::PeerName destination;
  std::uint8_t hops_left = kMaxHops;
  Bytes payload;
};

// The type byte of a frame body; fails for an empty body or an unknown type.
Result<FrameType> frame_type(ByteView body);

// `version` is the negotiated protocol version (WIRE_FORMAT.md): it decides the Hello's fields.
Bytes encode_hello(const Hello& hello, std::uint8_t version = kHelloIdentityVersion);
Bytes encode_verdict(const Verdict& verdict);
Bytes encode_heartbeat();
Bytes encode_topology(const std::vector<PeerEntry>& entries);
Bytes encode_broadcast(const BroadcastMessage& message);
Bytes encode_unicast(const UnicastMessage& message);
Bytes encode_gossip(ByteView payload);

// Each decoder takes a whole frame body (type byte included) and fails unless the body is
// exactly one well-formed message of its type.
Result<Hello> decode_hello(ByteView body, std::uint8_t version = kHelloIdentityVersion);
Result<Verdict> decode_verdict(ByteView body);
Result<std::vector<PeerEntry>> decode_topology(ByteView body);
Result<BroadcastMessage> decode_broadcast(ByteView body);
Result<UnicastMessage> decode_unicast(ByteView body);
Result<Bytes> decode_gossip(ByteView body);

}  // namespace wipam::gossip
