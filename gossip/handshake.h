// The connection handshake, as pure checks: the preamble and version negotiation, the
// Hello checks that refuse a peer with a clear reason, and the transcript both sides sign.
//
// Sequence (WIRE_FORMAT.md): preamble both ways, Hello both ways, then a Verdict both ways
// (sealed on keyed links). A link is up only when both Verdicts accept.
// Free functions over values; safe to use from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "gossip/crypto.h"
#include "gossip/wire.h"
#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::gossip {

inline constexpr std::uint8_t kProtocolVersionMin = 1;
inline constexpr std::uint8_t kProtocolVersionMax = 1;
inline constexpr std::size_t kPreambleBytes = 6;
using Preamble = std::array<std::uint8_t, kPreambleBytes>;

// "WIPM", lowest and highest protocol version spoken.
Preamble make_preamble(std::uint8_t min_version = kProtocolVersionMin,
                       std::uint8_t max_version = kProtocolVersionMax);

// The highest version both sides speak, or a refusal naming both ranges (or the bad magic).
Result<std::uint8_t> negotiate_version(const Preamble& ours, const Preamble& theirs);

// What we compare a peer's Hello against.
struct LocalTerms {
  ring::PeerIdentity self;
  std::string range;  // canonical CIDR text of our allocation range
  bool keyed = false;
};

// OK iff a peer with this Hello may connect: not ourselves, not a second incarnation of our
// name, the same allocation range, and the same choice about a password. The refusal's
// message is what both logs and the peer see.
Status check_hello(const Hello& theirs, const LocalTerms& ours);

// The exact refusal text for differing ranges (operators grep logs for it).
std::string incompatible_ranges_message(const std::string& theirs, const std::string& ours);

// SHA-256 over both preambles and both Hello bodies, initiator's first: what the keys are
// salted with and what the proofs sign, so tampering with any of it breaks the handshake.
Digest handshake_transcript(const Preamble& initiator_preamble, const Preamble& responder_preamble,
                            ByteView initiator_hello, ByteView responder_hello);

}  // namespace wipam::gossip
