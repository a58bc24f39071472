// mesh_node: one Mesh in a process, driven over stdin/stdout, for multi-process tests and the
// benchmark. Not part of the daemon.
//
//   mesh_node --name ::1 [--listen 127.0.0.1] [--port 0] [--range 10.32.0.0/12]
//             [--password P] [--heartbeat-ms N] [--idle-ms N] [--backoff-initial-ms N]
//             [--backoff-max-ms N] [--gossip-ms N] [--no-discovery] [--timestamps]
//             [--identity TEXT] [--send-queue-bytes N] TARGET...
//
// stdin, one command a line: broadcast TEXT | unicast PEER TEXT | gossip TEXT | block PEER |
// unblock PEER | connect ADDR | forget ADDR | identity [TEXT] | refuse PEER REASON | peers |
// quit. EOF on stdin also quits.
// stdout, one event a line: listening PORT | up PEER NICK | down PEER |
// msg FROM KIND TEXT [@MONO_NS] | refused REASON | conflict PEER THEIR-IDENTITY |
// unicast-failed PEER REASON | peer NAME direct|via=NAME hops=N encrypted=0|1 | peers-end |
// error REASON.
// One thread: the io_context's.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/streambuf.hpp>

#include "gossip/crypto.h"
#include "gossip/mesh.h"

namespace {

using namespace wipam;
namespace asio = boost::asio;

void emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class PrintingHandler : public gossip::MeshHandler {
 public:
  explicit PrintingHandler(bool timestamps) : timestamps_(timestamps) {}
  void on_peer_up(const ring::PeerIdentity& peer) override {
    emit("up " + peer.name.to_string() + " " + peer.nickname);
  }
  void on_peer_down(ring::PeerName peer) override { emit("down " + peer.to_string()); }
  // Payloads starting "refuse:" are refused (and so not relayed), to test that rule.
  Status on_message(ring::PeerName from, gossip::Delivery kind,
                    std::span<const std::uint8_t> payload) override {
    std::string text(payload.begin(), payload.end());
    if (text.rfind("refuse:", 0) == 0) {
      emit("refused-msg " + from.to_string() + " " + gossip::delivery_name(kind) + " " + text);
      return Status::invalid_argument("refused by the test node");
    }
    if (text.rfind("bulk:", 0) == 0) {
      text = text.substr(0, text.find(':', 5));  // "bulk:<n>": the padding is not worth a line
    }
    std::string line = "msg " + from.to_string() + " " + gossip::delivery_name(kind) + " " + text;
    if (timestamps_) {
      line += " @" + std::to_string(monotonic_ns());
    }
    emit(line);
    return Status();
  }
  void on_link_failed(const std::string&, const Status& why) override {
    emit("refused " + why.message());
  }
  void on_allocation_conflict(const ring::PeerIdentity& peer, const std::string&,
                              const std::string& theirs) override {
    emit("conflict " + peer.name.to_string() + " " + theirs);
  }

 private:
  bool timestamps_;
};

struct Options {
  gossip::MeshConfig config;
  bool timestamps = false;
  // What the mesh asks for at each handshake; the console's `identity` changes it.
  std::shared_ptr<std::string> identity = std::make_shared<std::string>();
};

long number(const char* flag, const char* value) {
  char* end = nullptr;
  long n = std::strtol(value, &end, 10);
  if (end == value || *end != '\0' || n < 0) {
    std::cerr << "mesh_node: " << flag << " needs a non-negative number\n";
    std::exit(2);
  }
  return n;
}

Options parse(int argc, char** argv) {
  Options o;
  o.config.listen_host = "127.0.0.1";
  o.config.port = 0;
  o.config.allocation_ranges = {*ring::Cidr::parse("10.32.0.0/12")};
  std::array<std::uint8_t, 8> uid{};
  (void)gossip::random_bytes(uid);
  for (std::uint8_t b : uid) {
    o.config.self.uid = (o.config.self.uid << 8) | b;
  }
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::cerr << "mesh_node: " << flag << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    auto ms = [&] { return std::chrono::milliseconds(number(flag.c_str(), value())); };
    gossip::MeshLimits& limits = o.config.limits;
    if (flag == "--name") {
      Result<ring::PeerName> name = ring::PeerName::parse(value());
      if (!name.ok()) {
        std::cerr << "mesh_node: " << name.status().message() << "\n";
        std::exit(2);
      }
      o.config.self.name = *name;
    } else if (flag == "--nickname") {
      o.config.self.nickname = value();
    } else if (flag == "--listen") {
      o.config.listen_host = value();
    } else if (flag == "--port") {
      o.config.port = static_cast<std::uint16_t>(number("--port", value()));
    } else if (flag == "--range") {
      Result<ring::Cidr> range = ring::Cidr::parse_subnet(value());
      if (!range.ok()) {
        std::cerr << "mesh_node: " << range.status().message() << "\n";
        std::exit(2);
      }
      o.config.allocation_ranges = {*range};
    } else if (flag == "--password") {
      o.config.password = value();
    } else if (flag == "--heartbeat-ms") {
      limits.heartbeat = ms();
    } else if (flag == "--idle-ms") {
      limits.idle_timeout = ms();
    } else if (flag == "--backoff-initial-ms") {
      limits.backoff.initial = ms();
    } else if (flag == "--backoff-max-ms") {
      limits.backoff.max = ms();
    } else if (flag == "--gossip-ms") {
      limits.gossip_interval = ms();
    } else if (flag == "--send-queue-bytes") {
      limits.send_queue_bytes = static_cast<std::size_t>(number(flag.c_str(), value()));
    } else if (flag == "--no-discovery") {
      o.config.discovery = false;
    } else if (flag == "--timestamps") {
      o.timestamps = true;
    } else if (flag == "--identity") {
      *o.identity = value();
    } else if (!flag.empty() && flag[0] == '-') {
      std::cerr << "mesh_node: unknown flag " << flag << "\n";
      std::exit(2);
    } else {
      o.config.targets.push_back(flag);
    }
  }
  if (o.config.self.name.unknown()) {
    std::cerr << "mesh_node: --name is required\n";
    std::exit(2);
  }
  o.config.allocation_identity = [identity = o.identity] { return *identity; };
  if (o.config.self.nickname.empty()) {
    o.config.self.nickname = "node-" + o.config.self.name.to_string().substr(15);
  }
  return o;
}

