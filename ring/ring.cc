#include "ring/ring.h"

#include <algorithm>
#include <tuple>

#include "ring/cbor.h"

namespace wipam::ring {
namespace {

using nlohmann::json;

std::string names_text(const std::vector<PeerName>& names) {
  std::string out = "[";
  for (const PeerName& n : names) {
    out += (out.size() > 1 ? " " : "") + n.to_string();
  }
  return out + "]";
}

// The merge order of two entries at one token.
auto rank(const Entry& e) { return std::make_tuple(e.version, e.owner, e.free); }

// [range, seeds, entries]: 3 items for the range, one per seed, 5 per entry. An entry
// encodes in at most 54 bytes and a seed in 9, so a ring of kMaxRingEntries of each fits
// 64 MiB (a ring-update message itself is capped at kMaxMessageBytes).
constexpr CborLimits kRingCborLimits{std::size_t{64} << 20, kMaxCborDepth, kMaxRingEntries,
                                     6 * std::uint64_t{kMaxRingEntries} + 16};

}  // namespace

std::vector<Range> coalesce_ranges(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<Range> out;
  for (const Range& r : ranges) {
    if (r.empty()) {
      continue;
    }
    if (!out.empty() && out.back().end() >= r.start()) {
      out.back() = Range(out.back().start(), std::max(out.back().end(), r.end()));
    } else {
      out.push_back(r);
    }
  }
  return out;
}

std::vector<Range> subtract_ranges(const std::vector<Range>& a, const std::vector<Range>& b) {
  std::vector<Range> out;
  std::size_t j = 0;
  for (const Range& r : a) {
    Address at = r.start();
    while (j < b.size() && b[j].end() <= at) {
      ++j;
    }
    for (std::size_t k = j; k < b.size() && b[k].start() < r.end(); ++k) {
      if (b[k].start() > at) {
        out.emplace_back(at, b[k].start());
      }
      at = std::max(at, b[k].end());
    }
    if (at < r.end()) {
      out.emplace_back(at, r.end());
    }
  }
  return out;
}

Ring::Ring(Range universe, PeerName self) : universe_(universe), self_(self) {}

std::vector<Range> Ring::ranges_of(std::size_t i) const {
  Address start = entries_[i].token;
  if (i + 1 < entries_.size()) {
    return {Range(start, entries_[i + 1].token)};
  }
  std::vector<Range> out{Range(start, universe_.end())};
  if (entries_.front().token > universe_.start()) {
    out.insert(out.begin(), Range(universe_.start(), entries_.front().token));
  }
  return out;
}

Uint128 Ring::length_of(std::size_t i) const {
  Uint128 n = 0;
  for (const Range& r : ranges_of(i)) {
    n += r.size();
  }
  return n;
}

std::size_t Ring::index_of(const Address& a) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), a,
                             [](const Address& x, const Entry& e) { return x < e.token; });
  if (it == entries_.begin()) {
    return entries_.size() - 1;  // before the first token: the last entry wraps round
  }
  return static_cast<std::size_t>(it - entries_.begin()) - 1;
}

std::optional<std::size_t> Ring::find_token(const Address& a) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), a,
                             [](const Entry& e, const Address& x) { return e.token < x; });
  if (it == entries_.end() || it->token != a) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(it - entries_.begin());
}

void Ring::clamp_free() {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    entries_[i].free = std::min(entries_[i].free, length_of(i));
  }
}

Status Ring::claim_for_peers(std::vector<PeerName> peers) {
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  if (!empty()) {
    return Status::failed_precondition("the ring already exists");
  }
  if (peers.empty() || peers.front().unknown()) {
    return Status::invalid_argument("the ring needs at least one named peer to split among");
  }
  Uint128 size = universe_.size();
  Uint128 n = peers.size();
  Uint128 base = size / n;
  Uint128 rem = size % n;
  for (Uint128 i = 0; i < n; ++i) {
    Uint128 start = i * base + std::min(i, rem);
    Uint128 length = base + (i < rem ? 1 : 0);
    if (length > 0) {
      entries_.push_back(
          {universe_.start() + start, peers[static_cast<std::size_t>(i)], 0, length});
    }
  }
  seeds_ = std::move(peers);
  changed();
  return Status();
}

