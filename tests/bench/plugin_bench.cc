// Docker's view of weave-ipam's speed: RequestAddress + ReleaseAddress pairs over the plugin
// socket (HTTP/1.1 keep-alive, as dockerd calls it) against the real daemon with its LevelDB
// on disk, every reply sent only after its write is synced. Runs 10,000 sequential pairs
// and 8 concurrent clients, first empty and then with 100,000 addresses allocated, and
// prints p50/p95/p99/max latency per pair and pairs/s. A program, not a test.
//   plugin_bench [STATE-DIR]   (default ./plugin-bench-state, removed afterwards)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "driver/daemon.h"
#include "driver/log.h"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using Local = asio::local::stream_protocol;

namespace {

constexpr const char* kPool = "weave-10.96.0.0/14";

// One keep-alive connection, as dockerd's plugin client keeps.
class Client {
 public:
  explicit Client(const std::string& socket) : socket_(io_) {
    socket_.connect(Local::endpoint(socket));
  }
  std::string post(const std::string& path, const std::string& body) {
    http::request<http::string_body> request(http::verb::post, path, 11);
    request.set(http::field::host, "plugin");
    request.body() = body;
    request.prepare_payload();
    http::write(socket_, request);
    http::response<http::string_body> response;
    http::read(socket_, buffer_, response);
    if (response.result_int() != 200) {
      std::fprintf(stderr, "plugin_bench: %s -> %u %s\n", path.c_str(), response.result_int(),
                   response.body().c_str());
      std::exit(1);
    }
    return response.body();
  }
  // Returns the address allocated.
  std::string request_address() {
    std::string a = nlohmann::json::parse(post(
        "/IpamDriver.RequestAddress",
        std::string(R"({"PoolID":")") + kPool + R"(","Address":"","Options":null})"))["Address"];
    return a.substr(0, a.find('/'));
  }
  void release_address(const std::string& address) {
    post("/IpamDriver.ReleaseAddress",
         std::string(R"({"PoolID":")") + kPool + R"(","Address":")" + address + "\"}");
  }

 private:
  asio::io_context io_;
  Local::socket socket_;
  boost::beast::flat_buffer buffer_;
};

using Micros = std::vector<double>;

Micros pairs(const std::string& socket, int n) {
  Client c(socket);
  Micros out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    Clock::time_point start = Clock::now();
    c.release_address(c.request_address());
    out.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return out;
}

void report(const char* what, Micros latencies, double seconds) {
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    return latencies[std::min(latencies.size() - 1,
                              static_cast<std::size_t>(q * latencies.size()))] /
           1000.0;
  };
  std::printf(
      "%-34s %7zu pairs  p50 %6.3f ms  p95 %6.3f ms  p99 %6.3f ms  max %7.3f ms  %8.0f pairs/s\n",
      what, latencies.size(), at(0.50), at(0.95), at(0.99), latencies.back() / 1000.0,
      static_cast<double>(latencies.size()) / seconds);
}

void run_round(const std::string& socket, const char* label) {
  Clock::time_point start = Clock::now();
  Micros seq = pairs(socket, 10'000);
  report((std::string(label) + ", sequential").c_str(), seq,
         std::chrono::duration<double>(Clock::now() - start).count());

  start = Clock::now();
  std::vector<std::future<Micros>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::async(std::launch::async, [&] { return pairs(socket, 2'500); }));
  }
  Micros all;
  for (auto& c : clients) {
    Micros m = c.get();
    all.insert(all.end(), m.begin(), m.end());
  }
  report((std::string(label) + ", 8 clients").c_str(), all,
         std::chrono::duration<double>(Clock::now() - start).count());
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = argc > 1 ? argv[1] : "plugin-bench-state";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  wipam::driver::Config config;
  config.db_path = (dir / "db").string();
  config.plugin_socket = (dir / "plugin.sock").string();
  config.admin_socket = "";
  config.http_addr = "";
  config.docker_api = "";
  config.port = 0;
  config.range = config.default_subnet = *wipam::ring::Cidr::parse("10.96.0.0/12");
  wipam::driver::set_log_level(wipam::driver::LogLevel::kWarn);

  asio::io_context loop(1);
  auto work = asio::make_work_guard(loop);
  wipam::driver::Daemon daemon(loop, config);
  if (wipam::Status s = daemon.start(); !s.ok()) {
    std::fprintf(stderr, "plugin_bench: %s\n", s.to_string().c_str());
    return 1;
  }
  std::thread loop_thread([&] { loop.run(); });

  Client setup(config.plugin_socket);
  setup.post("/IpamDriver.RequestPool", R"({"Pool":"10.96.0.0/14","Options":null})");
  std::printf("weave-ipam plugin socket, LevelDB synced on %s\n", dir.c_str());
  run_round(config.plugin_socket, "empty");

  Clock::time_point fill = Clock::now();
  std::vector<std::thread> fillers;
  for (int i = 0; i < 8; ++i) {
    fillers.emplace_back([&] {
      Client c(config.plugin_socket);
      for (int k = 0; k < 100'000 / 8; ++k) {
        c.request_address();
      }
    });
  }
  for (auto& t : fillers) {
    t.join();
  }
  std::printf("filled 100,000 addresses in %.1f s\n",
              std::chrono::duration<double>(Clock::now() - fill).count());
  run_round(config.plugin_socket, "100k allocated");

  std::promise<void> stopped;
  asio::post(loop, [&] { daemon.stop([&] { stopped.set_value(); }); });
  stopped.get_future().wait();
  work.reset();
  loop.stop();
  loop_thread.join();
  std::filesystem::remove_all(dir);
  return 0;
}
