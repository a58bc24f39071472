// What each call into the allocator returns: store writes, messages, replies and events, and
// the Outbox its parts fill while one call runs. The shell (driver/ in the daemon, tests/sim in
// the simulation) makes the writes durable before it sends the messages and replies of the
// same Effects, and releases Effects in the order they were returned.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ring/address.h"
#include "ring/commands.h"
#include "ring/messages.h"
#include "ring/peer_name.h"
#include "ring/ring_conflicts.h"
#include "ring/status.h"

namespace wipam::ring {

struct Reply {
  RequestId id = 0;
  Status status;                // OK, or why not (the text clients see)
  std::vector<Cidr> addresses;  // allocate/claim: the address; lookup/release-owner: all
  std::string text;             // remove-peer: what was taken over
};

enum class Delivery { kBroadcast, kUnicast, kGossip };

struct OutgoingMessage {
  Delivery delivery = Delivery::kBroadcast;
  PeerName to;  // for kUnicast
  PeerMessage message;
  // The range it is for, when not the first of several (set by RangeAllocators).
  std::optional<Cidr> range;
};

struct StoreWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt deletes the key
};

enum class EventLevel { kDebug, kInfo, kWarn, kError };
// What happened, for the shell to count and tests to match; the message is for people.
enum class EventKind {
  kBug,                // an invariant broke (reported in every build)
  kDuplicate,          // an address held both here and by another peer
  kBadMessage,         // a peer's message refused
  kSeed,               // the ring created from --ipalloc-init seed=
  kConsensus,          // the ring created by consensus
  kRingCreated,        // a ring of one, created here
  kRingReceived,       // a ring learned from a peer
  kRingConflict,       // a ring created apart, or a range another peer now owns
  kRingConflictEnded,  // that conflict is over
  kDonated,            // space given to another peer
  kRmpeer,             // a gone peer's ranges taken over
  kShared,             // an address of our space shared with another peer, or handed to it
};
// The kind's name in logs ("event=donated"), stable across versions.
constexpr const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kBug:
      return "bug";
    case EventKind::kDuplicate:
      return "duplicate";
    case EventKind::kBadMessage:
      return "bad-message";
    case EventKind::kSeed:
      return "seed";
    case EventKind::kConsensus:
      return "consensus";
    case EventKind::kRingCreated:
      return "ring-created";
    case EventKind::kRingReceived:
      return "ring-received";
    case EventKind::kRingConflict:
      return "ring-conflict";
    case EventKind::kRingConflictEnded:
      return "ring-conflict-ended";
    case EventKind::kDonated:
      return "donated";
    case EventKind::kRmpeer:
      return "rmpeer";
    case EventKind::kShared:
      return "shared";
  }
  return "?";
}
// Something the shell should log and count; the core itself never logs.
struct Event {
  EventLevel level = EventLevel::kInfo;
  EventKind kind = EventKind::kBug;
  std::string message;
};

struct Effects {
  std::vector<StoreWrite> writes;
  std::vector<OutgoingMessage> messages;
  std::vector<Reply> replies;
  std::vector<Event> events;
  // Peers seen in this step with a ring created apart from ours (new or again): the shell
  // stops linking with them (the daemon: Mesh::refuse_peer).
  std::vector<RingConflict> ring_conflicts;

  bool empty() const { return writes.empty() && messages.empty() && replies.empty(); }
};

// The Effects of the call running now, filled in the order things happen.
class Outbox {
 public:
  void write(StoreWrite w) { fx_.writes.push_back(std::move(w)); }
  void send(Delivery d, PeerName to, PeerMessage m) {
    fx_.messages.push_back({d, to, std::move(m), std::nullopt});
  }
  void unicast(PeerName to, PeerMessage m) { send(Delivery::kUnicast, to, std::move(m)); }
  void broadcast(PeerMessage m) { send(Delivery::kBroadcast, PeerName(), std::move(m)); }
  void reply(RequestId id, Status status, std::vector<Cidr> addresses = {}, std::string text = {}) {
    fx_.replies.push_back({id, std::move(status), std::move(addresses), std::move(text)});
  }
  void event(EventLevel level, EventKind kind, std::string message) {
    fx_.events.push_back({level, kind, std::move(message)});
  }
  void ring_conflict(RingConflict c) { fx_.ring_conflicts.push_back(std::move(c)); }
  // Reports a broken invariant, "<op>(<subject>): <why>", unless `s` is OK; in every build,
  // as Envoy's ENVOY_BUG does. For a step that cannot fail while the allocator's invariants
  // hold: the event is the one sign that they did not.
  template <typename Subject>
  void expect_ok(const Status& s, const char* op, const Subject& subject) {
    if (!s.ok()) {
      event(EventLevel::kError, EventKind::kBug,
            std::string(op) + "(" + subject.to_string() + "): " + s.message());
    }
  }

  // The Effects so far; the outbox is empty after.
  Effects take() { return std::exchange(fx_, {}); }

 private:
  Effects fx_;
};

}  // namespace wipam::ring
