#include "gossip/connection.h"

#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace wipam::gossip {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxBuffersPerWrite = 64;
// A read holds at most this much: small while the peer is unproven, larger once it is up.
constexpr std::size_t kHandshakeReadBytes = 4 * 1024;
constexpr std::size_t kEstablishedReadBytes = 64 * 1024;

std::string endpoint_text(const asio::ip::address& ip, std::uint16_t port) {
  return ip.is_v6() ? "[" + ip.to_string() + "]:" + std::to_string(port)
                    : ip.to_string() + ":" + std::to_string(port);
}

}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, bool initiator,
                       const ConnectionOptions& options, ConnectionOwner& owner, std::uint64_t id)
    : socket_(std::move(socket)),
      initiator_(initiator),
      options_(options),
      owner_(&owner),
      id_(id),
      decoder_(kMaxHandshakeFrameBytes + kTagBytes),  // raised once the link is up
      read_buffer_(kHandshakeReadBytes),
      handshake_timer_(socket_.get_executor()),
      heartbeat_timer_(socket_.get_executor()) {
  error_code ec;
  asio::ip::tcp::endpoint remote = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_ip_ = remote.address();
    remote_endpoint_ = endpoint_text(remote.address(), remote.port());
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);  // best effort: latency, not safety
}

std::string Connection::remote_listen_address() const {
  return remote_ ? endpoint_text(remote_ip_, remote_->listen_port) : std::string();
}

void Connection::start() {
  last_receive_ = std::chrono::steady_clock::now();
  handshake_timer_.expires_after(options_.handshake_timeout);
  handshake_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec && self->state_ != State::kEstablished) {
      self->close(
          Status::deadline_exceeded("handshake with " + self->remote_endpoint_ + " timed out"));
    }
  });
  enqueue_raw(Bytes(preamble_ours_.begin(), preamble_ours_.end()));
  read_preamble();
}

void Connection::read_preamble() {
  asio::async_read(
      socket_, asio::buffer(preamble_theirs_),
      [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_preamble(ec); });
}

void Connection::on_preamble(const error_code& ec) {
  if (state_ == State::kClosed) {
    return;
  }
  if (ec) {
    close(Status::unavailable("connection to " + remote_endpoint_ + " lost: " + ec.message()));
    return;
  }
  Result<std::uint8_t> version = negotiate_version(preamble_ours_, preamble_theirs_);
  if (!version.ok()) {
    close(version.status().with_context(remote_endpoint_));
    return;
  }
  version_ = *version;
  terms_ = options_.terms;
  // Asked now, not at start: a ring may have been created or received since.
  terms_.allocation_identity =
      version_ >= kHelloIdentityVersion && options_.allocation_identity
          ? options_.allocation_identity().substr(0, kMaxAllocationIdentityBytes)
          : std::string();
  Hello hello;
  hello.identity = terms_.self;
  hello.listen_port = options_.listen_port;
  hello.range = terms_.range;
  hello.keyed = terms_.keyed;
  hello.allocation_identity = terms_.allocation_identity;
  Status random = random_bytes(hello.nonce);
  if (random.ok() && hello.keyed) {
    Result<KeyShare> share = KeyShare::generate();
    random = share.status();
    if (share.ok()) {
      hello.key_share = share->public_key();
      key_share_.emplace(std::move(share).value());
    }
  }
  if (!random.ok()) {
    close(random);
    return;
  }
  hello_ours_ = encode_hello(hello, version_);
  state_ = State::kHello;
  Status sent = enqueue(hello_ours_);
  if (sent.ok()) {
    read_frames();
  }
}

