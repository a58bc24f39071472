// AddressCommands: the rules of a client's commands on addresses. Allocate, claim and prime
// finish at once when they can, and otherwise wait in the PendingQueue, tried again whenever
// something changed, until they can or their deadline passes; release, bind and lookup always
// finish at once. While a ring created apart stands, no new address is handed out. Owned by
// the allocator; loop-confined.
#pragma once

#include <optional>

#include "ring/allocator_context.h"
#include "ring/bootstrap.h"
#include "ring/commands.h"
#include "ring/messages.h"
#include "ring/pending.h"
#include "ring/reservations.h"
#include "ring/space_requests.h"

namespace wipam::ring {

class AddressCommands {
 public:
  AddressCommands(AllocatorContext& ctx, PendingQueue& pending, SpaceRequests& requests,
                  Bootstrap& bootstrap, Reservations& reservations)
      : ctx_(ctx),
        pending_(pending),
        requests_(requests),
        bootstrap_(bootstrap),
        reservations_(reservations) {}

  void run(RequestId id, const AllocateCommand& c);
  void run(RequestId id, const ClaimCommand& c);
  void run(RequestId id, const PrimeCommand& c);
  void run(RequestId id, const ReleaseCommand& c);
  void run(RequestId id, const ReleaseOwnerCommand& c);
  void run(RequestId id, const BindCommand& c);
  void run(RequestId id, const LookupCommand& c);

  // Tries every deferred command again, then forgets the asks for space nobody waits for.
  void retry();
  // `from` has no space for `m.wanted`: claims of an address it holds fail; the rest retry.
  void on_space_denied(PeerName from, const SpaceDenied& m);
  // `from` shares an address with us: a shared claim waiting for it gets it.
  void on_share_granted(PeerName from, const ShareGranted& m);
  // Deferred commands past their deadline fail.
  void expire();
  // Every deferred command fails: the allocator is shutting down.
  void cancel_all();

 private:
  // Runs `c` if it is valid (else answers why not), deferring it if it cannot finish yet.
  void start(RequestId id, const Command& c, const Status& valid);
  bool attempt(Pending& p);
  bool try_allocate(Pending& p, const AllocateCommand& c);
  bool try_claim(Pending& p, const ClaimCommand& c);
  bool refused_for_conflict(const Pending& p);
  std::optional<Address> already_held(const AllocateCommand& c) const;
  void answer_held_claim(const Pending& p, const ClaimCommand& c, const Allocation& held);
  bool take_back_share(const ClaimCommand& c, const Allocation& held);
  // The owner `c` holds its address for: its own, or the address's text when anonymous.
  static std::string share_owner(const ClaimCommand& c);
  Status validate(const AllocateCommand& c) const;
  Status validate(const ClaimCommand& c) const;

  AllocatorContext& ctx_;
  PendingQueue& pending_;
  SpaceRequests& requests_;
  Bootstrap& bootstrap_;
  Reservations& reservations_;
};

}  // namespace wipam::ring
