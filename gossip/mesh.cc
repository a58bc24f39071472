#include "gossip/mesh.h"

#include <algorithm>
#include <iostream>
#include <set>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

namespace wipam::gossip {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

std::uint64_t seed_from_openssl() {
  std::array<std::uint8_t, 8> bytes{};
  (void)random_bytes(bytes);  // a zero seed only makes jitter and gossip choice predictable
  std::uint64_t seed = 0;
  for (std::uint8_t b : bytes) {
    seed = (seed << 8) | b;
  }
  return seed;
}

}  // namespace

const char* delivery_name(Delivery delivery) {
  switch (delivery) {
    case Delivery::kBroadcast:
      return "broadcast";
    case Delivery::kUnicast:
      return "unicast";
    case Delivery::kGossip:
      return "gossip";
  }
  return "unknown";
}

Mesh::Mesh(asio::io_context& io, MeshConfig config, MeshHandler& handler)
    : io_(io),
      config_(std::move(config)),
      handler_(handler),
      acceptor_(io),
      accept_pause_timer_(io),
      tick_timer_(io),
      gossip_timer_(io),
      topology_timer_(io),
      rng_(seed_from_openssl()),
      topology_(config_.self, config_.limits.max_peers) {
  connection_options_.terms =
      LocalTerms{config_.self, ranges_text(config_.allocation_ranges), config_.password.has_value(),
                 /*allocation_identity=*/{}};  // asked per link: see allocation_identity
  connection_options_.allocation_identity = config_.allocation_identity;
  connection_options_.password = config_.password.value_or("");
  connection_options_.max_frame_bytes = config_.limits.max_frame_bytes;
  connection_options_.send_queue_bytes = config_.limits.send_queue_bytes;
  connection_options_.handshake_timeout = config_.limits.handshake_timeout;
  connection_options_.heartbeat = config_.limits.heartbeat;
  connection_options_.idle_timeout = config_.limits.idle_timeout;
}

Mesh::~Mesh() { stop(); }

void Mesh::log(const char* level, const std::string& message) const {
  std::string line = std::string("level=") + level +
                     " component=gossip peer=" + config_.self.name.to_string() +
                     " msg=" + quote(message);
  if (config_.log) {
    config_.log(line);
  } else {
    std::cerr << line << '\n';
  }
}

Status Mesh::start() {
  if (started_) {
    return Status::failed_precondition("mesh already started");
  }
  started_ = true;
  WIPAM_RETURN_IF_ERROR(listen());
  if (!config_.password) {
    log("warn", "no password set: links to peers are neither authenticated nor encrypted");
  }
  for (const std::string& target : config_.targets) {
    connect(target);
  }
  accept_next();
  schedule_tick();
  gossip_timer_.expires_after(config_.limits.gossip_interval);
  gossip_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](const error_code& ec) {
    if (!ec && !alive.expired()) {
      on_gossip_timer();
    }
  });
  return Status();
}

Status Mesh::listen() {
  error_code ec;
  asio::ip::address address = asio::ip::make_address(config_.listen_host, ec);
  if (ec) {
    return Status::invalid_argument("listen address '" + config_.listen_host +
                                    "' is not an IP address");
  }
  if (!address.is_unspecified()) {
    bind_address_ = address;
  }
  tcp::endpoint endpoint(address, config_.port);
  std::string where = config_.listen_host + ":" + std::to_string(config_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Status::unavailable("cannot listen on " + where + ": " + ec.message() +
                               " (is another weave-ipam running? choose another --port)");
  }
  local_port_ = acceptor_.local_endpoint(ec).port();
  connection_options_.listen_port = local_port_;
  log("info", "listening on " + config_.listen_host + ":" + std::to_string(local_port_));
  return Status();
}

void Mesh::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  alive_.reset();
  error_code ignored;
  acceptor_.close(ignored);
  accept_pause_timer_.cancel();
  tick_timer_.cancel();
  gossip_timer_.cancel();
  topology_timer_.cancel();
  for (auto& [id, connection] : connections_) {
    connection->detach();
    connection->close(Status::cancelled("mesh stopping"));
  }
  connections_.clear();
  established_.clear();
}

