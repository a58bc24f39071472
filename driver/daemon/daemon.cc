#include "driver/daemon/daemon.h"

#include <algorithm>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "driver/base/log.h"

namespace wipam::driver {
namespace {

using nlohmann::json;
constexpr ring::Millis kTickInterval{100};
constexpr std::chrono::seconds kStopGrace{5};  // for replies in flight at SIGTERM
constexpr unsigned kPluginSocketMode = 0660;
constexpr unsigned kAdminSocketMode = 0600;

// Which of the metrics' timings a command counts toward.
enum class Timed { kNone, kAllocate, kClaim, kRelease };

Timed timed_kind(const ring::Command& command) {
  return std::visit(
      [](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, ring::AllocateCommand>) {
          return Timed::kAllocate;
        } else if constexpr (std::is_same_v<T, ring::ClaimCommand>) {
          return Timed::kClaim;
        } else if constexpr (std::is_same_v<T, ring::ReleaseCommand> ||
                             std::is_same_v<T, ring::ReleaseOwnerCommand>) {
          return Timed::kRelease;
        } else {
          return Timed::kNone;
        }
      },
      command);
}

LogLevel log_level_of(ring::EventLevel level) {
  switch (level) {
    case ring::EventLevel::kDebug:
      return LogLevel::kDebug;
    case ring::EventLevel::kInfo:
      return LogLevel::kInfo;
    case ring::EventLevel::kWarn:
      return LogLevel::kWarn;
    case ring::EventLevel::kError:
      return LogLevel::kError;
  }
  return LogLevel::kInfo;
}

}  // namespace

Daemon::Daemon(boost::asio::io_context& loop, Config config)
    : loop_(loop),
      config_(std::move(config)),
      tick_timer_(loop),
      started_(std::chrono::steady_clock::now()) {}

Daemon::~Daemon() = default;

ring::Millis Daemon::now() const {
  return std::chrono::duration_cast<ring::Millis>(std::chrono::steady_clock::now() - started_) +
         ring::Millis{1};
}

Status Daemon::start() {
  WIPAM_RETURN_IF_ERROR(open_store_and_restore());
  WIPAM_RETURN_IF_ERROR(listen());
  if (config_.port != 0 || !config_.peers.empty()) {
    gossip::MeshConfig mesh;
    mesh.self = self_;
    mesh.port = config_.port;
    for (const AllocationRange& r : config_.ranges) {
      mesh.allocation_ranges.push_back(r.range);
    }
    mesh.password = config_.password;
    mesh.targets = config_.peers;
    mesh.discovery = config_.discovery;
    mesh.log = [](const std::string& line) { log_logfmt(line); };
    // Asked at each handshake: a ring created or received since start changes it.
    mesh.allocation_identity = [this] { return allocators_->identity(); };
    mesh_ = std::make_unique<gossip::Mesh>(loop_, mesh, *this);
    mesh_->set_gossip_source([this] { return next_gossip(); });
    Status started = mesh_->start();
    if (!started.ok()) {
      return started.with_context("gossip port " + std::to_string(config_.port));
    }
  }
  admin_ = std::make_unique<AdminApi>(
      config_.ranges, *allocators_, *ipam_, mesh_.get(), counters_,
      [this](const ring::Command& c, std::function<void(const ring::Reply&)> done) {
        run(c, std::move(done));
      });
  WIPAM_RETURN_IF_ERROR(watch_docker());
  schedule_tick();
  log(LogLevel::kInfo, "daemon", "weave-ipam ready",
      {{"peer", self_.to_string()},
       {"range", allocators_->ranges_text()},
       {"plugin_socket", config_.plugin_socket},
       {"init", config_.init_text}});
  return Status();
}

Status Daemon::listen() {
  Result<std::unique_ptr<HttpServer>> plugin =
      HttpServer::listen_unix(loop_, config_.plugin_socket, kPluginSocketMode,
                              [this](const HttpRequest& r, Responder respond) {
                                on_plugin_request(r, std::move(respond));
                              });
  if (!plugin.ok()) {
    return plugin.status();
  }
  plugin_server_ = std::move(*plugin);
  if (!config_.admin_socket.empty()) {
    Result<std::unique_ptr<HttpServer>> admin =
        HttpServer::listen_unix(loop_, config_.admin_socket, kAdminSocketMode,
                                [this](const HttpRequest& r, Responder respond) {
                                  on_admin_request(r, std::move(respond));
                                });
    if (!admin.ok()) {
      return admin.status();
    }
    admin_server_ = std::move(*admin);
  }
  if (!config_.http_addr.empty()) {
    auto colon = config_.http_addr.rfind(':');
    int port = colon == std::string::npos ? -1 : std::atoi(config_.http_addr.c_str() + colon + 1);
    if (port < 0 || port > 65535) {
      return Status::invalid_argument("--http-addr " + config_.http_addr + " is not host:port");
    }
    Result<std::unique_ptr<HttpServer>> http = HttpServer::listen_tcp(
        loop_, config_.http_addr.substr(0, colon), static_cast<std::uint16_t>(port),
        [this](const HttpRequest& r, Responder respond) {
          if (r.method != "GET") {  // the TCP mirror is read-only
            respond(405, json{{"Err", "read-only endpoint"}}.dump(), "application/json");
            return;
          }
          on_admin_request(r, std::move(respond));
        });
    if (!http.ok()) {
      return http.status();
    }
    http_server_ = std::move(*http);
  }
  return Status();
}

