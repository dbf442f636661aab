// The xenstore end of a domain's xenstore ring page (struct
// xenstore_domain_interface in xen/io/xs_wire.h): reads the guest's
// requests from req, answers them from a Store, and writes the replies and
// watch events into rsp. The guest owns the page and may write anything at
// any time, so every index is read once per call and checked, and request
// bytes are copied out before they are parsed.
#pragma once

#include "vmm/xenstore/store.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Xen's headers after <cstdint>.
#include <xen/io/xs_wire.h>

namespace pvvmm::xenstore {

class Server {
public:
    // Output queued beyond this stops the server from taking new requests
    // until the guest has read some (a guest that never reads rsp cannot
    // make the host queue without bound).
    static constexpr size_t kOutputHighWater = 16 * 1024;

    // Serves the store's domain (Store::domid()); the store must outlive
    // the server.
    explicit Server(Store& store) : store_(store) {}

    // Takes every request byte the ring holds, handles each complete
    // request, and writes as much queued output (replies, then watch
    // events) as rsp has room for. Never blocks: a partial request is kept
    // until the rest arrives (requests may be longer than the ring, so its
    // bytes are consumed as they come, as xenstored does), and output that
    // does not fit waits for the next call. Returns true when it changed
    // the ring (consumed request bytes or produced output): the caller then
    // notifies the guest, which may be waiting for either.
    //
    // A request longer than XENSTORE_PAYLOAD_MAX or indices that claim
    // more than a ring's worth of data are a protocol error: it is logged,
    // ring.error is set (XENSTORE_ERROR_PROTO / _RINGIDX) and the server
    // ignores the ring from then on (broken()).
    bool service(xenstore_domain_interface& ring);

    // Replies or events wait for room in rsp (or in the store's queue).
    [[nodiscard]] bool has_pending_output() const { return !out_.empty() || store_.has_events(); }
    [[nodiscard]] bool broken() const { return broken_; }

private:
    void handle(const xsd_sockmsg& hdr, std::string_view payload);
    void reply(const xsd_sockmsg& hdr, uint32_t type, std::string_view payload);
    void reply_ok(const xsd_sockmsg& hdr) { reply(hdr, hdr.type, std::string_view("OK", 3)); }
    void reply_error(const xsd_sockmsg& hdr, std::string_view name);
    void reply_status(const xsd_sockmsg& hdr, const Status& s);
    void queue_events();
    bool fail(xenstore_domain_interface& ring, uint32_t error, std::string_view why);

    Store& store_;
    std::string in_;   // bytes of the request being received
    std::string out_;  // bytes not yet written to rsp
    bool broken_ = false;
    bool started_ = false;
};

}  // namespace pvvmm::xenstore
