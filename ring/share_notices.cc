#include "ring/share_notices.h"

#include <algorithm>
#include <string>
#include <utility>

#include "ring/store_records.h"

namespace wipam::ring {

void ShareNotices::on_notice(PeerName from, const SharesNotice& m) {
  if (from == ctx_.self()) {
    return;
  }
  SharesNotice kept;
  for (const SharedAddress& s : m.shares) {
    if (ctx_.universe.contains(s.address)) {
      kept.shares.push_back(s);
    }
  }
  auto it = heard_.find(from);
  if (it != heard_.end() && it->second == kept) {
    return;
  }
  if (kept.shares.empty()) {
    heard_.erase(from);
    ctx_.out.write(notice_delete(from));
    return;
  }
  ctx_.out.write(notice_write(from, kept));
  heard_[from] = std::move(kept);
}

void ShareNotices::took_over(PeerName gone) {
  auto it = heard_.find(gone);
  if (it == heard_.end()) {
    return;
  }
  for (const SharedAddress& s : it->second.shares) {
    if (!ctx_.space.owns(s.address)) {
      continue;  // not among what we took over
    }
    std::string kept_for;
    for (PeerName holder : s.holders) {
      if (holder != gone && holder != ctx_.self()) {
        reservations_.hold_shared(holder, s.address, s.owner);
        kept_for += " " + ctx_.nick(holder);
      }
    }
    if (!kept_for.empty()) {
      ctx_.out.event(EventLevel::kInfo, EventKind::kShared,
                     "kept " + s.address.to_string() + " (" + s.owner + ") after rmpeer of " +
                         ctx_.nick(gone) + " for the peers that share it:" + kept_for);
    }
  }
  heard_.erase(it);
  ctx_.out.write(notice_delete(gone));
}

void ShareNotices::peer_up(PeerName peer) {
  if (!ctx_.shares.empty()) {
    ctx_.out.unicast(peer, ours());
  }
}

void ShareNotices::gossip() {
  if (!ctx_.shares.empty()) {
    ctx_.out.send(Delivery::kGossip, PeerName(), ours());
  }
}

void ShareNotices::flush() {
  if (ctx_.shares_changes == flushed_at_) {
    return;  // the common case: nothing a notice shows changed in this call
  }
  flushed_at_ = ctx_.shares_changes;
  if (ctx_.shares.empty() && sent_.shares.empty()) {
    return;
  }
  SharesNotice now = ours();
  if (now != sent_) {
    ctx_.out.broadcast(now);
    sent_ = std::move(now);
  }
}

SharesNotice ShareNotices::ours() const {
  SharesNotice notice;
  std::size_t holders = 0;
  for (const auto& [a, share] : ctx_.shares.all()) {
    holders += share.peers.size() + 1;
    if (notice.shares.size() == kMaxNoticeShares || holders > kMaxNoticeHolders) {
      break;  // the message's bounds; never reached by gateways and tasks in practice
    }
    SharedAddress s{a, share.owner, {share.peers.begin(), share.peers.end()}};
    const Allocation* held = ctx_.table.find(a);
    if (std::optional<PeerName> p = held != nullptr ? owner_peer(held->owner) : std::nullopt) {
      s.holders.push_back(*p);  // the table keeps it for that sharer (hand_to_sharer)
    }
    notice.shares.push_back(std::move(s));
  }
  return notice;
}

const SharesNotice* ShareNotices::heard_from(PeerName peer) const {
  auto it = heard_.find(peer);
  return it == heard_.end() ? nullptr : &it->second;
}

}  // namespace wipam::ring