void Daemon::on_plugin_request(const HttpRequest& request, Responder respond) {
  log(LogLevel::kDebug, "plugin", "request", {{"path", request.target}, {"body", request.body}});
  IpamApi::Outcome out = ipam_->handle(request.target, request.body);
  if (!out.note.empty()) {
    log(LogLevel::kWarn, "plugin", out.note, {{"path", request.target}});
  }
  if (out.retired_swarm_pool) {
    free_retired_pool(out.retired_swarm_pool->id, out.retired_swarm_pool->subnet);
  }
  auto answer = [respond, target = request.target](const ApiReply& reply) {
    if (reply.status != 200) {
      log(LogLevel::kWarn, "plugin", "refused", {{"path", target}, {"reply", reply.body}});
    }
    respond(reply.status, reply.body, "application/json");
  };
  if (out.command) {
    run(*out.command, [answer, finish = out.finish](const ring::Reply& r) { answer(finish(r)); });
    return;
  }
  ring::Effects fx;
  fx.writes = std::move(out.writes);
  ApiReply reply = *out.reply;
  if (fx.writes.empty()) {
    answer(reply);
    return;
  }
  // Pool table changes: answer once durable, in order with everything else.
  ring::RequestId id = next_id_++;
  waiting_[id] = [answer, reply](const ring::Reply& r) {
    answer(r.status.ok() ? reply : error_reply(r.status));
  };
  fx.replies.push_back({id, Status(), {}, {}});
  submit(std::move(fx));
}

void Daemon::on_admin_request(const HttpRequest& request, Responder respond) {
  admin_->handle(request, respond);
}

void Daemon::run(const ring::Command& command, std::function<void(const ring::Reply&)> done,
                 bool counted) {
  ring::RequestId id = next_id_++;
  // Count and time what users see: allocations, claims and releases, until the durable reply.
  auto started = std::chrono::steady_clock::now();
  Timed timed = counted ? timed_kind(command) : Timed::kNone;
  bool allocates = std::holds_alternative<ring::AllocateCommand>(command) ||
                   std::holds_alternative<ring::ClaimCommand>(command);
  if (allocates) {
    allocating_.insert(id);
  }
  waiting_[id] = [this, timed, started, done = std::move(done)](const ring::Reply& r) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    switch (timed) {
      case Timed::kAllocate:
        ++(r.status.ok() ? counters_.allocate_ok : counters_.allocate_failed);
        counters_.allocate_seconds.observe(seconds);
        break;
      case Timed::kClaim:
        ++(r.status.ok() ? counters_.claim_ok : counters_.claim_failed);
        counters_.claim_seconds.observe(seconds);
        break;
      case Timed::kRelease:
        counters_.releases += r.addresses.empty() ? 0 : 1;
        counters_.release_seconds.observe(seconds);
        break;
      case Timed::kNone:
        break;
    }
    done(r);
  };
  submit(allocators_->command(now(), id, command));
}

void Daemon::submit(ring::Effects effects) {
  for (const ring::Event& e : effects.events) {
    counters_.donations += e.kind == ring::EventKind::kDonated ? 1 : 0;
    log(log_level_of(e.level), "allocator", e.message, {{"event", ring::event_kind_name(e.kind)}});
  }
  effects.events.clear();
  // A new allocation's leak clock starts afresh the moment the allocator makes it, not when
  // its reply is durable: a reconcile in between must not judge it by its address's old clock.
  for (const ring::Reply& r : effects.replies) {
    if (allocating_.erase(r.id) && r.status.ok() && reconciler_) {
      for (const ring::Cidr& a : r.addresses) {
        reconciler_->allocated(a.address());
      }
    }
  }
  // A ring created apart: keep no link with that peer (the mesh refuses it from now on).
  for (const ring::RingConflict& c : effects.ring_conflicts) {
    if (mesh_) {
      mesh_->refuse_peer(c.peer, Status::conflict(c.message()));
    }
  }
  effects.ring_conflicts.clear();
  pipeline_->submit(std::move(effects));
}

