// A few allocators on a perfect network, driven by hand: the harness of the allocator's
// rule tests (allocator_test.cc, shares_test.cc). No simulation, no faults.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "ring/allocator.h"

namespace wipam::ring::hand {

inline Cidr cidr(const char* text) { return *Cidr::parse(text); }
inline Address addr(const char* text) { return *Address::parse(text); }

// A few peers on a perfect network: every message arrives, in order, when run() is called.
class Peers {
 public:
  Peers(int count, InitMode init, const char* universe = "10.32.0.0/16") {
    for (int i = 1; i <= count; ++i) {
      peers_.emplace(PeerName(i), std::make_unique<Allocator>(config(i, init, universe)));
      EXPECT_TRUE(take(PeerName(i), peer(i).start(now_, {})));
    }
  }

  // Peer `i`'s configuration: what a restart of it from its store uses too.
  static AllocatorConfig config(int i, InitMode init, const char* universe = "10.32.0.0/16") {
    AllocatorConfig c;
    c.self = {PeerName(i), "p" + std::to_string(i), static_cast<std::uint64_t>(i)};
    c.universe = cidr(universe);
    c.init = init;
    return c;
  }

  Allocator& peer(int i) { return *peers_.at(PeerName(i)); }
  std::map<std::string, std::string>& store(int i) { return stores_[PeerName(i)]; }
  Millis now() const { return now_; }

  // Brings every peer up to every other one.
  void connect() {
    for (auto& [name, a] : peers_) {
      for (auto& [other, b] : peers_) {
        if (name != other) {
          take(name, a->peer_up(now_, {other, "p" + other.to_string(), other.value()}));
        }
      }
    }
    run();
  }
  // Peer `i` is gone for good: nothing reaches it or comes from it, and the others see it
  // go down.
  void kill(int i) {
    dead_.insert(PeerName(i));
    for (auto& [name, a] : peers_) {
      if (!dead_.contains(name)) {
        take(name, a->peer_down(now_, PeerName(i)));
      }
    }
    run();
  }
  // Peer `i`, killed before, is back with the state it had: a partition that heals.
  void revive(int i) {
    dead_.erase(PeerName(i));
    for (auto& [name, a] : peers_) {
      if (name != PeerName(i) && !dead_.contains(name)) {
        take(name, a->peer_up(now_, {PeerName(i), "p" + std::to_string(i),
                                     static_cast<std::uint64_t>(i)}));
        take(PeerName(i), peer(i).peer_up(now_, {name, "p" + name.to_string(), name.value()}));
      }
    }
    run();
  }
  // Submits a command at peer `i`; its reply, if it came within `limit`.
  std::optional<Reply> call(int i, const Command& command, Millis limit = Millis{5000}) {
    RequestId id = next_id_++;
    take(PeerName(i), peer(i).command(now_, id, command));
    run(limit, id);
    return reply(id);
  }
  // Delivers messages and ticks every 100 ms, for `limit` or until `id` is answered.
  void run(Millis limit = Millis{0}, RequestId id = 0) {
    Millis end = now_ + limit;
    deliver();
    while (now_ < end && (id == 0 || !reply(id))) {
      now_ += Millis{100};
      for (auto& [name, a] : peers_) {
        if (!dead_.contains(name)) {
          take(name, a->tick(now_));
        }
      }
      deliver();
    }
  }
  std::optional<Reply> reply(RequestId id) const {
    auto it = replies_.find(id);
    return it == replies_.end() ? std::nullopt : std::optional(it->second);
  }
  bool saw_event(EventKind kind) const {
    for (const Event& e : events_) {
      if (e.kind == kind) {
        return true;
      }
    }
    return false;
  }
  bool take(PeerName from, Result<Effects> fx) {
    if (!fx.ok()) {
      return false;
    }
    for (const StoreWrite& w : fx->writes) {
      if (w.value) {
        stores_[from][w.key] = *w.value;
      } else {
        stores_[from].erase(w.key);
      }
    }
    for (OutgoingMessage& m : fx->messages) {
      queue_.push_back({from, std::move(m)});
    }
    for (Reply& r : fx->replies) {
      replies_[r.id] = std::move(r);
    }
    events_.insert(events_.end(), fx->events.begin(), fx->events.end());
    return true;
  }

 private:
  void deliver() {
    while (!queue_.empty()) {
      auto [from, m] = std::move(queue_.front());
      queue_.pop_front();
      for (auto& [name, a] : peers_) {
        if (name != from && !dead_.contains(name) && !dead_.contains(from) &&
            (m.delivery != Delivery::kUnicast || m.to == name)) {
          take(name, a->message(now_, from, m.message));
        }
      }
    }
  }

  Millis now_{1000};
  RequestId next_id_ = 1;
  std::map<PeerName, std::unique_ptr<Allocator>> peers_;
  std::set<PeerName> dead_;
  std::map<PeerName, std::map<std::string, std::string>> stores_;
  std::deque<std::pair<PeerName, OutgoingMessage>> queue_;
  std::map<RequestId, Reply> replies_;
  std::vector<Event> events_;
};

inline SeedInit seeds(int count) {
  SeedInit s;
  for (int i = 1; i <= count; ++i) {
    s.seeds.push_back(PeerName(i));
  }
  return s;
}

inline AllocateCommand allocate(const std::string& owner, const char* subnet) {
  return {owner, cidr(subnet), std::nullopt};
}

inline std::string first(const std::optional<Reply>& r) {
  if (!r) {
    return "(no reply)";
  }
  return r->status.ok() && !r->addresses.empty() ? r->addresses.front().to_string()
                                                 : r->status.to_string();
}

}  // namespace wipam::ring::hand