void Mesh::accept_next() {
  acceptor_.async_accept(
      [this, alive = std::weak_ptr<int>(alive_)](const error_code& ec, tcp::socket socket) {
        if (alive.expired()) {
          return;
        }
        if (!ec) {
          adopt(std::move(socket), false, std::string());
          accept_next();
          return;
        }
        // Out of descriptors or similar: pause rather than spin on the failing accept.
        log("warn", "accept failed: " + ec.message() + "; pausing accepts for 1 s");
        accept_pause_timer_.expires_after(std::chrono::seconds(1));
        accept_pause_timer_.async_wait([this, alive](const error_code& error) {
          if (!error && !alive.expired()) {
            accept_next();
          }
        });
      });
}

std::size_t Mesh::handshakes_from(const asio::ip::address& ip) const {
  return static_cast<std::size_t>(
      std::count_if(connections_.begin(), connections_.end(), [&](const auto& entry) {
        const Connection& c = *entry.second;
        return !c.initiator() && !c.established() && c.remote_ip() == ip;
      }));
}

std::uint64_t Mesh::adopt(tcp::socket socket, bool initiator, const std::string& target) {
  // Bound links in handshake too: an unauthenticated flood must not grow memory unboundedly.
  error_code ec;
  asio::ip::address ip = socket.remote_endpoint(ec).address();
  std::string refusal;
  if (connections_.size() >= 2 * config_.limits.max_connections) {
    refusal = "connection limit reached; dropped a new connection";
  } else if (!initiator && !ec &&
             handshakes_from(ip) >= config_.limits.max_handshakes_per_address) {
    refusal = "too many handshakes from " + ip.to_string() + " (limit " +
              std::to_string(config_.limits.max_handshakes_per_address) +
              "); dropped a new connection";
  }
  if (!refusal.empty()) {
    error_code ignored;
    socket.close(ignored);
    // A flood must not flood the log too: say it at the 1st, 2nd, 4th, 8th, ... drop.
    ++dropped_connections_;
    if ((dropped_connections_ & (dropped_connections_ - 1)) == 0) {
      log("warn", refusal + " (" + std::to_string(dropped_connections_) + " dropped so far)");
    }
    return 0;
  }
  std::uint64_t id = next_connection_id_++;
  auto connection = std::make_shared<Connection>(std::move(socket), initiator, connection_options_,
                                                 static_cast<ConnectionOwner&>(*this), id);
  connections_[id] = connection;
  if (!target.empty()) {
    connection_targets_[id] = target;
  }
  connection->start();
  return id;
}

bool Mesh::prefer_existing(const Connection& existing, const Connection& incoming) const {
  // Both ends must keep the same link: keep the one dialled by the lower-named peer. When
  // both were dialled by the same side, the newer one wins (the old one may be half dead).
  ring::PeerName peer = existing.remote().identity.name;
  bool lower_is_us = config_.self.name < peer;
  auto dialled_by_lower = [&](const Connection& c) { return c.initiator() == lower_is_us; };
  return dialled_by_lower(existing) && !dialled_by_lower(incoming);
}

Status Mesh::admit(const Connection& connection, const Hello& hello) {
  ring::PeerName peer = hello.identity.name;
  // First, so that a refused incarnation is always refused for that (see created_apart()).
  if (std::optional<Status> refused = refused_.check(hello.identity)) {
    return *refused;
  }
  if (link_filter_ && !link_filter_(peer)) {
    return Status::unavailable("link to " + hello.identity.to_string() + " blocked by test filter");
  }
  auto it = established_.find(peer);
  if (it != established_.end()) {
    if (it->second->remote().identity.uid == hello.identity.uid &&
        prefer_existing(*it->second, connection)) {
      return Status::already_exists("duplicate connection to " + hello.identity.to_string());
    }
    return Status();  // it replaces the existing link once up
  }
  if (established_.size() >= config_.limits.max_connections) {
    return Status::exhausted("connection limit of " +
                             std::to_string(config_.limits.max_connections) + " reached");
  }
  return Status();
}