void Daemon::release(ring::Effects& effects) {
  for (const ring::OutgoingMessage& m : effects.messages) {
    std::vector<std::uint8_t> payload = allocators_->encode(m);
    if (m.delivery == ring::Delivery::kGossip) {
      // Sent by the mesh on its own schedule.
      gossip_payloads_[m.range.value_or(allocators_->universe(0))] = std::move(payload);
    } else if (mesh_ && m.delivery == ring::Delivery::kBroadcast) {
      mesh_->broadcast(payload);
    } else if (mesh_) {
      (void)mesh_->unicast(m.to, payload);  // the allocator retries on its own deadlines
    }
  }
  for (const ring::Reply& r : effects.replies) {
    auto it = waiting_.find(r.id);
    if (it == waiting_.end()) {
      continue;
    }
    auto done = std::move(it->second);
    waiting_.erase(it);
    done(r);
  }
}

// Each range's last ring update in turn, one per gossip round.
std::vector<std::uint8_t> Daemon::next_gossip() {
  if (gossip_payloads_.empty()) {
    return {};
  }
  auto it = gossip_payloads_.begin();
  std::advance(it, static_cast<long>(gossip_turn_++ % gossip_payloads_.size()));
  return it->second;
}

void Daemon::fail_writes(const Status& status, ring::Effects& effects) {
  if (failure_.ok()) {
    log(LogLevel::kError, "store", "write failed; stopping so memory and disk cannot diverge",
        {{"error", status.to_string()}});
  }
  for (ring::Reply& r : effects.replies) {
    r.status = Status::unavailable("could not persist the change: " + status.message());
  }
  if (failure_.ok()) {
    failure_ =
        Status::unavailable("a store write in " + config_.db_path + " failed: " + status.message() +
                            " (nothing since was acknowledged; free space and restart)");
    boost::asio::post(loop_, [this] { loop_.stop(); });
  }
}

void Daemon::schedule_tick() {
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) {
      return;
    }
    submit(allocators_->tick(now()));
    schedule_tick();
  });
}

void Daemon::on_peer_up(const ring::PeerIdentity& peer) {
  log(LogLevel::kInfo, "gossip", "peer up", {{"peer", peer.to_string()}});
  submit(allocators_->peer_up(now(), peer));
}

void Daemon::on_peer_down(ring::PeerName peer) {
  log(LogLevel::kInfo, "gossip", "peer down", {{"peer", peer.to_string()}});
  submit(allocators_->peer_down(now(), peer));
}

void Daemon::on_allocation_conflict(const ring::PeerIdentity& peer, const std::string& address,
                                    const std::string& theirs) {
  log(LogLevel::kDebug, "gossip", "refused a ring created apart",
      {{"peer", peer.to_string()}, {"address", address}, {"theirs", theirs}});
  submit(allocators_->ring_conflict(now(), peer, theirs));
}

Status Daemon::on_message(ring::PeerName from, gossip::Delivery,
                          std::span<const std::uint8_t> payload) {
  // Decoded here, not in the allocator, so the mesh can refuse to relay bytes we refuse.
  Result<ring::RangedMessage> message = ring::decode_ranged_message(payload);
  if (!message.ok()) {
    return message.status().with_context("message from " + from.to_string());
  }
  submit(allocators_->message(now(), from, *message));
  return Status();
}

void Daemon::stop(std::function<void()> done) {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  tick_timer_.cancel();
  log(LogLevel::kInfo, "daemon", "stopping");
  for (auto* server : {&plugin_server_, &admin_server_, &http_server_}) {
    if (*server) {
      (*server)->stop();
    }
  }
  if (watcher_) {
    save_docker_since();
    watcher_->stop();
  }
  if (allocators_) {
    submit(allocators_->shutdown(now()));  // fails what still waits on peers or deadlines
  }
  drain(std::move(done), std::chrono::steady_clock::now() + kStopGrace);
}

// Waits for the replies already decided to become durable and go out, then stops the mesh.
void Daemon::drain(std::function<void()> done, std::chrono::steady_clock::time_point until) {
  bool idle = (!pipeline_ || pipeline_->waiting() == 0) && waiting_.empty();
  if (!idle && std::chrono::steady_clock::now() < until) {
    tick_timer_.expires_after(std::chrono::milliseconds(10));
    tick_timer_.async_wait(
        [this, done = std::move(done), until](const boost::system::error_code&) mutable {
          drain(std::move(done), until);
        });
    return;
  }
  if (!idle) {
    log(LogLevel::kWarn, "daemon", "stopping with replies still unsent",
        {{"waiting", std::to_string(waiting_.size())}});
  }
  if (store_) {
    store_->flush();
  }
  if (mesh_) {
    mesh_->stop();
  }
  // One more turn of the loop lets the last replies' socket writes complete.
  tick_timer_.expires_after(std::chrono::milliseconds(20));
  tick_timer_.async_wait([done = std::move(done)](const boost::system::error_code&) { done(); });
}

}  // namespace wipam::driver