Status Ring::grant(const Range& r, PeerName to) {
  if (r.empty() || !universe_.contains(r) || empty() || to.unknown()) {
    return Status::invalid_argument("cannot grant " + r.to_string() + " to " + to.to_string() +
                                    ": empty, outside " + universe_.to_string() +
                                    ", or the ring is empty");
  }
  if (owner(r.start()) != self_) {
    return Status::failed_precondition("cannot grant " + r.to_string() + ": " +
                                       r.start().to_string() + " is not ours");
  }
  auto first_inside =
      std::upper_bound(entries_.begin(), entries_.end(), r.start(),
                       [](const Address& x, const Entry& e) { return x < e.token; });
  for (auto it = first_inside; it != entries_.end() && it->token < r.end(); ++it) {
    if (it->owner != self_) {
      return Status::failed_precondition("cannot grant " + r.to_string() + ": " +
                                         it->token.to_string() + " is not ours");
    }
  }
  // Keep the tail: the address at r.end (or, at the very end, the range's start) stays ours.
  Address tail = r.end() == universe_.end() ? universe_.start() : r.end();
  if (!find_token(tail)) {
    entries_.insert(entries_.begin() + static_cast<long>(index_of(tail)) + 1,
                    Entry{tail, self_, 0, 0});
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.token < b.token; });
  }
  if (std::optional<std::size_t> at = find_token(r.start())) {
    ++entries_[*at].version;
    entries_[*at].owner = to;
  } else {
    std::size_t before = index_of(r.start());
    ++entries_[before].version;
    entries_.insert(entries_.begin() + static_cast<long>(before) + 1, Entry{r.start(), to, 0, 0});
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.token < b.token; });
  }
  for (Entry& e : entries_) {
    if (e.token > r.start() && e.token < r.end() && e.owner == self_) {
      e.owner = to;
      ++e.version;
    }
  }
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].owner == to && r.contains(entries_[i].token)) {
      entries_[i].free = length_of(i);  // a grant hands over free space only
    }
  }
  clamp_free();
  changed();
  return Status();
}

std::vector<Range> Ring::owned_ranges(PeerName peer) const {
  std::vector<Range> out;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].owner == peer) {
      for (const Range& r : ranges_of(i)) {
        out.push_back(r);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<PeerName> Ring::owner(const Address& a) const {
  if (empty() || !universe_.contains(a)) {
    return std::nullopt;
  }
  return entries_[index_of(a)].owner;
}

bool Ring::report_free(const std::function<Uint128(const Range&)>& free_in) {
  bool any = false;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].owner != self_) {
      continue;
    }
    Uint128 free = 0;
    for (const Range& r : ranges_of(i)) {
      free += free_in(r);
    }
    free = std::min(free, length_of(i));
    if (free != entries_[i].free) {
      entries_[i].free = free;
      ++entries_[i].version;
      any = true;
    }
  }
  if (any) {
    changed();
  }
  return any;
}

Result<MergeOutcome> Ring::merge(const Ring& incoming) {
  if (incoming.universe_ != universe_) {
    return Status::conflict(
        "Incompatible IP allocation ranges (received: " + incoming.universe_.to_string() +
        ", ours: " + universe_.to_string() + ")");
  }
  if (!seeds_.empty() && !incoming.seeds_.empty() && seeds_ != incoming.seeds_) {
    return Status::conflict("IP allocation was seeded by different peers (received: " +
                            names_text(incoming.seeds_) + ", ours: " + names_text(seeds_) +
                            "); the two networks were initialised apart: wipe the state of "
                            "the smaller side and restart it");
  }
  Status valid = incoming.validate();
  if (!valid.ok()) {
    return Status::corruption("received ring is invalid: " + valid.message());
  }
  std::vector<Range> before = coalesce_ranges(owned_ranges(self_));
  std::vector<Entry> joined;
  joined.reserve(entries_.size() + incoming.entries_.size());
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < entries_.size() || j < incoming.entries_.size()) {
    if (j == incoming.entries_.size() ||
        (i < entries_.size() && entries_[i].token < incoming.entries_[j].token)) {
      joined.push_back(entries_[i++]);
    } else if (i == entries_.size() || incoming.entries_[j].token < entries_[i].token) {
      joined.push_back(incoming.entries_[j++]);
    } else {
      joined.push_back(rank(entries_[i]) >= rank(incoming.entries_[j]) ? entries_[i]
                                                                       : incoming.entries_[j]);
      ++i;
      ++j;
    }
  }
  MergeOutcome outcome;
  std::vector<PeerName> seeds = seeds_.empty() ? incoming.seeds_ : seeds_;
  std::vector<Entry> previous = std::move(entries_);
  entries_ = std::move(joined);
  clamp_free();
  outcome.changed = entries_ != previous || seeds != seeds_;
  seeds_ = std::move(seeds);
  if (outcome.changed) {
    changed();
  }
  std::vector<Range> after = coalesce_ranges(owned_ranges(self_));
  outcome.lost = subtract_ranges(before, after);
  outcome.gained = subtract_ranges(after, before);
  return outcome;
}

std::map<PeerName, Uint128> Ring::free_by_peer() const {
  std::map<PeerName, Uint128> out;
  for (const Entry& e : entries_) {
    out[e.owner] += e.free;
  }
  return out;
}

std::map<PeerName, Uint128> Ring::owned_by_peer() const {
  std::map<PeerName, Uint128> out;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    out[entries_[i].owner] += length_of(i);
  }
  return out;
}

