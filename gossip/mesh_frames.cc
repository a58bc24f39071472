// Mesh, the frames an established link carries: topology merges and coalesced sends, flooded
// broadcasts (validated by the handler before relay), routed unicasts and gossip, with the source
// checks of WIRE_FORMAT.md section 5. Part of class Mesh (gossip/mesh.h); loop-confined.
#include <algorithm>

#include "gossip/mesh.h"

namespace wipam::gossip {
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

void Mesh::on_frame(const std::shared_ptr<Connection>& connection, FrameType type, Bytes body) {
  switch (type) {
    case FrameType::kTopology:
      handle_topology(connection, body);
      return;
    case FrameType::kBroadcast:
      handle_broadcast(connection, body);
      return;
    case FrameType::kUnicast:
      handle_unicast(connection, std::move(body));
      return;
    case FrameType::kGossip: {
      Result<Bytes> payload = decode_gossip(body);
      if (!payload.ok()) {
        connection->close(payload.status());
        return;
      }
      ring::PeerName from = connection->remote().identity.name;
      Status accepted = handler_.on_message(from, Delivery::kGossip, *payload);
      if (!accepted.ok()) {
        log("warn", "refused gossip from " + from.to_string() + ": " + accepted.message());
      }
      return;
    }
    default:
      connection->close(
          Status::corruption("unexpected frame type " + std::to_string(static_cast<int>(type))));
  }
}

void Mesh::handle_topology(const std::shared_ptr<Connection>& from, const Bytes& body) {
  Result<std::vector<PeerEntry>> entries = decode_topology(body);
  if (!entries.ok()) {
    from->close(entries.status());
    return;
  }
  const ring::PeerIdentity& link = from->remote().identity;
  for (const PeerEntry& entry : *entries) {
    // A peer sends only its own entry in its name: another incarnation there is forged.
    if (entry.identity.name == link.name && entry.identity.uid != link.uid) {
      from->close(Status::corruption("topology from " + link.to_string() +
                                     " speaks for it as another incarnation (uid " +
                                     std::to_string(entry.identity.uid) + ")"));
      return;
    }
  }
  // Relayed coalesced, to every link: the sender too, which merges it as nothing new.
  if (std::vector<PeerEntry> changed = topology_.merge(*entries); !changed.empty()) {
    send_topology(changed);
  }
  notify_reachability();
}

void Mesh::send_topology(const std::vector<PeerEntry>& changed) {
  for (const PeerEntry& entry : changed) {
    pending_topology_.insert(entry.identity.name);  // sent as held when flushed
  }
  if (topology_timer_armed_) {
    return;
  }
  Clock::time_point due = last_topology_sent_ + config_.limits.topology_interval;
  if (Clock::now() >= due) {
    flush_topology();
    return;
  }
  topology_timer_armed_ = true;
  topology_timer_.expires_at(due);
  topology_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](const error_code& ec) {
    if (!ec && !alive.expired()) {
      topology_timer_armed_ = false;
      flush_topology();
    }
  });
}

void Mesh::flush_topology() {
  std::vector<PeerEntry> entries;
  for (ring::PeerName name : pending_topology_) {
    // Only what we still hold: a peer pruned as unreachable meanwhile is not worth telling.
    if (const PeerEntry* held = topology_.find(name); held != nullptr) {
      entries.push_back(*held);
    }
  }
  pending_topology_.clear();
  last_topology_sent_ = Clock::now();
  if (!entries.empty()) {
    send_to_all(encode_topology(entries), nullptr);
  }
  repay_topology();
}

// A link whose topology was shed gets the whole table once its queue has room again.
void Mesh::repay_topology() {
  for (auto it = topology_owed_.begin(); it != topology_owed_.end();) {
    auto link = established_.find(*it);
    if (link == established_.end()) {
      it = topology_owed_.erase(it);
      continue;
    }
    if (link->second->queued_bytes() > config_.limits.send_queue_bytes / 2) {
      ++it;
      continue;
    }
    it = topology_owed_.erase(it);  // before sending: a shed send owes it again
    (void)send_on(*link->second, encode_topology(topology_.entries()));  // counted either way
  }
}

void Mesh::send_to_all(ByteView body, const Connection* except) {
  for (const auto& [name, connection] : established_) {
    if (connection.get() == except) {
      continue;
    }
    if (Status sent = send_on(*connection, body); !sent.ok()) {
      log(sent.code() == Code::kExhausted ? "debug" : "warn",
          "could not queue a frame for " + name.to_string() + ": " + sent.message());
    }
  }
}

