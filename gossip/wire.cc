#include "gossip/wire.h"

#include <algorithm>
#include <string_view>

namespace wipam::gossip {
namespace {

class Writer {
 public:
  explicit Writer(FrameType type) { u8(static_cast<std::uint8_t>(type)); }

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { be(v, 2); }
  void u32(std::uint32_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void raw(ByteView bytes) { out_.insert(out_.end(), bytes.begin(), bytes.end()); }
  // REQUIRES: text.size() <= 65535 (callers bound their strings well below that).
  void str(std::string_view text) {
    u16(static_cast<std::uint16_t>(text.size()));
    raw(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  void blob(ByteView bytes) {
    u32(static_cast<std::uint32_t>(bytes.size()));
    raw(bytes);
  }
  Bytes take() { return std::move(out_); }

 private:
  void be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  Bytes out_;
};

// Reads fields from untrusted bytes. The first failure sticks: later reads return zeros and
// finish() reports the first problem, so decoders read straight through without checks.
class Reader {
 public:
  Reader(ByteView body, FrameType type, const char* what) : in_(body), what_(what) {
    if (u8() != static_cast<std::uint8_t>(type)) {
      fail("wrong frame type");
    }
  }

  std::uint8_t u8() { return static_cast<std::uint8_t>(be(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(be(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(be(4)); }
  std::uint64_t u64() { return be(8); }
  template <std::size_t N>
  void fixed(std::array<std::uint8_t, N>& out) {
    if (take(N)) {
      std::copy(in_.begin() + static_cast<std::ptrdiff_t>(at_ - N),
                in_.begin() + static_cast<std::ptrdiff_t>(at_), out.begin());
    }
  }
  std::string str(std::size_t max, const char* field) {
    std::size_t n = u16();
    if (n > max) {
      fail(std::string(field) + " longer than " + std::to_string(max) + " bytes");
      return {};
    }
    if (!take(n)) {
      return {};
    }
    return std::string(reinterpret_cast<const char*>(in_.data()) + at_ - n, n);
  }
  Bytes blob() {
    std::size_t n = u32();
    if (!take(n)) {
      return {};
    }
    return Bytes(in_.begin() + static_cast<std::ptrdiff_t>(at_ - n),
                 in_.begin() + static_cast<std::ptrdiff_t>(at_));
  }
  // A count of items each at least `min_item_bytes` long, refused if it cannot fit.
  std::size_t count(std::size_t max, std::size_t min_item_bytes, const char* field) {
    std::size_t n = u32();
    if (n > max || n * min_item_bytes > in_.size() - at_) {
      fail(std::string("implausible ") + field + " count " + std::to_string(n));
      return 0;
    }
    return n;
  }
  void fail(const std::string& why) {
    if (error_.empty()) {
      error_ = why;
    }
  }
  Status finish() {
    if (error_.empty() && at_ != in_.size()) {
      fail(std::to_string(in_.size() - at_) + " trailing bytes");
    }
    if (error_.empty()) {
      return Status();
    }
    return Status::corruption(std::string("malformed ") + what_ + " frame: " + error_);
  }

 private:
  bool take(std::size_t n) {
    if (!error_.empty()) {
      return false;
    }
    if (n > in_.size() - at_) {
      fail("truncated");
      return false;
    }
    at_ += n;
    return true;
  }
  std::uint64_t be(std::size_t n) {
    if (!take(n)) {
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = at_ - n; i < at_; ++i) {
      v = (v << 8) | in_[i];
    }
    return v;
  }

  ByteView in_;
  std::size_t at_ = 0;
  const char* what_;
  std::string error_;
};

void write_identity(Writer& w, const ring::PeerIdentity& id) {
  w.u64(id.name.value());
  w.u64(id.uid);
  w.str(id.nickname);
}

ring::PeerIdentity read_identity(Reader& r) {
  ring::PeerIdentity id;
  std::uint64_t name = r.u64();
  if (name > ring::PeerName::kMask || name == 0) {
    r.fail("peer name out of range");
  }
  id.name = ring::PeerName(name);
  id.uid = r.u64();
  id.nickname = r.str(kMaxNicknameBytes, "nickname");
  return id;
}

}  // namespace

Result<FrameType> frame_type(ByteView body) {
  if (body.empty()) {
    return Status::corruption("empty frame");
  }
  if (body[0] < static_cast<std::uint8_t>(FrameType::kHello) ||
      body[0] > static_cast<std::uint8_t>(FrameType::kGossip)) {
    return Status::corruption("unknown frame type " + std::to_string(body[0]));
  }
  return static_cast<FrameType>(body[0]);
}

Bytes encode_hello(const Hello& hello, std::uint8_t version) {
  Writer w(FrameType::kHello);
  write_identity(w, hello.identity);
  w.u16(hello.listen_port);
  w.str(hello.range);
  w.u8(hello.keyed ? 1 : 0);
  w.raw(hello.nonce);
  w.raw(hello.key_share);
  if (version >= kHelloIdentityVersion) {
    w.str(std::string_view(hello.allocation_identity).substr(0, kMaxAllocationIdentityBytes));
  }
  return w.take();
}

Result<Hello> decode_hello(ByteView body, std::uint8_t version) {
  Reader r(body, FrameType::kHello, "hello");
  Hello hello;
  hello.identity = read_identity(r);
  hello.listen_port = r.u16();
  hello.range = r.str(kMaxRangeTextBytes, "range");
  std::uint8_t keyed = r.u8();
  if (keyed > 1) {
    r.fail("keyed flag is neither 0 nor 1");
  }
  hello.keyed = keyed == 1;
  r.fixed(hello.nonce);
  r.fixed(hello.key_share);
  if (version >= kHelloIdentityVersion) {
    hello.allocation_identity = r.str(kMaxAllocationIdentityBytes, "allocation identity");
  }
  WIPAM_RETURN_IF_ERROR(r.finish());
  return hello;
}

Bytes encode_verdict(const Verdict& verdict) {
  Writer w(FrameType::kVerdict);
  w.u8(verdict.accept ? 1 : 0);
  w.raw(verdict.proof);
  w.str(verdict.reason.substr(0, kMaxReasonBytes));
  return w.take();
}

Result<Verdict> decode_verdict(ByteView body) {
  Reader r(body, FrameType::kVerdict, "verdict");
  Verdict verdict;
  std::uint8_t accept = r.u8();
  if (accept > 1) {
    r.fail("accept flag is neither 0 nor 1");
  }
  verdict.accept = accept == 1;
  r.fixed(verdict.proof);
  verdict.reason = r.str(kMaxReasonBytes, "reason");
  if (verdict.accept != verdict.reason.empty()) {
    r.fail("a refusal needs a reason and an acceptance has none");
  }
  WIPAM_RETURN_IF_ERROR(r.finish());
  return verdict;
}

Bytes encode_heartbeat() { return Writer(FrameType::kHeartbeat).take(); }

Bytes encode_topology(const std::vector<PeerEntry>& entries) {
  Writer w(FrameType::kTopology);
  w.u32(static_cast<std::uint32_t>(entries.size()));
  for (const PeerEntry& entry : entries) {
    write_identity(w, entry.identity);
    w.u64(entry.version);
    w.u32(static_cast<std::uint32_t>(entry.links.size()));
    for (const Link& link : entry.links) {
      w.u64(link.peer.value());
      w.str(link.address);
    }
  }
  return w.take();
}

Result<std::vector<PeerEntry>> decode_topology(ByteView body) {
  Reader r(body, FrameType::kTopology, "topology");
  constexpr std::size_t kMinEntryBytes = 8 + 8 + 2 + 8 + 4;
  constexpr std::size_t kMinLinkBytes = 8 + 2;
  std::vector<PeerEntry> entries(r.count(kMaxEntriesPerTopology, kMinEntryBytes, "entry"));
  for (PeerEntry& entry : entries) {
    entry.identity = read_identity(r);
    entry.version = r.u64();
    entry.links.resize(r.count(kMaxLinksPerEntry, kMinLinkBytes, "link"));
    for (Link& link : entry.links) {
      std::uint64_t peer = r.u64();
      if (peer > ring::PeerName::kMask || peer == 0) {
        r.fail("link peer name out of range");
      }
      link.peer = ring::PeerName(peer);
      link.address = r.str(kMaxAddressTextBytes, "link address");
    }
  }
  WIPAM_RETURN_IF_ERROR(r.finish());
  return entries;
}

Bytes encode_broadcast(const BroadcastMessage& message) {
  Writer w(FrameType::kBroadcast);
  w.u64(message.source.value());
  w.u64(message.source_uid);
  w.u64(message.seq);
  w.blob(message.payload);
  return w.take();
}

Result<BroadcastMessage> decode_broadcast(ByteView body) {
  Reader r(body, FrameType::kBroadcast, "broadcast");
  BroadcastMessage message;
  message.source = ring::PeerName(r.u64());
  message.source_uid = r.u64();
  message.seq = r.u64();
  message.payload = r.blob();
  WIPAM_RETURN_IF_ERROR(r.finish());
  return message;
}

Bytes encode_unicast(const UnicastMessage& message) {
  Writer w(FrameType::kUnicast);
  w.u64(message.source.value());
  w.u64(message.destination.value());
  w.u8(message.hops_left);
  w.blob(message.payload);
  return w.take();
}

Result<UnicastMessage> decode_unicast(ByteView body) {
  Reader r(body, FrameType::kUnicast, "unicast");
  UnicastMessage message;
  message.source = ring::PeerName(r.u64());
  message.destination = ring::PeerName(r.u64());
  message.hops_left = r.u8();
  if (message.hops_left > kMaxHops) {
    r.fail("hop count over " + std::to_string(kMaxHops));
  }
  message.payload = r.blob();
  WIPAM_RETURN_IF_ERROR(r.finish());
  return message;
}

Bytes encode_gossip(ByteView payload) {
  Writer w(FrameType::kGossip);
  w.blob(payload);
  return w.take();
}

Result<Bytes> decode_gossip(ByteView body) {
  Reader r(body, FrameType::kGossip, "gossip");
  Bytes payload = r.blob();
  WIPAM_RETURN_IF_ERROR(r.finish());
  return payload;
}

}  // namespace wipam::gossip