std::vector<PeerName> Ring::donors(const Range& wanted,
                                   const std::function<bool(PeerName)>& reachable) const {
  std::map<PeerName, Uint128> free;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.owner == self_ || e.free == 0) {
      continue;
    }
    Uint128 overlap = 0;
    for (const Range& r : ranges_of(i)) {
      overlap += r.intersect(wanted).size();
    }
    if (overlap > 0 && reachable(e.owner)) {
      free[e.owner] += std::min(overlap, e.free);
    }
  }
  std::vector<std::pair<Uint128, PeerName>> ranked;
  for (const auto& [peer, n] : free) {
    ranked.emplace_back(n, peer);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<PeerName> out;
  for (const auto& [n, peer] : ranked) {
    out.push_back(peer);
  }
  return out;
}

Uint128 Ring::transfer(PeerName from, PeerName to) {
  Uint128 moved = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].owner == from && from != to) {
      entries_[i].owner = to;
      entries_[i].version += kTransferVersionBump;
      moved += length_of(i);
    }
  }
  if (moved > 0) {
    changed();
  }
  return moved;
}

Status Ring::validate() const {
  for (std::size_t i = 0; i < seeds_.size(); ++i) {
    if (seeds_[i].unknown() || (i > 0 && !(seeds_[i - 1] < seeds_[i]))) {
      return Status::corruption("seeds are not sorted, unique and named");
    }
  }
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (!universe_.contains(e.token)) {
      return Status::corruption("token " + e.token.to_string() + " is outside " +
                                universe_.to_string());
    }
    if (i > 0 && !(entries_[i - 1].token < e.token)) {
      return Status::corruption("tokens are not sorted and unique at " + e.token.to_string());
    }
    if (e.owner.unknown()) {
      return Status::corruption("token " + e.token.to_string() + " has no owner");
    }
    if (e.free > length_of(i)) {
      return Status::corruption("entry " + e.token.to_string() + " reports more free space (" +
                                uint128_to_string(e.free) + ") than it holds");
    }
  }
  return Status();
}

std::vector<std::uint8_t> Ring::encode() const {
  if (!encoded_.empty()) {
    return encoded_;
  }
  json seeds = json::array();
  for (const PeerName& p : seeds_) {
    seeds.push_back(p.value());
  }
  json entries = json::array();
  for (const Entry& e : entries_) {
    entries.push_back(
        json::array({encode_address(e.token), e.owner.value(), e.version, encode_count(e.free)}));
  }
  return json::to_cbor(
      json::array({encode_range(universe_), std::move(seeds), std::move(entries)}));
}

Result<Ring> Ring::decode(std::span<const std::uint8_t> bytes, PeerName self) {
  Result<json> j = parse_cbor(bytes, kRingCborLimits);
  if (!j.ok()) {
    return j.status().with_context("ring refused");
  }
  if (!j->is_array() || j->size() != 3 || !(*j)[1].is_array() || !(*j)[2].is_array() ||
      (*j)[1].size() > kMaxRingEntries || (*j)[2].size() > kMaxRingEntries) {
    return Status::corruption("ring is not a [range, seeds, entries] CBOR value");
  }
  Result<Range> universe = decode_range((*j)[0]);
  if (!universe.ok() || universe->empty()) {
    return Status::corruption("ring has a bad range");
  }
  Ring ring(*universe, self);
  for (const json& s : (*j)[1]) {
    if (!s.is_number_unsigned()) {
      return Status::corruption("ring seed is not a peer name");
    }
    ring.seeds_.push_back(PeerName(s.get<std::uint64_t>()));
  }
  for (const json& e : (*j)[2]) {
    if (!e.is_array() || e.size() != 4 || !e[1].is_number_unsigned() ||
        !e[2].is_number_unsigned()) {
      return Status::corruption("ring entry is not [token, owner, version, free]");
    }
    Result<Address> token = decode_address(e[0]);
    Result<Uint128> free = decode_count(e[3]);
    if (!token.ok() || !free.ok() || token->family() != universe->family()) {
      return Status::corruption("ring entry has a bad token or free count");
    }
    ring.entries_.push_back(
        {*token, PeerName(e[1].get<std::uint64_t>()), e[2].get<std::uint64_t>(), *free});
  }
  Status valid = ring.validate();
  if (!valid.ok()) {
    return valid;
  }
  return ring;
}

std::string Ring::to_string() const {
  std::string out = "ring " + universe_.to_string() + " seeds " + names_text(seeds_) + "\n";
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    out += "  " + e.token.to_string() + " " + e.owner.to_string() + " v" +
           std::to_string(e.version) + " free " + uint128_to_string(e.free) + "/" +
           uint128_to_string(length_of(i)) + "\n";
  }
  return out;
}

}  // namespace wipam::ring
