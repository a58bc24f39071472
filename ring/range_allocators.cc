#include "ring/range_allocators.h"

#include <algorithm>

namespace wipam::ring {
namespace {

constexpr char kIdentitySeparator = '|';

bool starts_with(const std::string& s, const std::string& prefix) {
  return !prefix.empty() && s.compare(0, prefix.size(), prefix) == 0;
}

// The family a command is about, or nullopt for one about an owner or a peer.
std::optional<Family> family_of(const Command& command) {
  return std::visit(
      [](const auto& c) -> std::optional<Family> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, AllocateCommand>) {
          return c.subnet.family();
        } else if constexpr (std::is_same_v<T, ClaimCommand>) {
          return c.address.family();
        } else if constexpr (std::is_same_v<T, ReleaseCommand> || std::is_same_v<T, BindCommand>) {
          return c.address.family();
        } else {
          return std::nullopt;
        }
      },
      command);
}

// Adds `fx` after what `all` holds, keeping the order the shell must release them in.
void append(Effects& all, Effects fx) {
  auto move_all = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  move_all(all.writes, fx.writes);
  move_all(all.messages, fx.messages);
  move_all(all.replies, fx.replies);
  move_all(all.events, fx.events);
  move_all(all.ring_conflicts, fx.ring_conflicts);
}

const char* family_text(Family family) { return family == Family::kV4 ? "IPv4" : "IPv6"; }

}  // namespace

std::string range_key_prefix(std::size_t index, const Cidr& universe) {
  if (index == 0) {
    return "";
  }
  return universe.family() == Family::kV4 ? "v4/" : "v6/";
}

std::string join_identities(const std::vector<std::string>& identities) {
  std::string out;
  for (std::size_t i = 0; i < identities.size(); ++i) {
    out += (i == 0 ? "" : std::string(1, kIdentitySeparator)) + identities[i];
  }
  return out;
}

std::vector<std::string> split_identities(const std::string& joined) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  while (true) {
    std::size_t bar = joined.find(kIdentitySeparator, from);
    parts.push_back(joined.substr(from, bar - from));
    if (bar == std::string::npos) {
      return parts;
    }
    from = bar + 1;
  }
}

RangeAllocators::RangeAllocators(std::vector<AllocatorConfig> configs) {
  for (std::size_t i = 0; i < configs.size(); ++i) {
    Cidr universe = configs[i].universe;
    ranges_.push_back(
        {universe, range_key_prefix(i, universe), std::make_unique<Allocator>(configs[i])});
  }
}

RangeAllocators::~RangeAllocators() = default;

int RangeAllocators::index_of(Family family) const {
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    if (ranges_[i].universe.family() == family) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

const Allocator* RangeAllocators::of_family(Family family) const {
  int i = index_of(family);
  return i < 0 ? nullptr : ranges_[static_cast<std::size_t>(i)].allocator.get();
}

const std::string* RangeAllocators::holder(const Address& a) const {
  const Allocator* allocator = of_family(a.family());
  if (allocator == nullptr) {
    return nullptr;
  }
  auto it = allocator->allocations().find(a);
  return it == allocator->allocations().end() ? nullptr : &it->second;
}

Result<Effects> RangeAllocators::start(Millis now, const Stored& stored) {
  std::vector<Stored> parts(ranges_.size());
  for (const auto& [key, value] : stored) {
    std::size_t owner = 0;
    for (std::size_t i = 1; i < ranges_.size(); ++i) {
      if (starts_with(key, ranges_[i].key_prefix)) {
        owner = i;
      }
    }
    for (const char* other : {"v4/", "v6/"}) {
      bool ours = std::any_of(ranges_.begin(), ranges_.end(),
                              [&](const Range& r) { return r.key_prefix == other; });
      if (!ours && starts_with(key, other)) {
        std::string family = other == std::string("v4/") ? "IPv4" : "IPv6";
        auto universe = stored.find(std::string(other) + kUniverseKey);
        return Status::failed_precondition(
            "the state holds allocations of the " + family + " range " +
            (universe == stored.end() ? std::string("(unnamed)") : universe->second) +
            ", which is not configured: start with --ipalloc-range " +
            (universe == stored.end() ? "<that range>" : universe->second) + " too");
      }
    }
    parts[owner][key.substr(ranges_[owner].key_prefix.size())] = value;
  }
  Effects all;
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    Result<Effects> started = ranges_[i].allocator->start(now, parts[i]);
    if (!started.ok()) {
      return i == 0 ? started.status()
                    : started.status().with_context("range " + ranges_[i].universe.to_string());
    }
    append(all, finish(i, std::move(*started)));
  }
  return all;
}

Effects RangeAllocators::finish(std::size_t i, Effects fx) {
  const Range& r = ranges_[i];
  if (i > 0) {
    for (StoreWrite& w : fx.writes) {
      w.key = r.key_prefix + w.key;
    }
    for (OutgoingMessage& m : fx.messages) {
      m.range = r.universe;
    }
    for (Event& e : fx.events) {
      e.message = r.universe.to_string() + ": " + e.message;
    }
  }
  std::vector<Reply> replies;
  for (Reply& reply : fx.replies) {
    merge_reply(std::move(reply), replies);
  }
  fx.replies = std::move(replies);
  return fx;
}

