// Mesh, its targets: parsing addresses, dialling and redialling with back-off, discovery
// of peers learnt from topology, and the target table shown by status. Part of class Mesh
// (gossip/mesh.h); loop-confined like the rest of it.
#include <algorithm>
#include <charconv>
#include <set>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gossip/mesh.h"

namespace wipam::gossip {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kTickInterval{200};

}  // namespace

Result<HostPort> parse_target(std::string_view text, std::uint16_t default_port) {
  auto invalid = [&](const std::string& why) {
    return Status::invalid_argument("invalid peer address '" + std::string(text) + "': " + why +
                                    " (expected host, host:port or [v6]:port)");
  };
  HostPort out{std::string(), default_port};
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return invalid("missing ']'");
    }
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return invalid("an IPv6 address needs brackets");
    }
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  if (out.host.empty()) {
    return invalid("no host");
  }
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2) {
      return invalid("junk after the host");
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), port);
    if (ec != std::errc() || end != rest.data() + rest.size() || port == 0 || port > 65535) {
      return invalid("port is not a number from 1 to 65535");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

void Mesh::remember_target(const Connection& connection) {
  auto from = connection_targets_.find(connection.id());
  std::string address;
  if (from != connection_targets_.end()) {
    address = from->second;
  } else if (config_.discovery &&
             targets_.size() < config_.targets.size() + config_.limits.max_peers) {
    // A peer that dialled us: remember where it listens, so we redial it if it restarts.
    address = connection.remote_listen_address();
    targets_[address].discovered = true;
  }
  auto t = targets_.find(address);
  if (t != targets_.end()) {
    t->second.peer = connection.remote().identity.name;
    t->second.linked_once = true;
    t->second.failures = 0;
    t->second.last_error.clear();
  }
}

void Mesh::schedule_tick() {
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](const error_code& ec) {
    if (!ec && !alive.expired()) {
      tick();
      schedule_tick();
    }
  });
}

void Mesh::tick() {
  if (config_.discovery) {
    refresh_discovered_targets();
  }
  Clock::time_point now = Clock::now();
  std::vector<std::string> due;
  std::vector<std::string> discovered;
  for (const auto& [address, target] : targets_) {
    bool linked = target.peer && established_.count(*target.peer) > 0;
    bool blocked = target.peer && link_filter_ && !link_filter_(*target.peer);
    if (!target.dialling && target.connection_id == 0 && !linked && !blocked &&
        now >= target.next_try) {
      (target.permanent ? due : discovered).push_back(address);
    }
  }
  for (const std::string& address : discovered_due(std::move(discovered))) {
    due.push_back(address);
  }
  for (const std::string& address : due) {
    dial(address);
  }
}

std::vector<std::string> Mesh::discovered_due(std::vector<std::string> due) const {
  std::size_t links = established_.size();  // and the links still being made
  for (const auto& [address, target] : targets_) {
    bool linked = target.peer && established_.count(*target.peer) > 0;
    links += target.dialling || (target.connection_id != 0 && !linked) ? 1 : 0;
  }
  std::size_t room =
      links < config_.limits.discovery_links ? config_.limits.discovery_links - links : 0;
  std::shuffle(due.begin(), due.end(), rng_);
  due.resize(std::min(room, due.size()));
  return due;
}

void Mesh::refresh_discovered_targets() {
  std::set<std::string> wanted;
  for (const Link& link : topology_.discovery_candidates()) {
    if (link.peer == config_.self.name) {
      continue;
    }
    wanted.insert(link.address);
    if (targets_.count(link.address) == 0 &&
        targets_.size() < config_.targets.size() + config_.limits.max_peers) {
      Target target;
      target.discovered = true;
      target.peer = link.peer;
      target.next_try = Clock::now();
      targets_[link.address] = target;
    }
  }
  std::erase_if(targets_, [&](const auto& entry) {
    const Target& t = entry.second;
    bool may_return = t.linked_once && t.failures < kDiscoveredRetryLimit;
    return t.discovered && !t.permanent && !t.dialling && t.connection_id == 0 &&
           wanted.count(entry.first) == 0 && !may_return;
  });
}

