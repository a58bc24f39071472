// Mesh: this peer's place in the gossip network. It listens, dials its targets (and, with
// discovery, every peer it hears of), authenticates links, gossips topology, and carries
// the allocator's opaque payloads: broadcast to everyone, unicast to one peer (relayed when
// not direct), and periodic anti-entropy to a random neighbour.
//
// Owned by the daemon, which also owns the io_context; the handler is told about peers and
// messages from the loop. Loop-confined: every method must be called on the loop thread, and
// no state is locked. Bounds: max_connections links, max_peers topology entries, a
// send_queue_bytes queue per link, max_frame_bytes per frame.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gossip/connection.h"
#include "gossip/delivery.h"
#include "gossip/frame_counts.h"
#include "gossip/refused_peers.h"
#include "gossip/topology.h"
#include "gossip/wire.h"
#include "ring/address.h"
#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::gossip {

inline constexpr std::uint16_t kDefaultPort = 6783;
// A discovered target that once linked is redialled until this many failures in a row.
inline constexpr int kDiscoveredRetryLimit = 12;

struct MeshLimits {
  std::size_t max_connections = 100;
  std::size_t max_peers = 1024;
  std::size_t max_frame_bytes = 8 << 20;
  std::size_t send_queue_bytes = 32 << 20;
  // Connections from one IP address still in their handshake; more are closed at once, so
  // a flood of half-open connections from one address cannot lock other peers out.
  std::size_t max_handshakes_per_address = 16;
  // Discovery dials peers it hears of only while this peer has fewer links than this: a
  // partial mesh whose links grow with the number of targets, not with the cluster, and
  // which broadcasts and unicasts cross by relay. Configured targets are always dialled.
  std::size_t discovery_links = 8;
  // Topology changes are sent at once when none went out for this long, else coalesced
  // and sent together when it has passed: one frame per link per interval at most.
  std::chrono::milliseconds topology_interval{250};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds heartbeat{10'000};
  std::chrono::milliseconds idle_timeout{35'000};
  std::chrono::milliseconds gossip_interval{30'000};
  BackoffPolicy backoff;
};

struct MeshConfig {
  ring::PeerIdentity self;
  std::string listen_host = "0.0.0.0";
  std::uint16_t port = kDefaultPort;  // 0 picks a free port (see Mesh::local_port)
  // Every allocation range, in the order all peers give them (one per family, IPv4 first):
  // a peer with another set is refused at the handshake.
  std::vector<ring::Cidr> allocation_ranges;
  std::optional<std::string> password;  // links are plain (and a warning logged) without it
  std::vector<std::string> targets;     // "host[:port]", dialled and redialled forever
  bool discovery = true;                // also dial peers learnt from topology
  MeshLimits limits;
  // Receives one logfmt line per event; stderr when empty. Never receives secrets.
  std::function<void(const std::string& line)> log;
  // This peer's allocation identity, asked at each handshake (it changes when the daemon
  // creates or receives a ring): opaque text, at most kMaxAllocationIdentityBytes, empty
  // while there is none. Peers whose identities are both set and differ never link.
  std::function<std::string()> allocation_identity;
};

struct HostPort {
  std::string host;
  std::uint16_t port = kDefaultPort;
};
// Parses "host", "host:port", "[v6]" or "[v6]:port"; the port defaults to `default_port`.
Result<HostPort> parse_target(std::string_view text, std::uint16_t default_port = kDefaultPort);

enum class Delivery : std::uint8_t { kBroadcast, kUnicast, kGossip };
const char* delivery_name(Delivery delivery);

// The daemon's side of the mesh. Called on the loop; may call back into Mesh.
class MeshHandler {
 public:
  virtual ~MeshHandler() = default;
  // `peer` became reachable (directly or through others).
  virtual void on_peer_up(const ring::PeerIdentity& peer) = 0;
  // `peer` is no longer reachable.
  virtual void on_peer_down(ring::PeerName peer) = 0;
  // A whole, authenticated payload from `from`. Returns OK iff the payload is well formed
  // for the handler: a broadcast is relayed to the other neighbours only then, so one bad
  // payload cannot travel the whole mesh.
  virtual Status on_message(ring::PeerName from, Delivery kind,
                            std::span<const std::uint8_t> payload) = 0;
  // A link failed during its handshake, with the reason (a refusal by either side, a wrong
  // password, a timeout). `address` is the dialled target or the peer's socket address.
  virtual void on_link_failed(const std::string& address, const Status& why) {
    (void)address;
    (void)why;
  }
  // We refused a link because the peer's allocation state was created apart from ours: its
  // identity conflicts with ours (`theirs` as its Hello said, empty on version 1 links), or
  // this incarnation was refused by refuse_peer(). Only for a peer that proved itself (its
  // Verdict arrived, with a valid proof on keyed links). Once per refused attempt; redials
  // back off as for any failure.
  virtual void on_allocation_conflict(const ring::PeerIdentity& peer, const std::string& address,
                                      const std::string& theirs) {
    (void)peer;
    (void)address;
    (void)theirs;
  }
};

struct PeerStatus {
  ring::PeerIdentity identity;
  std::string address;                // where it listens, as reported
  bool direct = false;                // a link of ours
  std::optional<ring::PeerName> via;  // the neighbour we route through, when not direct
  int hops = 0;                       // 0 when unreachable
  bool encrypted = false;             // iff direct and the link is keyed
};

struct TargetStatus {
  std::string address;
  bool discovered = false;  // learnt from topology rather than configured
  enum class State { kWaiting, kConnecting, kConnected } state = State::kWaiting;
  std::optional<ring::PeerName> peer;  // once known
  int failures = 0;                    // consecutive
  std::string last_error;
  std::chrono::milliseconds retry_in{0};
};

class Mesh : private ConnectionOwner {
 public:
  // REQUIRES: `io` and `handler` outlive the Mesh.
  Mesh(boost::asio::io_context& io, MeshConfig config, MeshHandler& handler);
  ~Mesh() override;
  Mesh(const Mesh&) = delete;
  Mesh& operator=(const Mesh&) = delete;

  // Listens and starts dialling. Fails (naming the address and the fix) if it cannot listen.
  Status start();
  // Closes every link and the listener; no handler call follows. Idempotent.
  void stop();
  // The port listened on (the chosen one when configured with 0). REQUIRES: started.
  std::uint16_t local_port() const { return local_port_; }

  // Sends `payload` to every reachable peer, each receiving it once.
  void broadcast(std::span<const std::uint8_t> payload);
  // Sends `payload` to `to`, through other peers if there is no direct link. Fails iff `to`
  // is unreachable, ourselves, or the next hop's queue is full.
  Status unicast(ring::PeerName to, std::span<const std::uint8_t> payload);
  // Every gossip interval, and to each new link, sends source() to a neighbour (gossip);
  // an empty payload is not sent.
  void set_gossip_source(std::function<std::vector<std::uint8_t>()> source);

  // True iff a path of established links leads to `peer`.
  bool reachable(ring::PeerName peer) const { return topology_.reachable(peer); }
  // Every peer known from topology, plus links still waiting for it.
  std::vector<PeerStatus> peers() const;
  // Every target with its state.
  std::vector<TargetStatus> targets() const;
  // Frames queued and dropped since start, by kind.
  const MeshCounters& counters() const { return counters_; }

  // Adds a target dialled (and redialled) until forget(). Ignored if already a target.
  void connect(const std::string& address);
  // Stops dialling `address` and closes a link made from it.
  void forget(const std::string& address);
  // Closes the link to this incarnation of `peer` (UID 0: the one known now) and refuses it
  // with `why` at every later handshake, until it comes back as another incarnation: for a
  // conflict found once linked (a version 1 peer, or a ring that arrived later).
  void refuse_peer(const ring::PeerIdentity& peer, const Status& why);

  // Test hook: links to peers for which `allow` is false are closed and refused until the
  // filter changes. An empty function allows every peer.
  void set_link_filter_for_test(std::function<bool(ring::PeerName)> allow);

 private:
  struct Target {
    bool permanent = false;
    bool discovered = false;
    std::optional<ring::PeerName> peer;
    int failures = 0;
    std::chrono::steady_clock::time_point next_try;
    bool dialling = false;
    bool linked_once = false;         // a discovered target that worked is kept while it may return
    std::uint64_t connection_id = 0;  // the link made from this target, 0 when none
    std::string last_error;
  };

  // ConnectionOwner
  Status admit(const Connection& connection, const Hello& hello) override;
  void on_established(const std::shared_ptr<Connection>& connection) override;
  void on_frame(const std::shared_ptr<Connection>& connection, FrameType type, Bytes body) override;
  void on_closed(const std::shared_ptr<Connection>& connection, const Status& why) override;

  Status listen();
  void accept_next();
  // Takes over a connected socket; returns the link id, 0 if refused for the limit.
  std::uint64_t adopt(boost::asio::ip::tcp::socket socket, bool initiator,
                      const std::string& target);
  void connect_to(const std::string& address, const boost::asio::ip::tcp::endpoint& endpoint);
  // Records the target a new link belongs to (adding one for a peer that dialled us).
  void remember_target(const Connection& connection);
  void schedule_tick();
  void tick();
  void refresh_discovered_targets();
  void dial(const std::string& address);
  void dial_failed(const std::string& address, const Status& why);
  void on_gossip_timer();
  void handle_topology(const std::shared_ptr<Connection>& from, const Bytes& body);
  void handle_broadcast(const std::shared_ptr<Connection>& from, const Bytes& body);
  void handle_unicast(const std::shared_ptr<Connection>& from, Bytes body);
  // How many accepted links from `ip` are still in their handshake.
  std::size_t handshakes_from(const boost::asio::ip::address& ip) const;
  void publish_own_links();
  // Queues changed topology entries for every link, sent at once or coalesced (see
  // MeshLimits::topology_interval).
  void send_topology(const std::vector<PeerEntry>& changed);
  void flush_topology();
  // Discovered targets due to be dialled, as many as MeshLimits::discovery_links allows,
  // chosen at random so that peers do not all dial the same few.
  std::vector<std::string> discovered_due(std::vector<std::string> due) const;
  void send_to_all(ByteView body, const Connection* except);
  // Every frame goes out through here, so counters_ sees it.
  Status send_on(Connection& connection, ByteView body);
  void repay_topology();
  void notify_reachability();
  bool prefer_existing(const Connection& existing, const Connection& incoming) const;
  // True iff we refused `connection` because the peer's allocation was created apart.
  bool created_apart(const Connection& connection);
  void log(const char* level, const std::string& message) const;

  boost::asio::io_context& io_;
  MeshConfig config_;
  MeshHandler& handler_;
  ConnectionOptions connection_options_;  // outlives every Connection (they are detached first)
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // handlers hold a weak_ptr
  bool started_ = false;
  bool stopped_ = false;

  boost::asio::ip::tcp::acceptor acceptor_;
  std::optional<boost::asio::ip::address> bind_address_;  // for dialling, when specific
  std::uint16_t local_port_ = 0;
  boost::asio::steady_timer accept_pause_timer_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer gossip_timer_;
  boost::asio::steady_timer topology_timer_;
  std::set<ring::PeerName> pending_topology_;  // peers whose changed entries are not sent yet
  bool topology_timer_armed_ = false;
  std::set<ring::PeerName> topology_owed_;  // links whose topology was shed: owed the table
  std::chrono::steady_clock::time_point last_topology_sent_{};
  mutable std::mt19937_64 rng_;

  Topology topology_;
  std::uint64_t next_connection_id_ = 1;
  std::uint64_t dropped_connections_ = 0;  // refused at accept for a limit, ever
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;   // every live link
  std::map<ring::PeerName, std::shared_ptr<Connection>> established_;  // one per peer
  std::map<std::uint64_t, std::string> connection_targets_;  // link id -> target it came from
  std::map<std::string, Target> targets_;  // bounded: configured + max_peers discovered
  std::map<ring::PeerName, std::uint64_t> reported_up_;  // what the handler was told (uid)
  RefusedPeers refused_{config_.limits.max_peers};

  std::uint64_t broadcast_seq_ = 0;
  MeshCounters counters_;
  std::map<std::pair<ring::PeerName, std::uint64_t>, BroadcastWindow> windows_;
  std::function<std::vector<std::uint8_t>()> gossip_source_;
  std::function<bool(ring::PeerName)> link_filter_;
};

}  // namespace wipam::gossip
