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
#include <vector>

#include "gossip/crypto.h"
#include "gossip/wire.h"
#include "ring/address.h"
#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::gossip {

inline constexpr std::uint8_t kProtocolVersionMin = 1;
inline constexpr std::uint8_t kProtocolVersionMax = 2;  // 2: the Hello's allocation identity
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
  std::string allocation_identity;  // as sent in our Hello for this link; opaque
};

// Why a Hello was refused, for code to act on (the Status carries the text).
enum class Refusal : std::uint8_t {
  kNone,
  kOurselves,
  kNameCollision,
  kRange,
  kPassword,
  kCreatedApart,  // both have allocation state, created independently
  kByOwner,       // the mesh's own rules (filters, limits, duplicates, refused peers)
};

struct HelloCheck {
  Refusal refusal = Refusal::kNone;
  Status status;  // OK iff refusal is kNone; the text both logs and the peer see
};

// Accepts iff a peer with this Hello may connect: not ourselves, not a second incarnation of
// our name, the same allocation range, the same choice about a password, and allocation
// identities that do not conflict.
HelloCheck check_hello(const Hello& theirs, const LocalTerms& ours);

// True iff both identities are set and differ: the two sides' allocation states were
// created apart and must not link. An empty identity (no state yet) conflicts with nothing.
// An identity of several parts separated by '|' (one per allocation range) conflicts iff
// some part is set on both sides and differs, or the numbers of parts differ.
bool identities_conflict(const std::string& ours, const std::string& theirs);

// The refusal text for conflicting identities; `peer` is who we refuse. Long identities are
// cut so the line stays readable and fits a Verdict.
std::string created_apart_message(const std::string& peer, const std::string& ours,
                                  const std::string& theirs);

// The exact refusal text for differing ranges (operators grep logs for it).
std::string incompatible_ranges_message(const std::string& theirs, const std::string& ours);
// The allocation ranges as a Hello names them: canonical CIDRs, comma-separated.
std::string ranges_text(const std::vector<ring::Cidr>& ranges);

// SHA-256 over both preambles and both Hello bodies, initiator's first: what the keys are
// salted with and what the proofs sign, so tampering with any of it breaks the handshake.
Digest handshake_transcript(const Preamble& initiator_preamble, const Preamble& responder_preamble,
                            ByteView initiator_hello, ByteView responder_hello);

}  // namespace wipam::gossip
