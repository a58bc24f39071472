#include "ring/ring_conflicts.h"

namespace wipam::ring {
namespace {

constexpr std::string_view kPrefix = "seeds [";
constexpr std::size_t kShownWhenCut = 8;

// FNV-1a over the names: tells cut lists apart (not a defence against anyone; only peers
// holding the password can send one).
std::uint64_t digest(const std::vector<PeerName>& names) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const PeerName& n : names) {
    for (int i = 0; i < 8; ++i) {
      h = (h ^ ((n.value() >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
    }
  }
  return h;
}

std::string hex(std::uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) {
    out[static_cast<std::size_t>(i)] = digits[v & 0xf];
  }
  return out;
}

}  // namespace

std::string seeds_identity(const std::vector<PeerName>& seeds) {
  if (seeds.empty()) {
    return "";
  }
  std::string out(kPrefix);
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    out += (i == 0 ? "" : " ") + seeds[i].to_string();
  }
  out += "]";
  if (out.size() <= kMaxSeedsIdentityBytes) {
    return out;
  }
  out = std::string(kPrefix);
  for (std::size_t i = 0; i < kShownWhenCut; ++i) {
    out += seeds[i].to_string() + " ";
  }
  return out + "... " + std::to_string(seeds.size()) + " in all, digest " + hex(digest(seeds)) +
         "]";
}

Result<std::vector<PeerName>> parse_seeds_identity(std::string_view text) {
  auto bad = [&] {
    return Status::invalid_argument("not a whole seed list: '" + std::string(text.substr(0, 64)) +
                                    "'");
  };
  if (text.size() > kMaxSeedsIdentityBytes || text.substr(0, kPrefix.size()) != kPrefix ||
      text.back() != ']') {
    return bad();
  }
  std::vector<PeerName> seeds;
  std::string_view rest = text.substr(kPrefix.size(), text.size() - kPrefix.size() - 1);
  while (!rest.empty()) {
    std::size_t space = rest.find(' ');
    Result<PeerName> name = PeerName::parse(rest.substr(0, space));
    if (!name.ok() || name->unknown()) {
      return bad();
    }
    seeds.push_back(*name);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  if (seeds.empty()) {
    return bad();
  }
  return seeds;
}

std::string RingConflict::message() const {
  return "this peer's IP allocation was created apart from " + peer.to_string() +
         "'s (ours: " + seeds_identity(ours) +
         ", theirs: " + (theirs.empty() ? "seeds unknown" : seeds_identity(theirs)) +
         "); wipe the state of the smaller network and restart its peers";
}

bool RingConflicts::record(std::chrono::milliseconds now, const PeerIdentity& peer,
                           std::vector<PeerName> ours, std::vector<PeerName> theirs) {
  PeerIdentity who = peer;
  if (auto up = up_uids_.find(peer.name); who.uid == 0 && up != up_uids_.end()) {
    who.uid = up->second;
  }
  auto [it, added] = by_peer_.try_emplace(peer.name);
  RingConflict& c = it->second;
  if (!added && who.uid != 0 && c.peer.uid != 0 && c.peer.uid != who.uid) {
    added = true;  // another incarnation, still apart: a new conflict
    c = RingConflict();
  }
  c.peer.name = peer.name;
  c.peer.uid = who.uid != 0 ? who.uid : c.peer.uid;
  c.peer.nickname = who.nickname.empty() ? c.peer.nickname : who.nickname;
  c.ours = std::move(ours);
  if (!theirs.empty()) {
    c.theirs = std::move(theirs);
  }
  c.last_seen = now;
  return added;
}

std::optional<RingConflict> RingConflicts::peer_up(const PeerIdentity& peer) {
  up_uids_[peer.name] = peer.uid;
  auto it = by_peer_.find(peer.name);
  if (it == by_peer_.end() || it->second.peer.uid == 0 || it->second.peer.uid == peer.uid) {
    return std::nullopt;
  }
  RingConflict ended = it->second;
  by_peer_.erase(it);
  return ended;
}

std::vector<RingConflict> RingConflicts::expire(std::chrono::milliseconds now) {
  std::vector<RingConflict> ended;
  for (auto it = by_peer_.begin(); it != by_peer_.end();) {
    if (now - it->second.last_seen >= memory_) {
      ended.push_back(it->second);
      it = by_peer_.erase(it);
    } else {
      ++it;
    }
  }
  return ended;
}

const RingConflict* RingConflicts::find(PeerName peer) const {
  auto it = by_peer_.find(peer);
  return it == by_peer_.end() ? nullptr : &it->second;
}

std::vector<RingConflict> RingConflicts::list() const {
  std::vector<RingConflict> out;
  for (const auto& [name, c] : by_peer_) {
    out.push_back(c);
  }
  return out;
}

std::string RingConflicts::summary() const {
  if (by_peer_.empty()) {
    return "";
  }
  std::string text = by_peer_.begin()->second.message();
  if (by_peer_.size() > 1) {
    text += " (and " + std::to_string(by_peer_.size() - 1) + " more peers created apart)";
  }
  return text;
}

}  // namespace wipam::ring
