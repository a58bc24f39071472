#include "driver/docker/docker_watcher.h"

#include <set>

#include "driver/base/log.h"

namespace wipam::driver {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::milliseconds kMaxBackoff{10000};
constexpr std::size_t kMaxEventLine = 1 << 20;  // a longer line is not an event we know
// How soon after an exit Docker is read again; exits in a burst share one read.
constexpr std::chrono::milliseconds kRefreshSoon{1000};
// {"type":["container","network"]}, URL-encoded.
constexpr const char* kEventsTarget =
    "/events?filters=%7B%22type%22%3A%5B%22container%22%2C%22network%22%5D%7D";

}  // namespace

DockerWatcher::DockerWatcher(boost::asio::io_context& io, std::unique_ptr<DockerClient> client,
                             Hooks hooks, std::chrono::milliseconds reconcile_interval)
    : client_(std::move(client)),
      hooks_(std::move(hooks)),
      reconcile_interval_(reconcile_interval),
      reconnect_timer_(io),
      refresh_timer_(io),
      soon_timer_(io),
      backoff_(kFirstBackoff) {}

DockerWatcher::~DockerWatcher() { stop(); }

void DockerWatcher::start(std::int64_t since) {
  stopped_ = false;
  last_event_time_ = since;
  connect();
  schedule_refresh();
}

void DockerWatcher::stop() {
  stopped_ = true;
  reconnect_timer_.cancel();
  refresh_timer_.cancel();
  soon_timer_.cancel();
  client_->cancel();
}

void DockerWatcher::connect() {
  ++generation_;
  connected_ = false;
  partial_line_.clear();
  std::string target = kEventsTarget;
  if (last_event_time_ > 0) {
    target += "&since=" + std::to_string(last_event_time_);
  }
  client_->stream(
      target, [this] { on_open(); }, [this](std::string_view data) { on_data(data); },
      [this](const Status& status) { on_end(status); });
}

void DockerWatcher::on_open() {
  connected_ = true;
  backoff_ = kFirstBackoff;
  said_unavailable_ = false;
  log(LogLevel::kInfo, "docker", "following Docker events", {{"socket", client_->socket_path()}});
  refreshing_ = false;  // a refresh of the previous connection no longer counts
  refresh();
}

void DockerWatcher::on_data(std::string_view data) {
  partial_line_.append(data);
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_line_.find('\n', start)) != std::string::npos;
       start = nl + 1) {
    std::string_view line(partial_line_.data() + start, nl - start);
    if (line.empty()) {
      continue;
    }
    Result<DockerEvent> event = parse_docker_event(line);
    if (!event.ok()) {
      log(LogLevel::kWarn, "docker", "ignoring an event", {{"error", event.status().message()}});
      continue;
    }
    on_event(*event);
  }
  partial_line_.erase(0, start);
  if (partial_line_.size() > kMaxEventLine) {
    log(LogLevel::kWarn, "docker", "ignoring an oversized event line");
    partial_line_.clear();
  }
}

void DockerWatcher::on_event(const DockerEvent& event) {
  last_event_time_ = std::max(last_event_time_, event.time);
  bool exit = event.type == "container" && (event.action == "die" || event.action == "destroy");
  bool gone =
      event.type == "network" && (event.action == "disconnect" || event.action == "destroy");
  if (exit || gone) {
    refresh_soon();  // never a release by itself: the read decides, against the grace period
  } else if (event.type == "network" && event.action == "connect") {
    client_->get("/networks/" + event.actor, [this](Result<std::string> body) {
      if (!body.ok()) {
        return;  // the network went away already; reconcile catches up
      }
      if (Result<DockerNetwork> network = parse_docker_network(*body); network.ok()) {
        hooks_.network_changed(*network);
      }
    });
  }
}

void DockerWatcher::on_end(const Status& status) {
  connected_ = false;
  if (stopped_) {
    return;
  }
  if (!said_unavailable_) {
    log(LogLevel::kInfo, "docker", "Docker events unavailable; retrying",
        {{"error", status.ok() ? "stream closed" : status.message()}});
    said_unavailable_ = true;
  }
  reconnect_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopped_) {
      connect();
    }
  });
}

// Reads Docker's ID, then every network, then hands the whole view over. A partial view
// never reaches the daemon: any failure drops this round (reconcile must never release
// what it did not see).
void DockerWatcher::refresh() {
  if (refreshing_) {
    return;
  }
  refreshing_ = true;
  std::uint64_t generation = generation_;
  client_->get("/info", [this, generation](Result<std::string> body) {
    if (generation != generation_) {
      return;  // a reconnect started a new round
    }
    Result<std::string> id =
        body.ok() ? parse_docker_daemon_id(*body) : Result<std::string>(body.status());
    if (!id.ok()) {
      refreshing_ = false;
      return;
    }
    read_networks(generation, *id);
  });
}

void DockerWatcher::read_networks(std::uint64_t generation, std::string daemon_id) {
  client_->get("/networks", [this, generation, daemon_id](Result<std::string> body) {
    Result<std::vector<std::string>> ids = body.ok()
                                               ? parse_docker_network_ids(*body)
                                               : Result<std::vector<std::string>>(body.status());
    if (generation != generation_) {
      return;
    }
    if (!ids.ok()) {
      refreshing_ = false;
      return;
    }
    auto view = std::make_shared<DockerView>();
    view->daemon_id = daemon_id;
    auto left = std::make_shared<std::size_t>(ids->size());
    auto failed = std::make_shared<bool>(false);
    auto finish = [this, generation, view, failed] {
      if (generation != generation_) {
        return;
      }
      refreshing_ = false;
      if (!*failed) {
        ++reconciles_;
        hooks_.reconcile(*view);
      }
    };
    if (ids->empty()) {
      return finish();
    }
    for (const std::string& id : *ids) {
      client_->get("/networks/" + id, [view, left, failed, finish](Result<std::string> net) {
        Result<DockerNetwork> network =
            net.ok() ? parse_docker_network(*net) : Result<DockerNetwork>(net.status());
        if (network.ok()) {
          view->add(*network);
        } else {
          *failed = true;  // also when the network went away meanwhile: next round
        }
        if (--*left == 0) {
          finish();
        }
      });
    }
  });
}

void DockerWatcher::refresh_soon() {
  if (refresh_soon_pending_) {
    return;
  }
  refresh_soon_pending_ = true;
  soon_timer_.expires_after(kRefreshSoon);
  soon_timer_.async_wait([this](const boost::system::error_code& ec) {
    refresh_soon_pending_ = false;
    if (!ec && !stopped_) {
      refresh();
    }
  });
}

void DockerWatcher::schedule_refresh() {
  refresh_timer_.expires_after(reconcile_interval_);
  refresh_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) {
      return;
    }
    refresh();
    schedule_refresh();
  });
}

}  // namespace wipam::driver
