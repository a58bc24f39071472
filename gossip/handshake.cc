#include "gossip/handshake.h"

#include <algorithm>

namespace wipam::gossip {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic = {'W', 'I', 'P', 'M'};

std::string version_range(const Preamble& p) {
  return std::to_string(p[4]) + ".." + std::to_string(p[5]);
}

// Identities in a refusal line: whole when short, else cut, so the line stays readable and
// fits a Verdict's reason (1024 bytes).
constexpr std::size_t kShownIdentityBytes = 300;
std::string cut(const std::string& identity) {
  return identity.size() <= kShownIdentityBytes ? identity
                                                : identity.substr(0, kShownIdentityBytes) + "...";
}

}  // namespace

Preamble make_preamble(std::uint8_t min_version, std::uint8_t max_version) {
  return {kMagic[0], kMagic[1], kMagic[2], kMagic[3], min_version, max_version};
}

Result<std::uint8_t> negotiate_version(const Preamble& ours, const Preamble& theirs) {
  if (!std::equal(kMagic.begin(), kMagic.end(), theirs.begin())) {
    return Status::invalid_argument("not a weave-ipam peer (bad preamble)");
  }
  std::uint8_t low = std::max(ours[4], theirs[4]);
  std::uint8_t high = std::min(ours[5], theirs[5]);
  if (theirs[4] > theirs[5] || low > high) {
    return Status::failed_precondition("no common protocol version (ours " + version_range(ours) +
                                       ", theirs " + version_range(theirs) + ")");
  }
  return high;
}

std::string incompatible_ranges_message(const std::string& theirs, const std::string& ours) {
  return "Incompatible IP allocation ranges (received: " + theirs + ", ours: " + ours + ")";
}

std::string ranges_text(const std::vector<ring::Cidr>& ranges) {
  std::string out;
  for (const ring::Cidr& r : ranges) {
    out += (out.empty() ? "" : ",") + r.to_string();
  }
  return out;
}

bool identities_conflict(const std::string& ours, const std::string& theirs) {
  if (ours.empty() || theirs.empty() || ours == theirs) {
    return false;
  }
  // Several parts ('|'-separated, one per allocation range) are compared one by one.
  std::size_t a = 0;
  std::size_t b = 0;
  while (a <= ours.size() && b <= theirs.size()) {
    std::size_t a_end = std::min(ours.find('|', a), ours.size());
    std::size_t b_end = std::min(theirs.find('|', b), theirs.size());
    std::string_view x(ours.data() + a, a_end - a);
    std::string_view y(theirs.data() + b, b_end - b);
    if (!x.empty() && !y.empty() && x != y) {
      return true;
    }
    a = a_end + 1;
    b = b_end + 1;
  }
  return a <= ours.size() || b <= theirs.size();  // different numbers of parts
}

std::string created_apart_message(const std::string& peer, const std::string& ours,
                                  const std::string& theirs) {
  return "this peer's IP allocation was created apart from " + peer + "'s (ours: " + cut(ours) +
         ", theirs: " + cut(theirs) +
         "); wipe the state of the smaller network and restart its peers";
}

HelloCheck check_hello(const Hello& theirs, const LocalTerms& ours) {
  const ring::PeerIdentity& them = theirs.identity;
  if (them.name == ours.self.name && them.uid == ours.self.uid) {
    return {Refusal::kOurselves, Status::failed_precondition("connected to ourselves")};
  }
  if (them.name == ours.self.name) {
    return {Refusal::kNameCollision,
            Status::conflict("peer name collision: " + them.to_string() +
                             " has our name but a different UID; give each peer its own name")};
  }
  if (theirs.range != ours.range) {
    return {Refusal::kRange,
            Status::conflict(incompatible_ranges_message(theirs.range, ours.range))};
  }
  if (theirs.keyed != ours.keyed) {
    return {Refusal::kPassword,
            Status::failed_precondition(
                ours.keyed ? "peer " + them.to_string() + " has no password but we require one"
                           : "peer " + them.to_string() + " requires a password but we have none")};
  }
  if (identities_conflict(ours.allocation_identity, theirs.allocation_identity)) {
    return {Refusal::kCreatedApart,
            Status::conflict(created_apart_message(them.to_string(), ours.allocation_identity,
                                                   theirs.allocation_identity))};
  }
  return {};
}

Digest handshake_transcript(const Preamble& initiator_preamble, const Preamble& responder_preamble,
                            ByteView initiator_hello, ByteView responder_hello) {
  Bytes all;
  all.insert(all.end(), initiator_preamble.begin(), initiator_preamble.end());
  all.insert(all.end(), responder_preamble.begin(), responder_preamble.end());
  // Length-prefix each Hello so no two transcripts concatenate to the same bytes.
  for (ByteView hello : {initiator_hello, responder_hello}) {
    std::array<std::uint8_t, 4> n = {static_cast<std::uint8_t>(hello.size() >> 24),
                                     static_cast<std::uint8_t>(hello.size() >> 16),
                                     static_cast<std::uint8_t>(hello.size() >> 8),
                                     static_cast<std::uint8_t>(hello.size())};
    all.insert(all.end(), n.begin(), n.end());
    all.insert(all.end(), hello.begin(), hello.end());
  }
  return sha256(all);
}

}  // namespace wipam::gossip
