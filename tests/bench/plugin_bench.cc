// Docker's view of weave-ipam's speed: RequestAddress + ReleaseAddress pairs over the plugin
// socket (HTTP/1.1 keep-alive, as dockerd calls it) against the real daemon, in a process of
// its own, with its LevelDB on disk; every reply but a release's is sent only after its write
// is synced. For the store with its preallocated log and then with LevelDB's plain one, it
// runs 10,000 sequential pairs and 8 concurrent clients, empty and with 100,000 addresses
// allocated, and prints allocate and pair latency (p50/p99/max), pairs/s and the daemon's CPU
// per pair (utime+stime), each latency beside the disk's fdatasync floor measured in the same
// run (first and last): as a ratio, and as the time above it. The daemon is dual-stack; the
// preallocated store runs the rounds in an IPv4 /14 and then in an IPv6 /64 (100,000 live
// IPv6 addresses), beside each other. A program, not a test.
//   plugin_bench [STATE-DIR]   (default ./plugin-bench-state, removed afterwards)
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "driver/base/log.h"
#include "driver/daemon/daemon.h"

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Local = asio::local::stream_protocol;

namespace {

// The pools: an IPv4 /14 of the IPv4 range and an IPv6 /64 of the IPv6 range.
constexpr const char* kPool4 = "10.96.0.0/14";
constexpr const char* kPool6 = "fd00:96:0:1::/64";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "plugin_bench: %s\n", what.c_str());
  std::exit(1);
}

double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// One keep-alive connection, as dockerd's plugin client keeps.
class Client {
 public:
  Client(const std::string& socket, const std::string& pool)
      : pool_id_("weave-" + pool), socket_(io_) {
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
      die(path + " -> " + std::to_string(response.result_int()) + " " + response.body());
    }
    return response.body();
  }
  // Returns the address allocated.
  std::string request_address() {
    std::string a = nlohmann::json::parse(post(
        "/IpamDriver.RequestAddress",
        std::string(R"({"PoolID":")") + pool_id_ + R"(","Address":"","Options":null})"))["Address"];
    return a.substr(0, a.find('/'));
  }
  void release_address(const std::string& address) {
    post("/IpamDriver.ReleaseAddress",
         std::string(R"({"PoolID":")") + pool_id_ + R"(","Address":")" + address + "\"}");
  }

 private:
  std::string pool_id_;
  asio::io_context io_;
  Local::socket socket_;
  boost::beast::flat_buffer buffer_;
};

using Micros = std::vector<double>;
struct Latencies {
  Micros allocate;
  Micros pair;
};

Latencies pairs(const std::string& socket, const std::string& pool, int n) {
  Client c(socket, pool);
  Latencies out;
  out.allocate.reserve(n);
  out.pair.reserve(n);
  for (int i = 0; i < n; ++i) {
    Clock::time_point start = Clock::now();
    std::string address = c.request_address();
    out.allocate.push_back(micros_since(start));
    c.release_address(address);
    out.pair.push_back(micros_since(start));
  }
  return out;
}

// The quantile q of sorted latencies, in ms.
double quantile_ms(const Micros& sorted, double q) {
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * sorted.size()))] / 1000.0;
}

// The disk's floor for a durable write, beside the daemon's store: fdatasync after a 128-byte
// write, appended (the file grows: metadata too) or in place in a zero-filled file (data only).
struct SyncFloor {
  double p50 = 0;
  double p99 = 0;
};
SyncFloor measure_sync(const fs::path& dir, bool in_place, int n = 2000) {
  std::string path = (dir / "sync-floor").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char> zeros(in_place ? 128 * n : 0);
  if (fd < 0 || ::write(fd, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size()) ||
      ::fdatasync(fd) != 0) {
    die("cannot write " + path);
  }
  char record[128] = {1};
  Micros took;
  for (int i = 0; i < n; ++i) {
    Clock::time_point start = Clock::now();
    if (::pwrite(fd, record, sizeof record, static_cast<off_t>(i * sizeof record)) !=
            static_cast<ssize_t>(sizeof record) ||
        ::fdatasync(fd) != 0) {
      die("cannot sync " + path);
    }
    took.push_back(micros_since(start));
  }
  ::close(fd);
  fs::remove(path);
  std::sort(took.begin(), took.end());
  return {quantile_ms(took, 0.50), quantile_ms(took, 0.99)};
}

