// Connection: one TCP link to a peer, from preamble to close.
//
// It runs the handshake (preamble, Hello, Verdict; keys and proofs on keyed links), then
// cuts the stream into frames, opens them, answers nothing itself but heartbeats, and hands
// every other frame to its owner. Sends go through a queue bounded in bytes; a peer too slow
// to drain it is disconnected rather than let it grow. Created and owned by Mesh, kept alive
// by its own pending operations (shared_ptr). Loop-confined (not thread-safe).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gossip/crypto.h"
#include "gossip/frame.h"
#include "gossip/handshake.h"
#include "gossip/wire.h"
#include "ring/status.h"

namespace wipam::gossip {

class Connection;

// What a Connection tells its owner. None of these is called after Connection::detach().
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // OK iff the owner accepts this peer now (filters, limits, duplicates).
  virtual Status admit(const Connection& connection, const Hello& hello) = 0;
  // Both sides accepted: the link is up.
  virtual void on_established(const std::shared_ptr<Connection>& connection) = 0;
  // One opened frame other than a heartbeat. REQUIRES: established.
  virtual void on_frame(const std::shared_ptr<Connection>& connection, FrameType type,
                        Bytes body) = 0;
  // The link is gone (called once, from a fresh handler, never from inside close()).
  virtual void on_closed(const std::shared_ptr<Connection>& connection, const Status& why) = 0;
};

struct ConnectionOptions {
  LocalTerms terms;  // terms.allocation_identity is unused: see allocation_identity
  // Asked once per handshake, for our Hello; empty function or value: no identity.
  std::function<std::string()> allocation_identity;
  std::string password;  // used iff terms.keyed
  std::uint16_t listen_port = 0;
  std::size_t max_frame_bytes = 8 << 20;
  std::size_t send_queue_bytes = 32 << 20;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds heartbeat{10'000};
  std::chrono::milliseconds idle_timeout{35'000};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `initiator` is true when we dialled. `id` is unique within the owner.
  Connection(boost::asio::ip::tcp::socket socket, bool initiator, const ConnectionOptions& options,
             ConnectionOwner& owner, std::uint64_t id);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Begins the handshake. REQUIRES: called once, on the loop.
  void start();
  // Queues one frame body for sending (sealed on keyed links). Fails, and closes the link,
  // when the queue would exceed its byte bound; fails when closed or not yet established.
  Status send(ByteView body);
  // Closes the link now; the owner hears on_closed(why) later unless detached. Idempotent.
  void close(const Status& why);
  // Stops all callbacks to the owner (used when the owner goes away).
  void detach() { owner_ = nullptr; }

  std::uint64_t id() const { return id_; }
  bool initiator() const { return initiator_; }
  bool established() const { return state_ == State::kEstablished; }
  // Bytes queued and not yet written to the socket.
  std::size_t queued_bytes() const { return queued_bytes_; }
  bool keyed() const { return keyed_link_; }
  // The peer's Hello. REQUIRES: it has arrived (always true once established).
  const Hello& remote() const { return *remote_; }
  bool has_remote() const { return remote_.has_value(); }
  // "ip:port" where the peer listens: its socket address with its advertised port.
  std::string remote_listen_address() const;
  // The peer's socket address, for logs.
  std::string remote_endpoint() const { return remote_endpoint_; }
  // The peer's IP address (unspecified if the socket had none).
  const boost::asio::ip::address& remote_ip() const { return remote_ip_; }
  // The allocation identity our Hello carried (empty before it was sent).
  const std::string& local_allocation_identity() const { return terms_.allocation_identity; }
  // Why we refused the peer's Hello (kNone if we did not, or not yet).
  Refusal refusal() const { return refusal_; }
  // True once the peer's Verdict arrived and, on a keyed link, proved it holds the password:
  // only then is what its Hello said worth acting on.
  bool peer_proven() const { return proven_; }

 private:
  enum class State { kPreamble, kHello, kVerdict, kEstablished, kClosed };

  void read_preamble();
  void on_preamble(const boost::system::error_code& ec);
  void read_frames();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  Status handle_body(Bytes body);
  Status on_hello(Bytes body);
  Status on_verdict(Bytes body);
  void start_heartbeats();
  void on_heartbeat_timer(const boost::system::error_code& ec);
  Status enqueue(ByteView body);
  void enqueue_raw(Bytes bytes);
  void write_more();
  void finish_after_flush(const Status& why);

  boost::asio::ip::tcp::socket socket_;
  bool initiator_;
  const ConnectionOptions& options_;  // owned by Mesh, outlives every Connection it makes
  ConnectionOwner* owner_;
  std::uint64_t id_;
  std::string remote_endpoint_;
  boost::asio::ip::address remote_ip_;

  State state_ = State::kPreamble;
  Preamble preamble_ours_ = make_preamble();
  Preamble preamble_theirs_{};
  Bytes hello_ours_;  // our Hello body, kept for the transcript
  LocalTerms terms_;  // options_.terms with this link's allocation identity
  std::uint8_t version_ = 0;
  Refusal refusal_ = Refusal::kNone;
  // Our refusal, sent; we still read the peer's Verdict so a refusal of a peer that proved
  // itself can be told from one of a stranger. Then it is the reason the link closes.
  std::optional<Status> refused_;
  bool proven_ = false;
  std::optional<Hello> remote_;
  std::optional<KeyShare> key_share_;
  bool keyed_link_ = false;
  Digest transcript_{};
  std::optional<SessionKeys> keys_;
  std::optional<FrameCipher> sealer_;
  std::optional<FrameCipher> opener_;

  // Our Verdict, held on a keyed link we accepted until the dialler has proved itself.
  std::optional<Bytes> deferred_verdict_;

  FrameDecoder decoder_;
  std::vector<std::uint8_t> read_buffer_;  // bound on one read

  std::deque<Bytes> send_queue_;   // whole frames; bounded by options_.send_queue_bytes
  std::size_t queued_bytes_ = 0;   // see queued_bytes()
  std::size_t writing_count_ = 0;  // frames at the front of send_queue_ being written
  std::optional<Status> close_after_flush_;

  boost::asio::steady_timer handshake_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  std::chrono::steady_clock::time_point last_receive_;
};

}  // namespace wipam::gossip
