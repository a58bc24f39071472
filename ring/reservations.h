// Reservations: the held-addresses protocol. An address stays with whoever holds it when the
// ring gives its range to another peer (a ring conflict settled, or an rmpeer of a peer that
// was alive); the holder tells the new owner every address it holds there (HeldAddresses), and
// the owner reserves exactly those under "peer:<holder>" so it never hands them out.
// Releasing goes through here too: an address held in another peer's range is freed by
// telling that peer. So do shares (shares.h): the holder grants them, and its release of a
// shared address hands it to a sharer. Owned by the allocator; loop-confined.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/allocator_context.h"
#include "ring/messages.h"
#include "ring/peer_name.h"
#include "ring/space_requests.h"

namespace wipam::ring {

class Reservations {
 public:
  // `requests` says which shares we await, which our HeldAddresses list as asked.
  Reservations(AllocatorContext& ctx, const SpaceRequests& requests)
      : ctx_(ctx), requests_(requests) {}

  // After a restore: the owners of ranges where we hold addresses must hear of them.
  void restore();
  // Frees `a` if it is held: in our space, or by telling the owner of its range.
  void release(const Address& a);
  // Frees every address of `owner`; what it held, with prefixes.
  std::vector<Cidr> release_all(const std::string& owner);
  // The ring says another peer owns `lost` now. Addresses we hold there stay ours (we tell
  // the new owner to reserve them); reservations we kept there for other peers are dropped
  // (those peers tell the new owner themselves).
  void give_up(const Range& lost);
  // The ring changed hands somewhere: the owner of a range where we hold an address may be
  // new (another peer's rmpeer, say), and it hears what we hold there.
  void ring_changed();
  // `from` tells us every address it holds in ranges we own; we reserve exactly those.
  void on_held(PeerName from, const HeldAddresses& m);

  // `from` asks to share an address of our space: true iff answered here, granted (we hold
  // it for the owner it names); otherwise the caller answers it as a SpaceRequest for that
  // one address, which hands it over if it is free and denies it if not.
  bool share(PeerName from, const ShareRequest& m);
  // `holder` granted us a share (or holds something we claimed): it hears what we hold.
  void granted(PeerName holder) { tell(holder); }
  // `from` holds `a`, of our space, for `owner` with a shared claim: it shares `a` with
  // whoever else holds it for that owner (a duplicate if held for another).
  void hold_shared(PeerName from, const Address& a, const std::string& owner);
  // Drops the shares of `a` (after a restore) unless it is held in our space.
  void check_shares();

  // `peer` is up: it hears what we hold in its ranges, if anything.
  void peer_up(PeerName peer);
  // Anti-entropy: every reachable owner we hold addresses of hears them again.
  void gossip();
  // At the end of each call: the owners whose part changed in it hear of it.
  void flush();

 private:
  bool hand_to_sharer(const Address& a);
  bool shares_with(PeerName from, const SharedHolding& h) const;
  void let_go(PeerName from, const std::set<Address>& wanted);
  void report_duplicate(PeerName from, const Address& a, const Allocation& held);
  void unshare(const Address& a, PeerName peer);
  void tell(PeerName owner);
  void sync(PeerName owner);

  // False for a message of `from`'s older than one already taken from it (reordered);
  // otherwise it becomes the latest.
  bool in_order(PeerName from, std::uint64_t incarnation, std::uint64_t sequence);

  struct HeldOrder {
    std::uint64_t incarnation = 0;
    std::uint64_t sequence = 0;
  };

  AllocatorContext& ctx_;
  const SpaceRequests& requests_;
  std::map<PeerName, HeldOrder> last_held_;  // the latest taken from each peer
  std::set<PeerName> sync_;                  // peers to tell which of their addresses we hold
  std::set<PeerName> dirty_;                 // owners to tell at the end of this call
};

}  // namespace wipam::ring