// Reads commands from stdin and applies them to the mesh.
class Console {
 public:
  Console(asio::io_context& io, gossip::Mesh& mesh, std::shared_ptr<std::string> identity)
      : io_(io), mesh_(mesh), identity_(std::move(identity)), in_(io, ::dup(0)) {}

  void read() {
    asio::async_read_until(in_, buffer_, '\n',
                           [this](const boost::system::error_code& ec, std::size_t) {
                             if (ec) {
                               quit();
                               return;
                             }
                             std::istream stream(&buffer_);
                             std::string line;
                             std::getline(stream, line);
                             if (apply(line)) {
                               read();
                             }
                           });
  }

 private:
  void quit() {
    mesh_.stop();
    io_.stop();
  }

  static std::pair<std::string, std::string> split(const std::string& text) {
    std::size_t space = text.find(' ');
    if (space == std::string::npos) {
      return {text, ""};
    }
    return {text.substr(0, space), text.substr(space + 1)};
  }

  std::optional<ring::PeerName> peer(const std::string& text) {
    Result<ring::PeerName> name = ring::PeerName::parse(text);
    if (!name.ok()) {
      emit("error " + name.status().message());
      return std::nullopt;
    }
    return *name;
  }

  void apply_filter() {
    std::set<ring::PeerName> blocked = blocked_;
    mesh_.set_link_filter_for_test(
        [blocked](ring::PeerName name) { return blocked.count(name) == 0; });
  }