SyncFloor g_floor;  // the append floor, the issue's yardstick

void measure_floors(const fs::path& dir, const char* when) {
  g_floor = measure_sync(dir, false);
  SyncFloor in_place = measure_sync(dir, true);
  std::printf(
      "%s fdatasync floor, 128-byte append: p50 %6.3f ms  p99 %6.3f ms;  in place: p50 %6.3f ms"
      "  p99 %6.3f ms\n",
      when, g_floor.p50, g_floor.p99, in_place.p50, in_place.p99);
}

void report(const std::string& what, Micros latencies) {
  std::sort(latencies.begin(), latencies.end());
  double p50 = quantile_ms(latencies, 0.50);
  double p99 = quantile_ms(latencies, 0.99);
  std::printf(
      "  %-24s p50 %6.3f ms (%4.2fx sync, %+6.3f)  p99 %6.3f ms (%4.2fx sync, %+6.3f)  "
      "max %7.3f ms\n",
      what.c_str(), p50, p50 / g_floor.p50, p50 - g_floor.p50, p99, p99 / g_floor.p99,
      p99 - g_floor.p99, latencies.back() / 1000.0);
}

// The daemon's CPU time so far (utime + stime), in ms.
double cpu_ms(pid_t daemon) {
  std::ifstream stat("/proc/" + std::to_string(daemon) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) {
    fields >> skip;
  }
  double utime = 0;
  double stime = 0;
  fields >> utime >> stime;
  return (utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// This process's CPU time so far (the clients), in ms.
double client_cpu_ms() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

struct CpuMark {
  double daemon = 0;
  double clients = 0;
};
CpuMark cpu_now(pid_t daemon) { return {cpu_ms(daemon), client_cpu_ms()}; }

void summary(const char* what, std::size_t n, double seconds, pid_t daemon, CpuMark before) {
  CpuMark after = cpu_now(daemon);
  double pairs = static_cast<double>(n);
  std::printf("  %-24s %6zu pairs  %7.0f pairs/s  daemon CPU %5.3f ms/pair  (clients %5.3f)\n",
              what, n, pairs / seconds, (after.daemon - before.daemon) / pairs,
              (after.clients - before.clients) / pairs);
}

void run_round(const std::string& socket, const std::string& pool, pid_t daemon,
               const std::string& label) {
  std::printf("%s\n", label.c_str());
  CpuMark cpu = cpu_now(daemon);
  Clock::time_point start = Clock::now();
  Latencies seq = pairs(socket, pool, 10'000);
  summary("1 client", seq.pair.size(), micros_since(start) / 1e6, daemon, cpu);
  report("1 client: allocate", seq.allocate);
  report("1 client: pair", seq.pair);

  cpu = cpu_now(daemon);
  start = Clock::now();
  std::vector<std::future<Latencies>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::async(std::launch::async, [&] { return pairs(socket, pool, 2'500); }));
  }
  Latencies all;
  for (auto& c : clients) {
    Latencies l = c.get();
    all.allocate.insert(all.allocate.end(), l.allocate.begin(), l.allocate.end());
    all.pair.insert(all.pair.end(), l.pair.begin(), l.pair.end());
  }
  summary("8 clients", all.pair.size(), micros_since(start) / 1e6, daemon, cpu);
  report("8 clients: allocate", all.allocate);
  report("8 clients: pair", all.pair);
}

// The daemon, in a child process so its CPU is its own: returns when it stops (SIGTERM).
[[noreturn]] void run_daemon(const fs::path& dir, bool preallocate_log) {
  wipam::driver::Config config;
  config.db_path = (dir / "db").string();
  config.plugin_socket = (dir / "plugin.sock").string();
  config.admin_socket = "";
  config.http_addr = "";
  config.docker_api = "";
  config.port = 0;
  wipam::ring::Cidr range = *wipam::ring::Cidr::parse("10.96.0.0/12");
  wipam::ring::Cidr range6 = *wipam::ring::Cidr::parse("fd00:96::/48");
  config.ranges = {{range, range, 24}, {range6, range6, 64}};
  config.preallocate_log = preallocate_log;
  wipam::driver::set_log_level(wipam::driver::LogLevel::kWarn);
  asio::io_context loop(1);
  wipam::driver::Daemon daemon(loop, config);
  if (wipam::Status s = daemon.start(); !s.ok()) {
    die(s.to_string());
  }
  asio::signal_set signals(loop, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { daemon.stop([] {}); });
  loop.run();
  std::_Exit(0);
}

pid_t start_daemon(const fs::path& dir, bool preallocate_log) {
  fs::create_directories(dir);
  pid_t child = ::fork();
  if (child == 0) {
    run_daemon(dir, preallocate_log);
  }
  for (int i = 0; i < 500 && !fs::exists(dir / "plugin.sock"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (child < 0 || !fs::exists(dir / "plugin.sock")) {
    die("the daemon did not start");
  }
  return child;
}

std::string rss(pid_t daemon) {
  std::ifstream status("/proc/" + std::to_string(daemon) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return line.substr(std::min(line.size(), line.find_first_not_of(" \t", 6)));
    }
  }
  return "?";
}

// Allocates 100,000 addresses of `pool` with 8 clients.
void fill(const std::string& socket, const std::string& pool) {
  Clock::time_point start = Clock::now();
  std::vector<std::thread> fillers;
  for (int i = 0; i < 8; ++i) {
    fillers.emplace_back([&] {
      Client c(socket, pool);
      for (int k = 0; k < 100'000 / 8; ++k) {
        c.request_address();
      }
    });
  }
  for (auto& t : fillers) {
    t.join();
  }
  std::printf("filled 100,000 addresses of %s in %.1f s\n", pool.c_str(),
              micros_since(start) / 1e6);
}

// The rounds, empty and with 100k held, in `pools` in turn (the daemon serves both ranges).
void bench_store(const fs::path& dir, bool preallocate_log, const std::vector<std::string>& pools) {
  std::string name = preallocate_log ? "preallocated log" : "LevelDB's plain log";
  pid_t daemon = start_daemon(dir, preallocate_log);
  std::string socket = (dir / "plugin.sock").string();
  for (const std::string& pool : pools) {
    std::string family = pool.find(':') == std::string::npos ? "IPv4 " : "IPv6 ";
    Client(socket, pool)
        .post("/IpamDriver.RequestPool", R"({"Pool":")" + pool + R"(","Options":null})");
    run_round(socket, pool, daemon, name + ", " + family + pool + ", empty");
    fill(socket, pool);
    run_round(socket, pool, daemon, name + ", " + family + pool + ", 100k allocated");
    std::printf("  daemon RSS with 100k held (%s): %s\n", pool.c_str(), rss(daemon).c_str());
  }
  ::kill(daemon, SIGTERM);
  int status = 0;
  ::waitpid(daemon, &status, 0);
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = argc > 1 ? argv[1] : "plugin-bench-state";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::printf("weave-ipam plugin socket, daemon in its own process, LevelDB synced in %s\n",
              dir.c_str());
  measure_floors(dir, "(first)");
  bench_store(dir / "preallocated", true, {kPool4, kPool6});
  bench_store(dir / "plain", false, {kPool4});
  measure_floors(dir, "(last)");
  fs::remove_all(dir);
  return 0;
}