void Mesh::dial(const std::string& address) {
  Target& target = targets_[address];
  Result<HostPort> where = parse_target(address);
  if (!where.ok()) {
    dial_failed(address, where.status());
    return;
  }
  target.dialling = true;
  error_code ec;
  asio::ip::address ip = asio::ip::make_address(where->host, ec);
  if (!ec) {
    connect_to(address, tcp::endpoint(ip, where->port));
    return;
  }
  // A host name: Asio resolves on its own helper thread and completes on the loop.
  auto resolver = std::make_shared<tcp::resolver>(io_);
  resolver->async_resolve(where->host, std::to_string(where->port),
                          [this, alive = std::weak_ptr<int>(alive_), resolver, address](
                              const error_code& error, const tcp::resolver::results_type& results) {
                            if (alive.expired()) {
                              return;
                            }
                            if (error || results.empty()) {
                              dial_failed(address, Status::unavailable("cannot resolve " + address +
                                                                       ": " + error.message()));
                              return;
                            }
                            connect_to(address, *results.begin());
                          });
}

void Mesh::connect_to(const std::string& address, const tcp::endpoint& endpoint) {
  auto socket = std::make_shared<tcp::socket>(io_);
  error_code ec;
  socket->open(endpoint.protocol(), ec);
  if (!ec && bind_address_ && bind_address_->is_v4() == endpoint.address().is_v4()) {
    // Dial from our listen address, so peers see (and tell others) where we listen.
    socket->bind(tcp::endpoint(*bind_address_, 0), ec);
  }
  if (ec) {
    dial_failed(address,
                Status::unavailable("cannot open a socket for " + address + ": " + ec.message()));
    return;
  }
  socket->async_connect(endpoint, [this, alive = std::weak_ptr<int>(alive_), socket,
                                   address](const error_code& error) {
    if (alive.expired()) {
      return;
    }
    auto target = targets_.find(address);
    if (target == targets_.end()) {
      return;  // forgotten meanwhile; the socket closes with its last owner
    }
    if (error) {
      dial_failed(address,
                  Status::unavailable("cannot connect to " + address + ": " + error.message()));
      return;
    }
    target->second.dialling = false;
    target->second.connection_id = adopt(std::move(*socket), true, address);
  });
}

void Mesh::dial_failed(const std::string& address, const Status& why) {
  auto it = targets_.find(address);
  if (it == targets_.end()) {
    return;
  }
  Target& target = it->second;
  target.dialling = false;
  ++target.failures;
  target.last_error = why.message();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::chrono::milliseconds delay =
      backoff_delay(config_.limits.backoff, target.failures, unit(rng_));
  target.next_try = Clock::now() + delay;
  log(target.failures == 1 ? "info" : "debug",
      why.message() + "; retrying in " + std::to_string(delay.count()) + " ms");
}

std::vector<TargetStatus> Mesh::targets() const {
  std::vector<TargetStatus> out;
  Clock::time_point now = Clock::now();
  for (const auto& [address, target] : targets_) {
    TargetStatus status;
    status.address = address;
    status.discovered = target.discovered && !target.permanent;
    status.peer = target.peer;
    status.failures = target.failures;
    status.last_error = target.last_error;
    bool linked = target.peer && established_.count(*target.peer) > 0;
    status.state = linked ? TargetStatus::State::kConnected
                   : (target.dialling || target.connection_id != 0)
                       ? TargetStatus::State::kConnecting
                       : TargetStatus::State::kWaiting;
    if (status.state == TargetStatus::State::kWaiting && target.next_try > now) {
      status.retry_in =
          std::chrono::duration_cast<std::chrono::milliseconds>(target.next_try - now);
    }
    out.push_back(status);
  }
  return out;
}

void Mesh::connect(const std::string& address) {
  Target& target = targets_[address];
  target.permanent = true;
}

void Mesh::forget(const std::string& address) {
  auto it = targets_.find(address);
  if (it == targets_.end()) {
    return;
  }
  auto connection = connections_.find(it->second.connection_id);
  targets_.erase(it);
  if (connection != connections_.end()) {
    connection->second->close(Status::cancelled("target " + address + " forgotten"));
  }
}

}  // namespace wipam::gossip
