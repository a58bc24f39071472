// DockerWatcher: follows the Docker daemon's events and tells the daemon what they mean for
// its allocations. It streams container and network events; on a network connect it reads
// the network and reports which container holds which address. Events never release
// anything themselves (a replayed or late event must not free a later holder's address):
// a container's exit only brings the next full read forward. After every (re)connect,
// every `reconcile_interval`, and soon after an exit, it reads Docker's ID and every
// network and reports the whole view, so the daemon can release leaks. Reconnects with
// backoff, resuming from the last event's time.
// Loop-confined. Docker being absent or restarting never blocks anything else.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "driver/docker/docker_client.h"
#include "driver/docker/reconciler.h"

namespace wipam::driver {

class DockerWatcher {
 public:
  struct Hooks {
    std::function<void(const DockerNetwork&)> network_changed;
    std::function<void(const DockerView&)> reconcile;
  };

  DockerWatcher(boost::asio::io_context& io, std::unique_ptr<DockerClient> client, Hooks hooks,
                std::chrono::milliseconds reconcile_interval);
  ~DockerWatcher();
  DockerWatcher(const DockerWatcher&) = delete;
  DockerWatcher& operator=(const DockerWatcher&) = delete;

  // Starts following events from `since` (seconds since the epoch; 0: from now), e.g. the
  // last event a previous run saw, so what happened while we were down is replayed.
  void start(std::int64_t since = 0);
  void stop();

  // The time of the last event seen, to resume from after a restart.
  std::int64_t last_event_time() const { return last_event_time_; }

  bool connected() const { return connected_; }
  std::uint64_t reconciles() const { return reconciles_; }

 private:
  void connect();
  void on_open();
  void on_data(std::string_view data);
  void on_end(const Status& status);
  void on_event(const DockerEvent& event);
  void refresh();
  void read_networks(std::uint64_t generation, std::string daemon_id);
  void refresh_soon();
  void schedule_refresh();

  std::unique_ptr<DockerClient> client_;
  Hooks hooks_;
  std::chrono::milliseconds reconcile_interval_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer refresh_timer_;
  boost::asio::steady_timer soon_timer_;
  std::chrono::milliseconds backoff_;
  std::string partial_line_;
  std::int64_t last_event_time_ = 0;
  std::uint64_t generation_ = 0;  // bumps on every (re)connect; stale refreshes drop out
  std::uint64_t reconciles_ = 0;
  bool connected_ = false;
  bool refreshing_ = false;
  bool refresh_soon_pending_ = false;
  bool stopped_ = true;
  bool said_unavailable_ = false;
};

}  // namespace wipam::driver
