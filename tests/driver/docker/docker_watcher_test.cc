// DockerWatcher against a fake Docker Engine API on a real Unix socket (our HttpServer):
// events become hook calls, every (re)connect reconciles, an exit brings a read forward
// but releases nothing itself, reconnects resume from the last event's time, and a view
// Docker could not fully show is never handed over.
#include "driver/docker/docker_watcher.h"

#include <filesystem>
#include <unistd.h>

#include <gtest/gtest.h>

#include "driver/http/http_server.h"

namespace wipam::driver {
namespace {

namespace asio = boost::asio;
const std::string kC1(64, 'c');

class DockerWatcherTest : public ::testing::Test {
 protected:
  DockerWatcherTest()
      : path_(std::filesystem::temp_directory_path() /
              ("wipam-docker-" + std::to_string(::getpid()) + ".sock")) {
    auto server = HttpServer::listen_unix(
        io_, path_.string(), 0600,
        [this](const HttpRequest& r, Responder respond) { serve(r, std::move(respond)); });
    EXPECT_TRUE(server.ok());
    server_ = std::move(*server);
  }
  ~DockerWatcherTest() override { std::filesystem::remove(path_); }

  void serve(const HttpRequest& r, Responder respond) {
    targets_.push_back(r.target);
    if (r.target.rfind("/events", 0) == 0) {
      // The first stream carries two events, then Docker "restarts" (closes the stream).
      // With `later_streams_fail_`, Docker stays away after that.
      bool first = streams_++ == 0;
      if (!first && later_streams_fail_) {
        respond(500, R"({"message":"starting"})", "application/json");
        return;
      }
      respond(200, first ? events_ : "", "application/json");
    } else if (r.target == "/info") {
      respond(info_fails_ ? 500 : 200, info_fails_ ? R"({"message":"boom"})" : R"({"ID":"D1"})",
              "application/json");
    } else if (r.target == "/networks") {
      respond(200, R"([{"Id":"n1"}])", "application/json");
    } else if (r.target == "/networks/n1" && !network_fails_) {
      respond(200,
              R"({"Id":"n1","IPAM":{"Driver":"weave","Config":[{"Subnet":"10.99.1.0/24"}]},
                      "Containers":{")" +
                  kC1 + R"(":{"IPv4Address":"10.99.1.2/24"}}})",
              "application/json");
    } else {
      respond(404, R"({"message":"no such network"})", "application/json");
    }
  }

  std::unique_ptr<DockerWatcher> make_watcher() {
    auto client = DockerClient::make(io_, "unix://" + path_.string());
    EXPECT_TRUE(client.ok());
    DockerWatcher::Hooks hooks;
    hooks.network_changed = [this](const DockerNetwork& n) { changed_.push_back(n.id); };
    hooks.reconcile = [this](const DockerView& v) { views_.push_back(v); };
    return std::make_unique<DockerWatcher>(io_, std::move(*client), std::move(hooks),
                                           std::chrono::hours(1));
  }

  template <class Pred>
  bool run_until(Pred done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  std::filesystem::path path_;
  asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::string events_ =
      R"({"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{"container":"x"}},"time":1700000001})"
      "\n"
      R"({"Type":"container","Action":"die","Actor":{"ID":")" +
      kC1 + R"("},"time":1700000002})" + "\n{garbage}\n";
  int streams_ = 0;
  bool network_fails_ = false;
  bool info_fails_ = false;
  bool later_streams_fail_ = false;
  std::vector<std::string> targets_;
  std::vector<std::string> changed_;
  std::vector<DockerView> views_;
};

TEST_F(DockerWatcherTest, EventsBecomeHookCallsAndReconnectsResumeFromTheLastEvent) {
  auto watcher = make_watcher();
  watcher->start();
  ASSERT_TRUE(run_until([&] { return !changed_.empty() && views_.size() >= 2; }));
  EXPECT_EQ(changed_, std::vector<std::string>{"n1"});
  // Reconciled on the first connect and again after the reconnect, with the whole view and
  // the daemon's ID.
  EXPECT_EQ(views_[0].containers.at(*ring::Address::parse("10.99.1.2")), kC1);
  EXPECT_EQ(views_[0].daemon_id, "D1");
  ASSERT_EQ(views_[0].networks.size(), 1u);
  std::vector<std::string> streams;
  for (const std::string& t : targets_) {
    if (t.rfind("/events", 0) == 0) {
      streams.push_back(t);
    }
  }
  ASSERT_GE(streams.size(), 2u);
  EXPECT_EQ(streams[0].find("since="), std::string::npos);
  EXPECT_NE(streams[1].find("since=1700000002"), std::string::npos) << streams[1];
  watcher->stop();
}

// Docker answers one stream and then stays away, and the reconcile interval is an hour: the
// only read after the one on connect is the one the exit brings forward.
TEST_F(DockerWatcherTest, AnExitBringsTheNextReadForward) {
  later_streams_fail_ = true;
  auto watcher = make_watcher();
  watcher->start();
  ASSERT_TRUE(run_until([&] { return views_.size() >= 2; }));
  watcher->stop();
}

TEST_F(DockerWatcherTest, WithoutAnExitThereIsNoSecondRead) {
  later_streams_fail_ = true;
  events_ = R"({"Type":"network","Action":"connect","Actor":{"ID":"n1"},"time":1700000001})"
            "\n";
  auto watcher = make_watcher();
  watcher->start();
  ASSERT_TRUE(run_until([&] { return views_.size() >= 1; }));
  io_.run_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(views_.size(), 1u);
  watcher->stop();
}

TEST_F(DockerWatcherTest, NoViewWithoutTheDaemonsId) {
  info_fails_ = true;
  auto watcher = make_watcher();
  watcher->start();
  ASSERT_TRUE(run_until([&] { return streams_ >= 3; }));
  EXPECT_TRUE(views_.empty());
  watcher->stop();
}

TEST_F(DockerWatcherTest, APartialViewIsNeverReconciled) {
  network_fails_ = true;
  auto watcher = make_watcher();
  watcher->start();
  ASSERT_TRUE(run_until([&] { return streams_ >= 3; }));
  EXPECT_TRUE(views_.empty());
  EXPECT_EQ(watcher->reconciles(), 0u);
  watcher->stop();
}

TEST_F(DockerWatcherTest, AnAbsentDockerIsRetriedQuietly) {
  server_.reset();  // nothing listens: connect fails, the watcher backs off and retries
  auto watcher = make_watcher();
  watcher->start();
  io_.run_for(std::chrono::milliseconds(700));
  EXPECT_FALSE(watcher->connected());
  auto server = HttpServer::listen_unix(
      io_, path_.string(), 0600,
      [this](const HttpRequest& r, Responder respond) { serve(r, std::move(respond)); });
  ASSERT_TRUE(server.ok());
  server_ = std::move(*server);
  ASSERT_TRUE(run_until([&] { return !views_.empty(); }));
  watcher->stop();
}

}  // namespace
}  // namespace wipam::driver