void RangeAllocators::merge_reply(Reply reply, std::vector<Reply>& out) {
  auto it = fanouts_.find(reply.id);
  if (it == fanouts_.end()) {
    out.push_back(std::move(reply));
    return;
  }
  Reply& merged = it->second.merged;
  if (merged.status.ok() && !reply.status.ok()) {
    merged.status = reply.status;
  }
  merged.addresses.insert(merged.addresses.end(), reply.addresses.begin(), reply.addresses.end());
  if (!reply.text.empty()) {
    merged.text += (merged.text.empty() ? "" : "; ") + reply.text;
  }
  if (--it->second.waiting == 0) {
    out.push_back(std::move(merged));
    fanouts_.erase(it);
  }
}

template <typename Call>
Effects RangeAllocators::each(Call call) {
  Effects all;
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    append(all, finish(i, call(*ranges_[i].allocator)));
  }
  return all;
}

Effects RangeAllocators::command(Millis now, RequestId id, const Command& command) {
  std::optional<Family> family = family_of(command);
  if (!family) {
    if (ranges_.size() > 1) {
      fanouts_[id] = {ranges_.size(), Reply{id, Status(), {}, {}}};
    }
    return each([&](Allocator& a) { return a.command(now, id, command); });
  }
  int i = index_of(*family);
  if (i < 0) {
    Effects fx;
    fx.replies.push_back(
        {id,
         Status::failed_precondition(
             std::string("no ") + family_text(*family) +
             " allocation range is configured: start weave-ipam with --ipalloc-range <" +
             family_text(*family) +
             " CIDR> (IPALLOC_RANGE in the managed plugin, comma-separated)"),
         {},
         {}});
    return fx;
  }
  auto index = static_cast<std::size_t>(i);
  return finish(index, ranges_[index].allocator->command(now, id, command));
}

Effects RangeAllocators::message(Millis now, PeerName from, const RangedMessage& message) {
  std::size_t index = 0;
  if (message.range) {
    auto it = std::find_if(ranges_.begin(), ranges_.end(),
                           [&](const Range& r) { return r.universe == *message.range; });
    if (it == ranges_.end()) {
      Effects fx;
      fx.events.push_back({EventLevel::kWarn, EventKind::kBadMessage,
                           "message from " + from.to_string() + " for range " +
                               message.range->to_string() + ", which we do not serve: dropped"});
      return fx;
    }
    index = static_cast<std::size_t>(it - ranges_.begin());
  }
  return finish(index, ranges_[index].allocator->message(now, from, message.message));
}

Effects RangeAllocators::peer_up(Millis now, const PeerIdentity& peer) {
  return each([&](Allocator& a) { return a.peer_up(now, peer); });
}

Effects RangeAllocators::peer_down(Millis now, PeerName peer) {
  return each([&](Allocator& a) { return a.peer_down(now, peer); });
}

Effects RangeAllocators::ring_conflict(Millis now, const PeerIdentity& peer,
                                       const std::string& theirs) {
  std::vector<std::string> ours = split_identities(identity());
  std::vector<std::string> parts = split_identities(theirs);
  std::vector<bool> differs(ranges_.size(), false);
  bool any = false;
  for (std::size_t i = 0; i < ranges_.size() && parts.size() == ranges_.size(); ++i) {
    differs[i] = !parts[i].empty() && !ours[i].empty() && parts[i] != ours[i];
    any = any || differs[i];
  }
  Effects all;
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    if (any && !differs[i]) {
      continue;
    }
    Result<std::vector<PeerName>> seeds =
        parse_seeds_identity(parts.size() == ranges_.size() ? parts[i] : "");
    append(all, finish(i, ranges_[i].allocator->ring_conflict(
                              now, peer, seeds.ok() ? *seeds : std::vector<PeerName>())));
  }
  return all;
}

Effects RangeAllocators::tick(Millis now) {
  return each([&](Allocator& a) { return a.tick(now); });
}

Effects RangeAllocators::shutdown(Millis now) {
  return each([&](Allocator& a) { return a.shutdown(now); });
}

std::vector<std::uint8_t> RangeAllocators::encode(const OutgoingMessage& message) const {
  return message.range ? encode_ranged_message(*message.range, message.message)
                       : encode_message(message.message);
}

std::string RangeAllocators::identity() const {
  std::vector<std::string> parts;
  for (const Range& r : ranges_) {
    parts.push_back(seeds_identity(r.allocator->ring().seeds()));
  }
  return join_identities(parts);
}

std::string RangeAllocators::ranges_text() const {
  std::string out;
  for (const Range& r : ranges_) {
    out += (out.empty() ? "" : ",") + r.universe.to_string();
  }
  return out;
}

std::vector<const std::map<Address, std::string>*> RangeAllocators::tables() const {
  std::vector<const std::map<Address, std::string>*> out;
  for (const Range& r : ranges_) {
    out.push_back(&r.allocator->allocations());
  }
  return out;
}

std::size_t RangeAllocators::pending_count() const {
  std::size_t n = 0;
  for (const Range& r : ranges_) {
    n += r.allocator->pending_count();
  }
  return n;
}

Status RangeAllocators::check_invariants() const {
  for (const Range& r : ranges_) {
    Status s = r.allocator->check_invariants();
    if (!s.ok()) {
      return s.with_context(r.universe.to_string());
    }
  }
  return Status();
}

}  // namespace wipam::ring
