// Gossip: the input is what a stranger sends on the gossip port of an unkeyed peer (the
// default): a 6-byte preamble, then frames (4-byte length, body), the first being its Hello.
// They are cut by a FrameDecoder, in two reads, with the bounds a connection uses before
// and after the handshake, and every body goes to the decoder of its type; topology entries
// are merged into a Topology and broadcast sequence numbers go through a BroadcastWindow.
// Whatever decodes must encode to bytes that decode the same.
#include <algorithm>

#include "gossip/delivery.h"
#include "gossip/frame.h"
#include "gossip/handshake.h"
#include "gossip/topology.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/fuzz_util.h"

namespace wipam::fuzz {
namespace {

using gossip::Bytes;
using gossip::ByteView;

constexpr std::size_t kLinkFrameBytes = 1 << 20;  // the mesh allows 8 MiB; enough here
constexpr std::size_t kMaxFrames = 64;

const ring::PeerIdentity kSelf{ring::PeerName(1), "self", 11};

void hello(ByteView body, std::uint8_t version) {
  Result<gossip::Hello> h = gossip::decode_hello(body, version);
  if (!h.ok()) {
    return;
  }
  gossip::LocalTerms ours{kSelf, "10.32.0.0/12", false, "seeds 00:00:00:00:00:01"};
  gossip::HelloCheck check = gossip::check_hello(*h, ours);
  fuzz_check((check.refusal == gossip::Refusal::kNone) == check.status.ok(), "a refusal says why");
  Bytes again = gossip::encode_hello(*h, version);
  fuzz_check(gossip::decode_hello(again, version).ok(), "an encoded Hello decodes");
  gossip::Preamble p = gossip::make_preamble();
  (void)gossip::handshake_transcript(p, p, body, again);
}

void link_frame(ByteView body, gossip::Topology& topology, gossip::BroadcastWindow& window) {
  Result<gossip::FrameType> type = gossip::frame_type(body);
  if (!type.ok()) {
    return;
  }
  switch (*type) {
    case gossip::FrameType::kHello:
      hello(body, gossip::kProtocolVersionMin);
      hello(body, gossip::kHelloIdentityVersion);
      break;
    case gossip::FrameType::kVerdict:
      if (auto v = gossip::decode_verdict(body); v.ok()) {
        fuzz_check(gossip::decode_verdict(gossip::encode_verdict(*v)).ok(), "Verdict re-decodes");
      }
      break;
    case gossip::FrameType::kTopology:
      if (auto entries = gossip::decode_topology(body); entries.ok()) {
        auto again = gossip::decode_topology(gossip::encode_topology(*entries));
        fuzz_check(again.ok() && *again == *entries, "topology round trips");
        (void)topology.merge(*entries);
        (void)topology.discovery_candidates();
        (void)topology.reachable_peers();
      }
      break;
    case gossip::FrameType::kBroadcast:
      if (auto b = gossip::decode_broadcast(body); b.ok()) {
        fuzz_check(gossip::decode_broadcast(gossip::encode_broadcast(*b)).ok(), "re-decodes");
        (void)window.accept(b->seq);
      }
      break;
    case gossip::FrameType::kUnicast:
      if (auto u = gossip::decode_unicast(body); u.ok()) {
        fuzz_check(gossip::decode_unicast(gossip::encode_unicast(*u)).ok(), "re-decodes");
      }
      break;
    case gossip::FrameType::kGossip:
      if (auto g = gossip::decode_gossip(body); g.ok()) {
        fuzz_check(gossip::decode_gossip(gossip::encode_gossip(*g)).ok(), "re-decodes");
      }
      break;
    case gossip::FrameType::kHeartbeat:
      break;
  }
}

}  // namespace

int fuzz_gossip(const std::uint8_t* data, std::size_t size) {
  ByteView input(data, size);
  if (input.size() >= gossip::kPreambleBytes) {
    gossip::Preamble theirs;
    std::copy_n(input.begin(), gossip::kPreambleBytes, theirs.begin());
    (void)gossip::negotiate_version(gossip::make_preamble(), theirs);
    input = input.subspan(gossip::kPreambleBytes);
  }
  gossip::FrameDecoder decoder(gossip::kMaxHandshakeFrameBytes);
  gossip::Topology topology(kSelf, 64);
  gossip::BroadcastWindow window;
  std::size_t frames = 0;
  // Two reads, cut where the input's last byte says, to cross frame boundaries.
  std::size_t cut = input.empty() ? 0 : input.back() % (input.size() + 1);
  for (ByteView read : {input.first(cut), input.subspan(cut)}) {
    decoder.append(read);
    while (frames < kMaxFrames) {
      Result<std::optional<Bytes>> body = decoder.next();
      if (!body.ok()) {
        return 0;  // the connection closes
      }
      if (!*body) {
        break;
      }
      if (frames++ == 0) {
        hello(**body, gossip::kHelloIdentityVersion);
        decoder.set_max_body_bytes(kLinkFrameBytes);  // the link is up
      } else {
        link_frame(**body, topology, window);
      }
    }
  }
  return 0;
}

}  // namespace wipam::fuzz
