// Daemon: the weave-ipam process. It owns the event loop's state: the store, the allocator,
// the Docker plugin socket, the admin socket and the gossip mesh, and carries the
// allocator's Effects out in order (writes durable first, then messages and replies).
// Loop-confined: everything here runs on the one io_context thread; other threads (the
// store's writer) post back onto it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "driver/admin/admin_api.h"
#include "driver/daemon/config.h"
#include "driver/daemon/effects_pipeline.h"
#include "driver/docker/docker_watcher.h"
#include "driver/docker/ipam_api.h"
#include "driver/docker/reconciler.h"
#include "driver/http/http_server.h"
#include "driver/store/store.h"
#include "driver/store/store_keys.h"
#include "gossip/mesh.h"
#include "ring/range_allocators.h"

namespace wipam::driver {

class Daemon : public gossip::MeshHandler {
 public:
  Daemon(boost::asio::io_context& loop, Config config);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Opens the store, restores the allocator and the pools, listens on the plugin socket
  // first (dockerd gives a managed plugin ~10 s), then the admin socket and the mesh.
  Status start();
  // Stops accepting, fails waiting commands, flushes the store, removes the socket files;
  // calls `done` on the loop when finished.
  void stop(std::function<void()> done);
  // Why the daemon stopped by itself (a store write failed); OK otherwise.
  const Status& failure() const { return failure_; }

  void on_peer_up(const ring::PeerIdentity& peer) override;
  void on_peer_down(ring::PeerName peer) override;
  Status on_message(ring::PeerName from, gossip::Delivery kind,
                    std::span<const std::uint8_t> payload) override;
  // The mesh refused a peer whose ring was created apart from ours: the allocator records it.
  void on_allocation_conflict(const ring::PeerIdentity& peer, const std::string& address,
                              const std::string& theirs) override;

 private:
  std::vector<std::uint8_t> next_gossip();
  ring::PeerIdentity choose_identity(const std::map<std::string, std::string>& stored) const;
  std::unique_ptr<IpamApi> make_ipam_api();
  Status open_store_and_restore();
  Status check_store_matches(const std::map<std::string, std::string>& stored) const;
  Status listen();
  void on_plugin_request(const HttpRequest& request, Responder respond);
  void on_admin_request(const HttpRequest& request, Responder respond);
  // Runs `command`; `done` gets the reply once durable. `counted` commands are users' and go
  // into the metrics.
  void run(const ring::Command& command, std::function<void(const ring::Reply&)> done,
           bool counted = true);
  void submit(ring::Effects effects);
  void release(ring::Effects& effects);
  void fail_writes(const Status& status, ring::Effects& effects);
  Status watch_docker();
  void bind_containers(const DockerNetwork& network);
  void free_retired_pool(const std::string& pool_id, const ring::Cidr& subnet);
  void reconcile(const DockerView& docker);
  void save_docker_since();
  void schedule_tick();
  void drain(std::function<void()> done, std::chrono::steady_clock::time_point until);
  ring::Millis now() const;

  boost::asio::io_context& loop_;
  Config config_;
  ring::PeerIdentity self_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ring::RangeAllocators> allocators_;  // one allocator per range
  std::unique_ptr<IpamApi> ipam_;
  std::unique_ptr<EffectsPipeline> pipeline_;
  std::unique_ptr<HttpServer> plugin_server_;
  std::unique_ptr<HttpServer> admin_server_;
  std::unique_ptr<HttpServer> http_server_;
  std::unique_ptr<gossip::Mesh> mesh_;
  std::unique_ptr<AdminApi> admin_;
  DaemonCounters counters_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<DockerWatcher> watcher_;
  boost::asio::steady_timer tick_timer_;
  std::chrono::steady_clock::time_point started_;
  ring::RequestId next_id_ = 1;
  std::map<ring::RequestId, std::function<void(const ring::Reply&)>> waiting_;
  std::set<ring::RequestId> allocating_;  // allocate and claim requests not yet answered
  // Per range, the last ring update whose state is durable; the mesh's gossip takes them in
  // turn.
  std::map<ring::Cidr, std::vector<std::uint8_t>> gossip_payloads_;
  std::size_t gossip_turn_ = 0;
  std::int64_t docker_since_ = 0;
  std::string docker_id_;     // the dockerd whose view showed our pools (m/docker-id)
  std::string last_refusal_;  // the reconciler's last word on a view it would not act on
  bool stopping_ = false;
  Status failure_;
};

}  // namespace wipam::driver
