// ShareNotices: what every peer knows of the shares in the others' space, so that an rmpeer
// keeps them. A shared address lives in one peer's space while other peers hold it too
// (shares.h); only that peer knows who. Were it removed by rmpeer while a sharer is away (or
// before a sharer's held-addresses reached the taker), the taker would see the address free
// and hand it to another owner. So each peer tells every other, on every change and as
// anti-entropy, which addresses of its space are shared and by whom (SharesNotice); each
// keeps the last notice of each peer, durably, and the taker of a removed peer's space
// reserves those addresses for their holders at once. Owned by the allocator; loop-confined.
#pragma once

#include <cstdint>
#include <map>

#include "ring/allocator_context.h"
#include "ring/messages.h"
#include "ring/peer_name.h"
#include "ring/reservations.h"

namespace wipam::ring {

class ShareNotices {
 public:
  ShareNotices(AllocatorContext& ctx, Reservations& reservations)
      : ctx_(ctx), reservations_(reservations) {}

  // After a restore: the notices heard before; ours is sent again when peers come up.
  void restore(std::map<PeerName, SharesNotice> heard) { heard_ = std::move(heard); }
  // `from` says what of its space is shared now.
  void on_notice(PeerName from, const SharesNotice& m);
  // We took `gone`'s space over (rmpeer): its shared addresses stay with their holders.
  void took_over(PeerName gone);

  // `peer` is up: it hears ours, if we share anything.
  void peer_up(PeerName peer);
  // Anti-entropy: ours again, if we share anything.
  void gossip();
  // At the end of each call: everyone hears ours if it changed in the call.
  void flush();

  // What we share of our space, as we tell it.
  SharesNotice ours() const;
  // The last notice `peer` sent, or null.
  const SharesNotice* heard_from(PeerName peer) const;

 private:
  AllocatorContext& ctx_;
  Reservations& reservations_;
  std::map<PeerName, SharesNotice> heard_;
  SharesNotice sent_;  // the last we broadcast
  // ctx_.shares_changes when we last compared ours with sent_ (none yet: the first compares).
  std::uint64_t flushed_at_ = ~std::uint64_t{0};
};

}  // namespace wipam::ring