void Mesh::on_established(const std::shared_ptr<Connection>& connection) {
  const ring::PeerIdentity& peer = connection->remote().identity;
  auto it = established_.find(peer.name);
  if (it != established_.end()) {
    if (it->second->remote().identity.uid == peer.uid &&
        prefer_existing(*it->second, *connection)) {
      connection->close(Status::already_exists("duplicate connection to " + peer.to_string()));
      return;
    }
    std::shared_ptr<Connection> old = it->second;
    established_.erase(it);
    old->close(Status::already_exists("replaced by a newer link to " + peer.to_string()));
  }
  established_[peer.name] = connection;
  log("info", "connected to " + peer.to_string() + " at " + connection->remote_endpoint() +
                  (connection->keyed() ? " (encrypted)" : " (plain)"));
  remember_target(*connection);
  publish_own_links();
  Status sent = send_on(*connection, encode_topology(topology_.entries()));
  if (Bytes payload = gossip_source_ ? gossip_source_() : Bytes(); sent.ok() && !payload.empty()) {
    sent = send_on(*connection, encode_gossip(payload));
  }
  notify_reachability();
}

void Mesh::on_closed(const std::shared_ptr<Connection>& connection, const Status& why) {
  connections_.erase(connection->id());
  bool was_up = false;
  std::string who = connection->remote_endpoint();
  if (connection->has_remote()) {
    who = connection->remote().identity.to_string();
    auto it = established_.find(connection->remote().identity.name);
    if (it != established_.end() && it->second == connection) {
      was_up = true;
      established_.erase(it);
      log("info", "lost link to " + who + ": " + why.message());
      publish_own_links();
      notify_reachability();
    }
  }
  std::string address = connection->remote_endpoint();
  auto target = connection_targets_.find(connection->id());
  if (target != connection_targets_.end()) {
    address = target->second;
    auto t = targets_.find(address);
    if (t != targets_.end() && t->second.connection_id == connection->id()) {
      Target& state = t->second;
      state.connection_id = 0;
      state.failures = was_up ? 1 : state.failures + 1;
      state.last_error = why.message();
      std::uniform_real_distribution<double> unit(0.0, 1.0);
      state.next_try =
          Clock::now() + backoff_delay(config_.limits.backoff, state.failures, unit(rng_));
    }
    connection_targets_.erase(target);
  }
  bool quiet = why.code() == Code::kAlreadyExists || why.code() == Code::kCancelled;
  if (!was_up && !quiet) {
    log("warn", "link with " + who + " (" + address + ") failed: " + why.message());
    handler_.on_link_failed(address, why);
  }
  if (!was_up && connection->peer_proven() && created_apart(*connection)) {
    const Hello& hello = connection->remote();
    handler_.on_allocation_conflict(hello.identity, address, hello.allocation_identity);
  }
}

bool Mesh::created_apart(const Connection& connection) {
  return connection.refusal() == Refusal::kCreatedApart ||
         (connection.refusal() == Refusal::kByOwner &&
          refused_.check(connection.remote().identity).has_value());
}

void Mesh::refuse_peer(const ring::PeerIdentity& peer, const Status& why) {
  ring::PeerIdentity who = peer;
  auto link = established_.find(peer.name);
  if (who.uid == 0 && link != established_.end()) {
    who.uid = link->second->remote().identity.uid;
  }
  for (const PeerEntry& entry : who.uid == 0 ? topology_.entries() : std::vector<PeerEntry>()) {
    if (entry.identity.name == who.name) {
      who.uid = entry.identity.uid;
    }
  }
  if (who.uid == 0) {
    return;  // never seen: the handshake will judge it
  }
  refused_.refuse(who, why);
  if (link != established_.end() && link->second->remote().identity.uid == who.uid) {
    log("warn", "closing the link to " + who.to_string() + ": " + why.message());
    link->second->close(why);
  }
}

void Mesh::publish_own_links() {
  std::vector<Link> links;
  for (const auto& [name, connection] : established_) {
    links.push_back(Link{name, connection->remote_listen_address()});
  }
  send_topology({topology_.set_own_links(std::move(links))});
}

