// Docker's view of weave-ipam's speed: RequestAddress + ReleaseAddress pairs over the plugin
// socket (HTTP/1.1 keep-alive, as dockerd calls it) against the real daemon with its LevelDB
// on disk, every reply but a release's sent only after its write is synced. Runs 10,000 sequential
// pairs and 8 concurrent clients, first empty and then with 100,000 addresses allocated, and prints
// p50/p99/max latency per pair and pairs/s, each latency beside its ratio to the disk's fdatasync
// floor measured in the same run (first and last). A program, not a test.
//   plugin_bench [STATE-DIR]   (default ./plugin-bench-state, removed afterwards)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <future>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "driver/base/log.h"
#include "driver/daemon/daemon.h"

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

// The quantile q of sorted latencies, in ms.
double quantile_ms(const Micros& sorted, double q) {
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * sorted.size()))] / 1000.0;
}

// The disk's floor for a durable write, measured beside the daemon's store: p50 and p99 of
// fdatasync after a 128-byte append, in ms.
struct SyncFloor {
  double p50 = 0;
  double p99 = 0;
};
SyncFloor measure_sync_floor(const std::filesystem::path& dir, int n = 2000) {
  std::string path = (dir / "sync-floor").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
  if (fd < 0) {
    std::perror("plugin_bench: open");
    std::exit(1);
  }
  char record[128] = {};
  Micros took;
  for (int i = 0; i < n; ++i) {
    Clock::time_point start = Clock::now();
    if (::write(fd, record, sizeof(record)) != static_cast<ssize_t>(sizeof(record)) ||
        ::fdatasync(fd) != 0) {
      std::perror("plugin_bench: write");
      std::exit(1);
    }
    took.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  ::close(fd);
  std::filesystem::remove(path);
  std::sort(took.begin(), took.end());
  SyncFloor floor{quantile_ms(took, 0.50), quantile_ms(took, 0.99)};
  std::printf("fdatasync floor (128-byte append, %d syncs): p50 %6.3f ms  p99 %6.3f ms\n", n,
              floor.p50, floor.p99);
  return floor;
}

SyncFloor g_floor;

void report(const char* what, Micros latencies, double seconds) {
  std::sort(latencies.begin(), latencies.end());
  double p50 = quantile_ms(latencies, 0.50);
  double p99 = quantile_ms(latencies, 0.99);
  std::printf(
      "%-28s %6zu pairs  p50 %6.3f ms (%4.2fx sync p50)  p99 %6.3f ms (%4.2fx sync p99)  "
      "max %7.3f ms  %7.0f pairs/s\n",
      what, latencies.size(), p50, p50 / g_floor.p50, p99, p99 / g_floor.p99,
      latencies.back() / 1000.0, static_cast<double>(latencies.size()) / seconds);
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
  g_floor = measure_sync_floor(dir);
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
  std::printf("(last) ");
  g_floor = measure_sync_floor(dir);
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  std::printf("process CPU (daemon and client together): user %.1f s  system %.1f s\n",
              seconds(usage.ru_utime), seconds(usage.ru_stime));

  std::promise<void> stopped;
  asio::post(loop, [&] { daemon.stop([&] { stopped.set_value(); }); });
  stopped.get_future().wait();
  work.reset();
  loop.stop();
  loop_thread.join();
  std::filesystem::remove_all(dir);
  return 0;
}