void Connection::read_frames() {
  socket_.async_read_some(
      asio::buffer(read_buffer_.data(), read_buffer_.size()),
      [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void Connection::on_read(const error_code& ec, std::size_t n) {
  if (state_ == State::kClosed) {
    return;
  }
  if (ec && state_ == State::kVerdict && keyed_link_ && initiator_) {
    // We proved first and it hung up without proving itself: the password is the likely
    // cause, and the news (not any refusal of ours), as it never showed it holds it.
    refused_.reset();
    close(Status::unavailable("authentication failed with " + remote_->identity.to_string() +
                              ": it closed the connection on our proof without sending its "
                              "own (wrong password?)"));
    return;
  }
  if (ec) {
    close(Status::unavailable(
        ec == asio::error::eof ? "peer " + remote_endpoint_ + " closed the connection"
                               : "connection to " + remote_endpoint_ + " lost: " + ec.message()));
    return;
  }
  last_receive_ = std::chrono::steady_clock::now();
  decoder_.append(ByteView(read_buffer_.data(), n));
  while (state_ != State::kClosed && !close_after_flush_) {
    Result<std::optional<Bytes>> body = decoder_.next();
    if (!body.ok()) {
      close(body.status().with_context("from " + remote_endpoint_));
      return;
    }
    if (!body->has_value()) {
      break;
    }
    Status handled;
    try {
      handled = handle_body(std::move(**body));
    } catch (...) {
      // A net, not a mechanism: our code does not throw, but the owner's handler might.
      handled = Status::internal("BUG: exception while handling a frame from " + remote_endpoint_);
    }
    if (!handled.ok()) {
      close(handled);
      return;
    }
  }
  if (state_ != State::kClosed) {
    read_frames();
  }
}

Status Connection::handle_body(Bytes body) {
  if (state_ == State::kHello) {
    return on_hello(std::move(body));
  }
  if (keyed_link_) {
    auto header = frame_header(body.size());
    Result<Bytes> opened = opener_->open(body, header);
    if (!opened.ok()) {
      refused_.reset();  // a stranger's failure is the news, not our refusal of its Hello
      return Status::unavailable("authentication failed with " + remote_->identity.to_string() +
                                 ": " + opened.status().message());
    }
    body = std::move(opened).value();
  }
  if (state_ == State::kVerdict) {
    return on_verdict(std::move(body));
  }
  Result<FrameType> type = frame_type(body);
  if (!type.ok()) {
    return type.status().with_context("from " + remote_->identity.to_string());
  }
  if (*type == FrameType::kHeartbeat) {
    return Status();
  }
  if (*type == FrameType::kHello || *type == FrameType::kVerdict) {
    return Status::corruption("handshake frame from " + remote_->identity.to_string() +
                              " after the handshake");
  }
  if (owner_ != nullptr) {
    owner_->on_frame(shared_from_this(), *type, std::move(body));
  }
  return Status();
}

Status Connection::on_hello(Bytes body) {
  Result<Hello> hello = decode_hello(body, version_);
  if (!hello.ok()) {
    return hello.status().with_context("from " + remote_endpoint_);
  }
  remote_ = std::move(hello).value();
  keyed_link_ = terms_.keyed && remote_->keyed;
  ByteView ours = hello_ours_;
  transcript_ = initiator_ ? handshake_transcript(preamble_ours_, preamble_theirs_, ours, body)
                           : handshake_transcript(preamble_theirs_, preamble_ours_, body, ours);
  if (keyed_link_) {
    Result<Key> secret = key_share_->agree(remote_->key_share);
    if (!secret.ok()) {
      return secret.status().with_context(remote_->identity.to_string());
    }
    Result<SessionKeys> keys =
        derive_session_keys(*secret, options_.password, transcript_, initiator_);
    WIPAM_RETURN_IF_ERROR(keys.status());
    keys_ = *keys;
    Result<FrameCipher> sealer = FrameCipher::make(keys_->send, true);
    Result<FrameCipher> opener = FrameCipher::make(keys_->receive, false);
    WIPAM_RETURN_IF_ERROR(sealer.status());
    WIPAM_RETURN_IF_ERROR(opener.status());
    sealer_.emplace(std::move(sealer).value());
    opener_.emplace(std::move(opener).value());
  }
  HelloCheck check = check_hello(*remote_, terms_);
  if (check.status.ok() && owner_ != nullptr) {
    check.status = owner_->admit(*this, *remote_);
    check.refusal = check.status.ok() ? Refusal::kNone : Refusal::kByOwner;
  }
  Verdict v;
  v.accept = check.status.ok();
  v.reason = check.status.message();
  if (keyed_link_) {
    v.proof = hmac_sha256(keys_->prove, transcript_);
  }
  state_ = State::kVerdict;
  if (keyed_link_ && !initiator_) {
    // The dialler proves first: nothing sealed, and no proof, goes to a party that has not
    // shown it holds the password, or it could test password guesses offline against them.
    deferred_verdict_ = encode_verdict(v);
  } else {
    WIPAM_RETURN_IF_ERROR(enqueue(encode_verdict(v)));
  }
  if (!check.status.ok()) {
    refusal_ = check.refusal;
    refused_ = check.status;  // closes on the peer's Verdict, its EOF or the timeout
  }
  return Status();
}

Status Connection::on_verdict(Bytes body) {
  const std::string who = remote_->identity.to_string();
  Result<Verdict> verdict = decode_verdict(body);
  if (!verdict.ok()) {
    return verdict.status().with_context("from " + who);
  }
  if (keyed_link_ && !digests_equal(verdict->proof, hmac_sha256(keys_->expect, transcript_))) {
    refused_.reset();
    return Status::unavailable("authentication failed with " + who + ": wrong password proof");
  }
  proven_ = true;
  if (deferred_verdict_) {
    // Sent even when either side refuses, so the dialler learns we are genuine too.
    WIPAM_RETURN_IF_ERROR(enqueue(*deferred_verdict_));
    deferred_verdict_.reset();
  }
  if (refused_) {
    finish_after_flush(*refused_);  // our Verdict may still be queued
    return Status();
  }
  if (!verdict->accept) {
    finish_after_flush(Status::failed_precondition("refused by " + who + ": " + verdict->reason));
    return Status();
  }
  state_ = State::kEstablished;
  decoder_.set_max_body_bytes(options_.max_frame_bytes + kTagBytes);
  read_buffer_.resize(kEstablishedReadBytes);
  handshake_timer_.cancel();
  start_heartbeats();
  if (owner_ != nullptr) {
    owner_->on_established(shared_from_this());
  }
  return Status();
}

void Connection::start_heartbeats() {
  heartbeat_timer_.expires_after(options_.heartbeat);
  heartbeat_timer_.async_wait(
      [self = shared_from_this()](const error_code& ec) { self->on_heartbeat_timer(ec); });
}

void Connection::on_heartbeat_timer(const error_code& ec) {
  if (ec || state_ == State::kClosed) {
    return;
  }
  auto silent = std::chrono::steady_clock::now() - last_receive_;
  if (silent > options_.idle_timeout) {
    close(Status::deadline_exceeded(
        "peer " + remote_->identity.to_string() + " silent for " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(silent).count()) + " s"));
    return;
  }
  if (enqueue(encode_heartbeat()).ok()) {
    start_heartbeats();
  }
}

Status Connection::send(ByteView body) {
  if (state_ != State::kEstablished || close_after_flush_) {
    return Status::unavailable("link to " + remote_endpoint_ + " is not up");
  }
  return enqueue(body);
}

Status Connection::enqueue(ByteView body) {
  Bytes frame;
  if (keyed_link_ && state_ != State::kHello) {
    auto header = frame_header(body.size() + kTagBytes);
    Result<Bytes> sealed = sealer_->seal(body, header);
    WIPAM_RETURN_IF_ERROR(sealed.status());
    frame.assign(header.begin(), header.end());
    frame.insert(frame.end(), sealed->begin(), sealed->end());
  } else {
    auto header = frame_header(body.size());
    frame.assign(header.begin(), header.end());
    frame.insert(frame.end(), body.begin(), body.end());
  }
  if (queued_bytes_ + frame.size() > options_.send_queue_bytes) {
    Status full = Status::unavailable("send queue to " + remote_endpoint_ + " is over " +
                                      std::to_string(options_.send_queue_bytes) +
                                      " bytes: peer too slow, disconnecting");
    close(full);
    return full;
  }
  enqueue_raw(std::move(frame));
  return Status();
}

void Connection::enqueue_raw(Bytes bytes) {
  queued_bytes_ += bytes.size();
  send_queue_.push_back(std::move(bytes));
  if (writing_count_ == 0) {
    write_more();
  }
}

void Connection::write_more() {
  if (state_ == State::kClosed || send_queue_.empty()) {
    if (close_after_flush_ && send_queue_.empty()) {
      close(*close_after_flush_);
    }
    return;
  }
  std::vector<asio::const_buffer> buffers;
  for (const Bytes& frame : send_queue_) {
    if (buffers.size() == kMaxBuffersPerWrite) {
      break;
    }
    buffers.push_back(asio::buffer(frame));
  }
  writing_count_ = buffers.size();
  asio::async_write(socket_, buffers,
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      if (self->state_ == State::kClosed) {
                        return;
                      }
                      if (ec) {
                        self->close(Status::unavailable("writing to " + self->remote_endpoint_ +
                                                        " failed: " + ec.message()));
                        return;
                      }
                      for (std::size_t i = 0; i < self->writing_count_; ++i) {
                        self->queued_bytes_ -= self->send_queue_.front().size();
                        self->send_queue_.pop_front();
                      }
                      self->writing_count_ = 0;
                      self->write_more();
                    });
}

void Connection::finish_after_flush(const Status& why) {
  close_after_flush_ = why;
  if (writing_count_ == 0 && send_queue_.empty()) {
    close(why);
  }
}

void Connection::close(const Status& given) {
  if (state_ == State::kClosed) {
    return;
  }
  // Whatever ends a link we refused (the peer hanging up, a timeout), our refusal is why.
  Status why = refused_ && state_ == State::kVerdict ? *refused_ : given;
  state_ = State::kClosed;
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  handshake_timer_.cancel();
  heartbeat_timer_.cancel();
  // The send queue stays: a cancelled write may still refer to it until its handler runs.
  if (owner_ != nullptr) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), why] {
      if (self->owner_ != nullptr) {
        self->owner_->on_closed(self, why);
      }
    });
  }
}

}  // namespace wipam::gossip
