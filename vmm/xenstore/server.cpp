#include "vmm/xenstore/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

namespace pvvmm::xenstore {

namespace {

using RingIdx = std::atomic_ref<XENSTORE_RING_IDX>;

// The payload is exactly one NUL-terminated string (xenstored's onearg).
std::optional<std::string_view> one_arg(std::string_view payload) {
    if (payload.empty() || payload.find('\0') != payload.size() - 1)
        return std::nullopt;
    return payload.substr(0, payload.size() - 1);
}

// The payload is NUL-terminated strings only.
std::optional<std::vector<std::string_view>> strings(std::string_view payload) {
    if (payload.empty() || payload.back() != '\0')
        return std::nullopt;
    std::vector<std::string_view> out;
    while (!payload.empty()) {
        const size_t nul = payload.find('\0');
        out.push_back(payload.substr(0, nul));
        payload.remove_prefix(nul + 1);
    }
    return out;
}

std::optional<uint32_t> decimal(std::string_view s) {
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

// "<letter><domid>", letter one of n(one), r(ead), w(rite), b(oth).
bool valid_perm(std::string_view p) {
    return p.size() >= 2 && std::string_view("nrwb").find(p.front()) != std::string_view::npos &&
           decimal(p.substr(1)).has_value();
}

std::string with_nul(std::string_view s) {
    std::string out(s);
    out.push_back('\0');
    return out;
}

}  // namespace

bool Server::fail(xenstore_domain_interface& ring, uint32_t error, std::string_view why) {
    spdlog::error("xenstore: domain {}: {}; ignoring its xenstore ring from now on", store_.domid(), why);
    RingIdx(ring.error).store(error, std::memory_order_release);
    broken_ = true;
    in_.clear();
    out_.clear();
    return true;
}

bool Server::service(xenstore_domain_interface& ring) {
    if (broken_)
        return false;
    if (!started_) {
        // No reconnection, no error field: the guest finds the ring as Xen's
        // xenstored leaves it for a client that asks for nothing more.
        RingIdx(ring.server_features).store(0, std::memory_order_relaxed);
        started_ = true;
    }
    bool changed = false;
    for (bool progress = true; progress;) {
        progress = false;

        // Requests: each index read once, checked, then bytes copied out.
        const uint32_t cons = RingIdx(ring.req_cons).load(std::memory_order_relaxed);
        const uint32_t prod = RingIdx(ring.req_prod).load(std::memory_order_acquire);
        const uint32_t avail = prod - cons;
        if (avail > XENSTORE_RING_SIZE)
            return fail(ring, XENSTORE_ERROR_RINGIDX,
                        fmt::format("request ring indices out of range (req_cons {}, req_prod {})", cons, prod));
        uint32_t taken = 0;
        queue_events();
        while (out_.size() < kOutputHighWater) {
            xsd_sockmsg hdr{};
            size_t want = sizeof hdr;
            if (in_.size() >= sizeof hdr) {
                std::memcpy(&hdr, in_.data(), sizeof hdr);
                want += hdr.len;
            }
            if (in_.size() == want) {
                handle(hdr, std::string_view(in_).substr(sizeof hdr));
                in_.clear();
                queue_events();
                continue;
            }
            if (taken == avail)
                break;
            const uint32_t n = static_cast<uint32_t>(std::min<size_t>(want - in_.size(), avail - taken));
            for (uint32_t i = 0; i < n; ++i)
                in_.push_back(ring.req[MASK_XENSTORE_IDX(cons + taken + i)]);
            taken += n;
            if (in_.size() == sizeof hdr) {
                std::memcpy(&hdr, in_.data(), sizeof hdr);
                if (hdr.len > XENSTORE_PAYLOAD_MAX)
                    return fail(
                        ring, XENSTORE_ERROR_PROTO,
                        fmt::format("request of {} bytes (type {}) exceeds XENSTORE_PAYLOAD_MAX", hdr.len, hdr.type));
            }
        }
        if (taken) {
            RingIdx(ring.req_cons).store(cons + taken, std::memory_order_release);
            progress = true;
        }

        // Output: as much as rsp has room for.
        const uint32_t rsp_cons = RingIdx(ring.rsp_cons).load(std::memory_order_acquire);
        const uint32_t rsp_prod = RingIdx(ring.rsp_prod).load(std::memory_order_relaxed);
        const uint32_t used = rsp_prod - rsp_cons;
        if (used > XENSTORE_RING_SIZE)
            return fail(
                ring, XENSTORE_ERROR_RINGIDX,
                fmt::format("response ring indices out of range (rsp_cons {}, rsp_prod {})", rsp_cons, rsp_prod));
        const uint32_t n = static_cast<uint32_t>(std::min<size_t>(XENSTORE_RING_SIZE - used, out_.size()));
        if (n) {
            for (uint32_t i = 0; i < n; ++i)
                ring.rsp[MASK_XENSTORE_IDX(rsp_prod + i)] = out_[i];
            out_.erase(0, n);
            RingIdx(ring.rsp_prod).store(rsp_prod + n, std::memory_order_release);
            progress = true;
        }
        changed |= progress;
    }
    return changed;
}

void Server::queue_events() {
    if (out_.size() >= kOutputHighWater || !store_.has_events())
        return;
    for (const WatchEvent& e : store_.take_events()) {
        std::string payload = with_nul(e.path) + with_nul(e.token);
        if (payload.size() > XENSTORE_PAYLOAD_MAX) {
            spdlog::warn("xenstore: watch event for {} too long for the ring; dropped", e.path);
            continue;
        }
        xsd_sockmsg hdr{XS_WATCH_EVENT, 0, 0, 0};
        reply(hdr, XS_WATCH_EVENT, payload);
    }
}

void Server::reply(const xsd_sockmsg& hdr, uint32_t type, std::string_view payload) {
    const xsd_sockmsg out{type, hdr.req_id, hdr.tx_id, static_cast<uint32_t>(payload.size())};
    out_.append(reinterpret_cast<const char*>(&out), sizeof out);
    out_.append(payload);
}

void Server::reply_error(const xsd_sockmsg& hdr, std::string_view name) { reply(hdr, XS_ERROR, with_nul(name)); }

void Server::reply_status(const xsd_sockmsg& hdr, const Status& s) {
    if (s)
        reply_ok(hdr);
    else
        reply_error(hdr, s.error());
}

void Server::handle(const xsd_sockmsg& hdr, std::string_view payload) {
    const TxId tx = hdr.tx_id;
    switch (hdr.type) {
    case XS_READ: {
        auto path = one_arg(payload);
        if (!path)
            return reply_error(hdr, "EINVAL");
        auto value = store_.read(*path, tx);
        if (!value)
            return reply_error(hdr, value.error());
        return reply(hdr, hdr.type, *value);
    }
    case XS_WRITE: {
        const size_t nul = payload.find('\0');
        if (nul == std::string_view::npos)
            return reply_error(hdr, "EINVAL");
        return reply_status(hdr, store_.write(payload.substr(0, nul), payload.substr(nul + 1), tx));
    }
    case XS_MKDIR:
    case XS_RM: {
        auto path = one_arg(payload);
        if (!path)
            return reply_error(hdr, "EINVAL");
        return reply_status(hdr, hdr.type == XS_MKDIR ? store_.mkdir(*path, tx) : store_.rm(*path, tx));
    }
    case XS_DIRECTORY: {
        auto path = one_arg(payload);
        if (!path)
            return reply_error(hdr, "EINVAL");
        auto names = store_.directory(*path, tx);
        if (!names)
            return reply_error(hdr, names.error());
        std::string out;
        for (const auto& name : *names)
            out += with_nul(name);
        if (out.size() > XENSTORE_PAYLOAD_MAX)
            return reply_error(hdr, "E2BIG");  // the client goes on with XS_DIRECTORY_PART
        return reply(hdr, hdr.type, out);
    }
    case XS_DIRECTORY_PART: {
        // "path\0offset\0" -> "<generation>\0" then the children from byte
        // `offset` of the NUL-separated list, whole names only, and one
        // more NUL when the list ends in this part.
        auto args = strings(payload);
        std::optional<uint32_t> offset = args && args->size() == 2 ? decimal((*args)[1]) : std::nullopt;
        if (!offset)
            return reply_error(hdr, "EINVAL");
        auto names = store_.directory((*args)[0], tx);
        auto generation = store_.generation((*args)[0], tx);
        if (!names || !generation)
            return reply_error(hdr, names ? generation.error() : names.error());
        std::string all;
        for (const auto& name : *names)
            all += with_nul(name);
        std::string out = with_nul(std::to_string(*generation));
        size_t pos = std::min<size_t>(*offset, all.size());
        while (pos < all.size()) {
            const size_t end = all.find('\0', pos) + 1;
            if (out.size() + (end - pos) + 1 > XENSTORE_PAYLOAD_MAX)
                break;
            out.append(all, pos, end - pos);
            pos = end;
        }
        if (pos == all.size())
            out.push_back('\0');
        return reply(hdr, hdr.type, out);
    }
    case XS_WATCH:
    case XS_UNWATCH: {
        auto args = strings(payload);
        if (!args || args->size() != 2)
            return reply_error(hdr, "EINVAL");
        const auto& a = *args;
        return reply_status(hdr, hdr.type == XS_WATCH ? store_.watch(a[0], a[1]) : store_.unwatch(a[0], a[1]));
    }
    case XS_TRANSACTION_START: {
        if (tx != 0)
            return reply_error(hdr, "EBUSY");  // no nested transactions
        auto id = store_.transaction_start();
        if (!id)
            return reply_error(hdr, id.error());
        return reply(hdr, hdr.type, with_nul(std::to_string(*id)));
    }
    case XS_TRANSACTION_END: {
        auto arg = one_arg(payload);
        if (!arg || (*arg != "T" && *arg != "F"))
            return reply_error(hdr, "EINVAL");
        return reply_status(hdr, store_.transaction_end(tx, *arg == "T"));
    }
    case XS_GET_DOMAIN_PATH: {
        auto arg = one_arg(payload);
        auto domid = arg ? decimal(*arg) : std::nullopt;
        if (!domid)
            return reply_error(hdr, "EINVAL");
        return reply(hdr, hdr.type, with_nul(fmt::format("/local/domain/{}", *domid)));
    }
    case XS_GET_PERMS: {
        auto path = one_arg(payload);
        if (!path)
            return reply_error(hdr, "EINVAL");
        auto perms = store_.get_perms(*path, tx);
        if (!perms)
            return reply_error(hdr, perms.error());
        return reply(hdr, hdr.type, with_nul(*perms));
    }
    case XS_SET_PERMS: {
        // "path\0perm\0perm\0...": checked for form, not enforced.
        auto args = strings(payload);
        if (!args || args->size() < 2 || !std::all_of(args->begin() + 1, args->end(), valid_perm))
            return reply_error(hdr, "EINVAL");
        return reply_status(hdr, store_.set_perms((*args)[0], tx));
    }
    case XS_IS_DOMAIN_INTRODUCED: {
        auto arg = one_arg(payload);
        auto domid = arg ? decimal(*arg) : std::nullopt;
        if (!domid)
            return reply_error(hdr, "EINVAL");
        const bool known = *domid == 0 || *domid == store_.domid();
        return reply(hdr, hdr.type, with_nul(known ? "T" : "F"));
    }
    case XS_INTRODUCE:
    case XS_RELEASE:
    case XS_RESUME:
    case XS_SET_TARGET: return reply_error(hdr, "EACCES");  // dom0's operations; the guest is not dom0
    case XS_RESET_WATCHES: store_.reset_watches(); return reply_ok(hdr);
    case XS_CONTROL: return reply_error(hdr, "ENOSYS");
    default:
        // Unknown types, and XS_WATCH_EVENT / XS_ERROR, which only the
        // server sends (xenstored answers EINVAL).
        return reply_error(hdr, "EINVAL");
    }
}

}  // namespace pvvmm::xenstore