void Mesh::notify_reachability() {
  std::map<ring::PeerName, std::uint64_t> now;
  for (const ring::PeerIdentity& peer : topology_.reachable_peers()) {
    now[peer.name] = peer.uid;
  }
  std::vector<ring::PeerName> down;
  std::vector<ring::PeerIdentity> up;
  for (const auto& [name, uid] : reported_up_) {
    auto it = now.find(name);
    if (it == now.end() || it->second != uid) {
      down.push_back(name);
    }
  }
  for (const ring::PeerIdentity& peer : topology_.reachable_peers()) {
    auto it = reported_up_.find(peer.name);
    if (it == reported_up_.end() || it->second != peer.uid) {
      up.push_back(peer);
    }
  }
  reported_up_ = std::move(now);
  // Handlers run last, on settled state, because they may call back into the mesh.
  for (ring::PeerName name : down) {
    handler_.on_peer_down(name);
  }
  for (const ring::PeerIdentity& peer : up) {
    handler_.on_peer_up(peer);
  }
}

void Mesh::on_gossip_timer() {
  repay_topology();
  std::vector<std::uint8_t> payload = gossip_source_ ? gossip_source_() : Bytes();
  if (!payload.empty() && !established_.empty()) {  // nothing to say yet: say nothing
    std::uniform_int_distribution<std::size_t> pick(0, established_.size() - 1);
    auto it = std::next(established_.begin(), static_cast<std::ptrdiff_t>(pick(rng_)));
    if (!send_on(*it->second, encode_gossip(payload)).ok()) {
      log("debug", "gossip to " + it->first.to_string() + " not queued");
    }
  }
  gossip_timer_.expires_after(config_.limits.gossip_interval);
  gossip_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](const error_code& ec) {
    if (!ec && !alive.expired()) {
      on_gossip_timer();
    }
  });
}

void Mesh::broadcast(std::span<const std::uint8_t> payload) {
  BroadcastMessage message{config_.self.name, config_.self.uid, ++broadcast_seq_,
                           Bytes(payload.begin(), payload.end())};
  send_to_all(encode_broadcast(message), nullptr);
}

Status Mesh::unicast(ring::PeerName to, std::span<const std::uint8_t> payload) {
  if (to == config_.self.name) {
    return Status::invalid_argument("cannot unicast to ourselves");
  }
  std::optional<ring::PeerName> next = topology_.next_hop(to);
  auto link = next ? established_.find(*next) : established_.end();
  if (link == established_.end()) {
    return Status::unavailable("peer " + to.to_string() + " is unreachable");
  }
  UnicastMessage message{config_.self.name, to, kMaxHops, Bytes(payload.begin(), payload.end())};
  return send_on(*link->second, encode_unicast(message));
}

void Mesh::set_gossip_source(std::function<std::vector<std::uint8_t>()> source) {
  gossip_source_ = std::move(source);
}

std::vector<PeerStatus> Mesh::peers() const {
  std::vector<PeerStatus> out;
  std::vector<PeerEntry> entries = topology_.entries();
  for (const PeerEntry& entry : entries) {
    ring::PeerName name = entry.identity.name;
    if (name == config_.self.name) {
      continue;
    }
    PeerStatus status;
    status.identity = entry.identity;
    auto link = established_.find(name);
    status.direct = link != established_.end();
    status.encrypted = status.direct && link->second->keyed();
    status.hops = topology_.distance(name).value_or(0);
    if (!status.direct) {
      status.via = topology_.next_hop(name);
    }
    for (const PeerEntry& other : entries) {
      for (const Link& l : other.links) {
        if (l.peer == name && status.address.empty()) {
          status.address = l.address;
        }
      }
    }
    out.push_back(status);
  }
  return out;
}

void Mesh::set_link_filter_for_test(std::function<bool(ring::PeerName)> allow) {
  link_filter_ = std::move(allow);
  if (!link_filter_) {
    return;
  }
  for (const auto& [name, connection] : established_) {
    if (!link_filter_(name)) {
      connection->close(
          Status::unavailable("link to " + name.to_string() + " blocked by test filter"));
    }
  }
}

}  // namespace wipam::gossip
