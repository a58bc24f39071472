// Ring CBOR: the first byte picks the decoder (and, for peer messages, bare or wrapped for a
// range, the receiving allocator); the rest is its input. What decodes must encode to bytes that
// decode to the same value, and goes where the daemon sends it: a peer message to an allocator (a
// seed of a ring split with the sender, or an elector still waiting for consensus), Paxos state to
// an elector that merges or resumes from it.
#include "ring/allocator.h"
#include "ring/cbor.h"
#include "ring/messages.h"
#include "ring/paxos.h"
#include "ring/ring.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/fuzz_util.h"

namespace wipam::fuzz {
namespace {

using Bytes = std::span<const std::uint8_t>;

const ring::PeerName kSelf(1);
const ring::PeerIdentity kSender{ring::PeerName(2), "sender", 22};

ring::Cidr universe() { return *ring::Cidr::parse("10.32.0.0/12"); }

// To a seed sharing the ring with the sender, or to an elector (quorum 2) with no ring.
void deliver(const ring::PeerMessage& m, bool elector) {
  ring::AllocatorConfig c = FuzzPeer::seed_config(universe());
  if (elector) {
    c.init = ring::ConsensusInit{2};
  } else {
    c.init = ring::SeedInit{{kSelf, kSender.name}};
  }
  FuzzPeer peer(c);
  fuzz_check(peer.start(), "a fresh allocator starts");
  peer.apply(peer.allocator().peer_up(peer.now(), kSender));
  peer.apply(peer.allocator().message(peer.now(), kSender.name, m));
  peer.run(ring::AllocateCommand{"fuzz", universe(), std::nullopt});
  peer.apply(peer.allocator().tick(peer.now()));
}

// A bare message, or one wrapped for an allocation range (message type 10): what decodes
// round trips, envelope and all, and its inner message goes to the allocator.
void message(Bytes bytes, bool elector) {
  Result<ring::RangedMessage> m = ring::decode_ranged_message(bytes);
  if (!m.ok()) {
    return;
  }
  Result<ring::RangedMessage> again =
      ring::decode_ranged_message(m->range ? ring::encode_ranged_message(*m->range, m->message)
                                           : ring::encode_message(m->message));
  fuzz_check(again.ok() && again->range == m->range && again->message == m->message,
             "a peer message round trips");
  deliver(m->message, elector);
}

void ring_record(Bytes bytes) {
  Result<ring::Ring> r = ring::Ring::decode(bytes, kSelf);
  if (!r.ok()) {
    return;
  }
  Result<ring::Ring> again = ring::Ring::decode(r->encode(), kSelf);
  fuzz_check(again.ok() && *again == *r, "a ring round trips");
  ring::Ring ours(universe().range(), kSelf);
  (void)ours.merge(*r);
  deliver(ring::RingUpdate{r->encode()}, false);
}

void paxos_gossip(Bytes bytes) {
  Result<ring::PaxosGossip> g = ring::Paxos::decode(bytes);
  if (!g.ok()) {
    return;
  }
  Result<ring::PaxosGossip> again = ring::Paxos::decode(ring::Paxos::encode(*g));
  fuzz_check(again.ok() && *again == *g, "Paxos gossip round trips");
  ring::Paxos elector(kSelf, 2);
  elector.merge(*g);
  elector.think();
  (void)elector.consensus();
  deliver(ring::PaxosUpdate{ring::Paxos::encode(*g)}, true);
}

void paxos_state(Bytes bytes) {
  Result<ring::PaxosPersistent> s = ring::Paxos::decode_persistent(bytes);
  if (!s.ok()) {
    return;
  }
  Result<ring::PaxosPersistent> again =
      ring::Paxos::decode_persistent(ring::Paxos::encode_persistent(*s));
  fuzz_check(again.ok() && *again == *s, "Paxos state round trips");
  ring::Paxos elector(kSelf, 2, *s);  // a restart from the store
  elector.propose();
  elector.think();
}

void values(Bytes bytes) {
  ring::CborLimits limits{1 << 16, ring::kMaxCborDepth, 1024, 4096};
  Result<nlohmann::json> j = ring::parse_cbor(bytes, limits);
  if (!j.ok()) {
    return;
  }
  const nlohmann::json& first = j->is_array() && !j->empty() ? j->front() : *j;
  (void)ring::decode_address(first);
  (void)ring::decode_range(first);
  (void)ring::decode_count(first);
}

}  // namespace

int fuzz_cbor(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  quiet_logs();
  Bytes bytes(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      message(bytes, false);
      break;
    case 1:
      message(bytes, true);
      break;
    case 2:
      ring_record(bytes);
      break;
    case 3:
      paxos_gossip(bytes);
      break;
    case 4:
      paxos_state(bytes);
      break;
    default:
      values(bytes);
      break;
  }
  return 0;
}

}  // namespace wipam::fuzz
