// SpaceRequests: asking other peers for free space, and answering their asks. One ask is kept
// per wanted range: the donor asked last while we wait for its answer, and the peers that
// denied or did not answer in time, so each is asked once. The donor side gives the biggest
// aligned free block it can (Space::choose_donation) and says so in the ring. Owned by the
// allocator; loop-confined.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/allocator_context.h"
#include "ring/messages.h"
#include "ring/peer_name.h"

namespace wipam::ring {

// Where an ask for space stands.
enum class AskOutcome {
  kAsked,        // a donor has the request (sent now or earlier): wait for its answer
  kUnreachable,  // only unreachable peers advertise free space there: wait, or rmpeer them
  kNoDonorYet,   // no peer to ask now, but not every owner has denied: wait for news
  kNever,        // nothing to ask for, or every owner of the range denied: fail now
};

struct AskResult {
  AskOutcome outcome = AskOutcome::kAsked;
  std::string reason;  // what the caller waits for, or (kNever) why it fails
};

// One tracked request for space, per wanted range.
struct SpaceAsk {
  std::optional<PeerName> donor;  // the peer asked last, while we wait for its answer
  Millis sent_at{0};
  std::set<PeerName> tried;              // peers that denied or did not answer
  std::optional<std::string> share_for;  // a ShareRequest's owner; else a SpaceRequest
};

class SpaceRequests {
 public:
  explicit SpaceRequests(AllocatorContext& ctx) : ctx_(ctx) {}

  // Asks a peer for space in `wanted` unless a request is in flight already.
  AskResult ask(const Range& wanted);
  // Asks `holder`, which owns `a`, to hand it over unless it has been asked; what we wait for.
  // With `share_for`, asks it to share `a` if it holds it for that owner (ShareRequest).
  std::string ask_for_address(const Address& a, PeerName holder,
                              const std::optional<std::string>& share_for = std::nullopt);
  // The shares we asked `donor` for and await (HeldAddresses::asked).
  std::vector<SharedHolding> shares_asked_of(PeerName donor) const;
  // `from` shared `a` with us: the ask for it is over.
  void shared(PeerName from, const Address& a);
  // `from` has nothing for `wanted`. An ask for a single address ends there (its holder
  // has it in use); any other goes on to the next donor.
  void denied(PeerName from, const Range& wanted);
  // The donor side: gives `from` free space inside what it asks for, or denies it.
  void answer(PeerName from, const SpaceRequest& m);

  // `peer` went away: asks waiting for it go elsewhere.
  void peer_down(PeerName peer);
  // Asks unanswered for `timeout` go elsewhere.
  void expire(Millis now, Millis timeout);
  // Forgets the asks `needed` says nobody waits for any more.
  void keep_if(const std::function<bool(const Range&)>& needed);

 private:
  std::optional<PeerName> choose_donor(const Range& wanted, const SpaceAsk& ask) const;
  std::string unreachable_owners(const Range& wanted) const;
  bool everyone_denied(const Range& wanted, const SpaceAsk& ask) const;
  std::string from_donor(PeerName donor, const Range& wanted) const;

  AllocatorContext& ctx_;
  std::map<Range, SpaceAsk> asks_;
};

}  // namespace wipam::ring
