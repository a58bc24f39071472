// The ring page: one self-contained HTML page (no external assets) that draws the allocation
// range as a donut of ring entries, one arc per owned range in its owner's colour, with a peer
// table beneath. It polls GET /status every 2 s, so it needs no server-side state of its own.
// Each arc is a `path.segment` carrying data-range, data-owner, data-reachable and data-share,
// which tests/e2e/ring_page_test.sh checks against /status.
// Immutable, safe to share.
#pragma once

#include <string>

namespace wipam::driver {

// The page's HTML, built once; served at GET / on the loopback HTTP address.
const std::string& ring_page_html();

}  // namespace wipam::driver