// Once a link's queue is over half full, topology and gossip frames are shed: gossip is
// re-sent on its timer and shed topology is owed (repay_topology), while broadcasts and
// unicasts (Paxos, space, ring updates) keep the other half, so they are never dropped
// before the link itself gives up.
Status Mesh::send_on(Connection& connection, ByteView body) {
  Result<FrameType> type = frame_type(body);
  bool resendable = type.ok() && (*type == FrameType::kTopology || *type == FrameType::kGossip);
  if (resendable && connection.queued_bytes() > config_.limits.send_queue_bytes / 2) {
    counters_.dropped.add(body);
    if (*type == FrameType::kTopology && connection.established()) {
      topology_owed_.insert(connection.remote().identity.name);
    }
    return Status::exhausted("shed: the queue to " + connection.remote_endpoint() +
                             " is over half full");
  }
  Status sent = connection.send(body);
  (sent.ok() ? counters_.sent : counters_.dropped).add(body);
  return sent;
}

void Mesh::handle_broadcast(const std::shared_ptr<Connection>& from, const Bytes& body) {
  Result<BroadcastMessage> message = decode_broadcast(body);
  if (!message.ok()) {
    from->close(message.status());
    return;
  }
  const ring::PeerIdentity& link = from->remote().identity;
  if (message->source == link.name && message->source_uid != link.uid) {
    from->close(Status::corruption("broadcast from " + link.to_string() +
                                   " claims another incarnation of it as its source"));
    return;
  }
  if (message->source == config_.self.name) {
    // Our own, come round a cycle (or forged in our name): never delivered or relayed.
    if (message->source_uid != config_.self.uid) {
      log("debug", "refused a broadcast in our name with another uid, via " + link.to_string());
    }
    return;
  }
  if (windows_.size() >= 2 * config_.limits.max_peers) {
    std::erase_if(windows_, [&](const auto& w) { return !topology_.reachable(w.first.first); });
  }
  std::pair<ring::PeerName, std::uint64_t> origin{message->source, message->source_uid};
  if (windows_[origin].seen(message->seq)) {
    return;
  }
  // Accepted by the handler first: a payload it refuses goes no further than us. Its seq is
  // recorded only once accepted, so forged garbage cannot use up a real peer's numbers.
  Status accepted = handler_.on_message(message->source, Delivery::kBroadcast, message->payload);
  if (!accepted.ok()) {
    log("warn", "refused a broadcast from " + message->source.to_string() + " via " +
                    link.to_string() + ", not relayed: " + accepted.message());
    return;
  }
  windows_[origin].record(message->seq);  // looked up again: the handler may have run long
  send_to_all(body, from.get());
}

void Mesh::handle_unicast(const std::shared_ptr<Connection>& from, Bytes body) {
  Result<UnicastMessage> message = decode_unicast(body);
  if (!message.ok()) {
    from->close(message.status());
    return;
  }
  const ring::PeerIdentity& sender = from->remote().identity;
  if (message->hops_left == kMaxHops && message->source != sender.name) {
    // Not relayed yet, so the link's peer sent it: its source must be that peer.
    from->close(Status::corruption("unicast from " + sender.to_string() + " claims source " +
                                   message->source.to_string() + " on its first hop"));
    return;
  }
  if (message->source == config_.self.name) {
    log("warn", "refused a unicast in our name via " + sender.to_string());
    return;
  }
  if (message->destination == config_.self.name) {
    Status accepted = handler_.on_message(message->source, Delivery::kUnicast, message->payload);
    if (!accepted.ok()) {
      log("warn",
          "refused a unicast from " + message->source.to_string() + ": " + accepted.message());
    }
    return;
  }
  std::optional<ring::PeerName> next = topology_.next_hop(message->destination);
  auto link = next ? established_.find(*next) : established_.end();
  if (message->hops_left <= 1 || link == established_.end()) {
    log("debug", "dropped a unicast from " + message->source.to_string() + " to " +
                     message->destination.to_string() + ": no route");
    return;
  }
  --message->hops_left;
  if (!send_on(*link->second, encode_unicast(*message)).ok()) {
    log("debug", "dropped a relayed unicast: next hop's queue is full");
  }
}

}  // namespace wipam::gossip