  void print_peers() {
    for (const gossip::PeerStatus& p : mesh_.peers()) {
      emit("peer " + p.identity.name.to_string() + " " +
           (p.direct ? std::string("direct") : "via=" + (p.via ? p.via->to_string() : "-")) +
           " hops=" + std::to_string(p.hops) + " encrypted=" + (p.encrypted ? "1" : "0"));
    }
    emit("peers-end");
  }

  // "flood COUNT SIZE": COUNT broadcasts "bulk:<n>:" padded to SIZE bytes, n counting on.
  void flood(const std::string& args) {
    auto [count, size] = split(args);
    long n = std::strtol(count.c_str(), nullptr, 10);
    auto bytes = static_cast<std::size_t>(std::strtol(size.c_str(), nullptr, 10));
    for (long i = 0; i < n; ++i) {
      std::string payload = "bulk:" + std::to_string(bulk_sent_++) + ":";
      payload.resize(std::max(bytes, payload.size()), 'x');
      mesh_.broadcast(
          std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
    }
  }

  // False iff the console should stop.
  bool apply(const std::string& line) {
    auto [command, rest] = split(line);
    if (command == "broadcast") {
      mesh_.broadcast(std::span(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()));
    } else if (command == "unicast") {
      auto [to, text] = split(rest);
      if (std::optional<ring::PeerName> name = peer(to)) {
        Status sent = mesh_.unicast(
            *name, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
        if (!sent.ok()) {
          emit("unicast-failed " + to + " " + sent.message());
        }
      }
    } else if (command == "gossip") {
      std::string payload = rest;
      mesh_.set_gossip_source(
          [payload] { return std::vector<std::uint8_t>(payload.begin(), payload.end()); });
    } else if (command == "block" || command == "unblock") {
      if (std::optional<ring::PeerName> name = peer(rest)) {
        command == "block" ? (void)blocked_.insert(*name) : (void)blocked_.erase(*name);
        apply_filter();
      }
    } else if (command == "connect") {
      mesh_.connect(rest);
    } else if (command == "forget") {
      mesh_.forget(rest);
    } else if (command == "identity") {
      *identity_ = rest;
    } else if (command == "refuse") {
      auto [who, reason] = split(rest);
      if (std::optional<ring::PeerName> name = peer(who)) {
        mesh_.refuse_peer({*name, "", 0}, Status::conflict(reason));
      }
    } else if (command == "peers") {
      print_peers();
    } else if (command == "flood") {
      flood(rest);
    } else if (command == "counters") {
      const gossip::MeshCounters& c = mesh_.counters();
      emit("counters sent_broadcast=" + std::to_string(c.sent.broadcast) +
           " dropped_broadcast=" + std::to_string(c.dropped.broadcast) +
           " dropped_unicast=" + std::to_string(c.dropped.unicast) +
           " dropped_topology=" + std::to_string(c.dropped.topology) +
           " dropped_gossip=" + std::to_string(c.dropped.gossip));
    } else if (command == "quit") {
      quit();
      return false;
    } else if (!command.empty()) {
      emit("error unknown command " + command);
    }
    return true;
  }

  asio::io_context& io_;
  gossip::Mesh& mesh_;
  std::shared_ptr<std::string> identity_;
  asio::posix::stream_descriptor in_;
  asio::streambuf buffer_{64 * 1024};  // bound: one command line
  std::set<ring::PeerName> blocked_;
  long bulk_sent_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  asio::io_context io(1);
  PrintingHandler handler(options.timestamps);
  gossip::Mesh mesh(io, options.config, handler);
  Status started = mesh.start();
  if (!started.ok()) {
    emit("error " + started.message());
    return 1;
  }
  emit("listening " + std::to_string(mesh.local_port()));
  Console console(io, mesh, options.identity);
  console.read();
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    mesh.stop();
    io.stop();
  });
  io.run();
  return 0;
}
