// vmm/xenstore: the tree with xenstored's semantics (parents created by
// write, recursive rm, relative paths, transactions with conflicts,
// watches), a domU's initial entries, and the server end of the ring page
// driven as a guest drives it: requests split across calls, indices that
// wrap, a full response ring, and a hostile guest's oversized request or
// garbage indices.
#include <catch.hpp>

#include <cstdint>
// Xen's headers after <cstdint>.
#include <xen/io/xs_wire.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "vmm/xenstore/domu_store.hpp"
#include "vmm/xenstore/server.hpp"
#include "vmm/xenstore/store.hpp"

namespace {

using namespace pvvmm::xenstore;
using namespace std::string_literals;
using Names = std::vector<std::string>;

// ---- Store ----

TEST_CASE("xenstore: write creates parents, read returns the value, relative paths are under the domain",
          "[xenstore]") {
    Store s(7);
    REQUIRE(s.domain_path() == "/local/domain/7");
    REQUIRE(s.write("/a/b/c", "v1"));
    CHECK(s.read("/a/b/c").value() == "v1");
    CHECK(s.read("/a/b").value() == "");
    CHECK(s.read("/a").value() == "");
    // Values are binary-safe.
    REQUIRE(s.write("/a/bin", "x\0y"s));
    CHECK(s.read("/a/bin").value() == "x\0y"s);

    REQUIRE(s.write("device/vbd", "rel"));
    CHECK(s.read("/local/domain/7/device/vbd").value() == "rel");
    CHECK(s.read("device/vbd").value() == "rel");
    CHECK(s.read("/local/domain").value() == "");

    CHECK(s.read("/nope").error() == "ENOENT");
    CHECK(s.read("/a//b").error() == "EINVAL");
    CHECK(s.read("/a/").error() == "EINVAL");
    CHECK(s.read("/a/b c").error() == "EINVAL");
    CHECK(s.read("").error() == "EINVAL");
    CHECK(s.read("@introduceDomain").error() == "EINVAL");
    CHECK(s.write("/a/b c", "x").error() == "EINVAL");
    CHECK(s.read(std::string(XENSTORE_ABS_PATH_MAX + 1, 'a').insert(0, "/")).error() == "EINVAL");
}

TEST_CASE("xenstore: directory lists direct children; mkdir", "[xenstore]") {
    Store s(1);
    REQUIRE(s.write("/d/x", "1"));
    REQUIRE(s.write("/d/y/deep", "2"));
    REQUIRE(s.write("/d-sibling", "3"));
    REQUIRE(s.mkdir("/d/z"));
    CHECK(s.directory("/d").value() == Names{"x", "y", "z"});
    CHECK(s.directory("/d/z").value().empty());
    CHECK(s.directory("/").value() == Names{"d", "d-sibling"});
    CHECK(s.directory("/missing").error() == "ENOENT");
    // mkdir of an existing node is OK and keeps its value.
    REQUIRE(s.mkdir("/d/x"));
    CHECK(s.read("/d/x").value() == "1");
    REQUIRE(s.mkdir("/m/n/o"));
    CHECK(s.directory("/m/n").value() == Names{"o"});
}

TEST_CASE("xenstore: rm is recursive; a missing node is OK only when its parent exists", "[xenstore]") {
    Store s(1);
    REQUIRE(s.write("/t/a/b/c", "x"));
    REQUIRE(s.write("/t/a-keep", "k"));
    REQUIRE(s.write("/t/keep", "k"));
    const size_t before = s.node_count();
    REQUIRE(s.rm("/t/a"));
    CHECK(s.node_count() == before - 3);
    CHECK(s.read("/t/a").error() == "ENOENT");
    CHECK(s.read("/t/a/b/c").error() == "ENOENT");
    CHECK(s.read("/t/a-keep").value() == "k");
    CHECK(s.directory("/t").value() == Names{"a-keep", "keep"});

    CHECK(s.rm("/t/gone").ok());                       // parent /t exists
    CHECK(s.rm("/t/gone/child").error() == "ENOENT");  // parent missing
    CHECK(s.rm("/").error() == "EINVAL");
}

TEST_CASE("xenstore: transactions commit, conflict with EAGAIN, abort", "[xenstore]") {
    Store s(1);
    REQUIRE(s.write("/x", "0"));
    REQUIRE(s.write("/other", "0"));

    SECTION("commit applies, and the transaction saw its own snapshot") {
        auto tx = s.transaction_start();
        REQUIRE(tx);
        REQUIRE(*tx != 0);
        REQUIRE(s.write("/x", "1", *tx));
        REQUIRE(s.write("/new/node", "n", *tx));
        REQUIRE(s.rm("/other", *tx));
        CHECK(s.read("/x", *tx).value() == "1");
        CHECK(s.read("/x").value() == "0");  // not yet visible
        CHECK(s.read("/new/node").error() == "ENOENT");
        CHECK(s.read("/other", *tx).error() == "ENOENT");
        REQUIRE(s.transaction_end(*tx, true));
        CHECK(s.read("/x").value() == "1");
        CHECK(s.read("/new/node").value() == "n");
        CHECK(s.read("/other").error() == "ENOENT");
        CHECK(s.transaction_end(*tx, true).error() == "ENOENT");  // gone
    }
    SECTION("a node it read changed meanwhile: EAGAIN, nothing applied") {
        auto tx = s.transaction_start();
        REQUIRE(tx);
        CHECK(s.read("/x", *tx).value() == "0");
        REQUIRE(s.write("/y", "from tx", *tx));
        REQUIRE(s.write("/x", "live"));
        CHECK(s.read("/x", *tx).value() == "0");  // the snapshot
        CHECK(s.transaction_end(*tx, true).error() == "EAGAIN");
        CHECK(s.read("/y").error() == "ENOENT");
        CHECK(s.read("/x").value() == "live");
    }
    SECTION("a child added to a directory it listed: EAGAIN") {
        auto tx = s.transaction_start();
        REQUIRE(tx);
        REQUIRE(s.directory("/", *tx));
        REQUIRE(s.write("/z", "1", *tx));
        REQUIRE(s.write("/newchild", "live"));
        CHECK(s.transaction_end(*tx, true).error() == "EAGAIN");
        CHECK(s.read("/z").error() == "ENOENT");
    }
    SECTION("changes to nodes it did not touch do not conflict") {
        auto tx = s.transaction_start();
        REQUIRE(tx);
        REQUIRE(s.write("/x", "tx", *tx));
        REQUIRE(s.write("/other", "live"));
        REQUIRE(s.transaction_end(*tx, true));
        CHECK(s.read("/x").value() == "tx");
        CHECK(s.read("/other").value() == "live");
    }
    SECTION("abort discards") {
        auto tx = s.transaction_start();
        REQUIRE(tx);
        REQUIRE(s.write("/x", "aborted", *tx));
        REQUIRE(s.transaction_end(*tx, false));
        CHECK(s.read("/x").value() == "0");
        CHECK(s.read("/x", *tx).error() == "ENOENT");  // unknown transaction
    }
    SECTION("quota and unknown ids") {
        CHECK(s.read("/x", 12345).error() == "ENOENT");
        std::vector<TxId> ids;
        for (size_t i = 0; i < Store::kMaxTransactions; ++i) {
            auto tx = s.transaction_start();
            REQUIRE(tx);
            ids.push_back(*tx);
        }
        CHECK(s.transaction_start().error() == "ENOSPC");
        REQUIRE(s.transaction_end(ids[0], false));
        CHECK(s.transaction_start().ok());
    }
}

TEST_CASE("xenstore: watches fire up front, on the path and below, and stop on unwatch", "[xenstore]") {
    Store s(3);
    REQUIRE(s.watch("/w", "tok"));
    auto ev = s.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].path == "/w");
    CHECK(ev[0].token == "tok");
    CHECK(!s.has_events());

    REQUIRE(s.write("/w/child", "1"));
    REQUIRE(s.write("/unrelated", "1"));
    REQUIRE(s.write("/wx", "1"));  // a sibling sharing the prefix: no event
    ev = s.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].path == "/w/child");
    CHECK(ev[0].token == "tok");

    // A watch below a removed node hears its own path.
    REQUIRE(s.watch("/w/child/deep", "deep"));
    s.take_events();
    REQUIRE(s.rm("/w"));
    ev = s.take_events();
    REQUIRE(ev.size() == 2);
    CHECK((ev[0].path == "/w" && ev[0].token == "tok"));
    CHECK((ev[1].path == "/w/child/deep" && ev[1].token == "deep"));

    CHECK(s.watch("/w", "tok").error() == "EEXIST");
    REQUIRE(s.unwatch("/w", "tok"));
    CHECK(s.unwatch("/w", "tok").error() == "ENOENT");
    REQUIRE(s.mkdir("/w/again"));
    CHECK(s.take_events().empty());  // /w is no longer watched, /w/again is not below /w/child/deep
    REQUIRE(s.write("/w/child/deep/x", "1"));
    ev = s.take_events();
    REQUIRE(ev.size() == 1);
    CHECK((ev[0].path == "/w/child/deep/x" && ev[0].token == "deep"));
}

TEST_CASE("xenstore: relative and special watches", "[xenstore]") {
    Store s(5);
    REQUIRE(s.watch("device", "fe"));
    REQUIRE(s.watch("@releaseDomain", "rel"));
    CHECK(s.watch("@other", "x").error() == "EINVAL");
    auto ev = s.take_events();
    REQUIRE(ev.size() == 2);
    CHECK((ev[0].path == "device" && ev[0].token == "fe"));
    CHECK((ev[1].path == "@releaseDomain" && ev[1].token == "rel"));

    REQUIRE(s.write("/local/domain/5/device/vif/0/state", "1"));
    REQUIRE(s.rm("/local/domain/5"));
    ev = s.take_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].path == "device/vif/0/state");  // relative, as the watch was
    CHECK(ev[1].path == "device");              // removed with its ancestor
    // The same node watched absolutely is a different watch path string but
    // the same watch node: a duplicate.
    CHECK(s.watch("/local/domain/5/device", "fe").error() == "EEXIST");

    s.reset_watches();
    REQUIRE(s.write("device/x", "1"));
    CHECK(s.take_events().empty());
}

TEST_CASE("xenstore: watch events of a transaction fire on commit only", "[xenstore]") {
    Store s(1);
    REQUIRE(s.watch("/t", "tok"));
    s.take_events();
    auto tx = s.transaction_start();
    REQUIRE(tx);
    REQUIRE(s.write("/t/a", "1", *tx));
    CHECK(!s.has_events());
    REQUIRE(s.transaction_end(*tx, true));
    auto ev = s.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].path == "/t/a");

    tx = s.transaction_start();
    REQUIRE(tx);
    REQUIRE(s.write("/t/b", "1", *tx));
    REQUIRE(s.transaction_end(*tx, false));
    CHECK(!s.has_events());
}

TEST_CASE("xenstore: a domU's initial entries", "[xenstore]") {
    Store s = domu_store(4, "guest-4", 65536, 3);
    CHECK(s.domid() == 4);
    CHECK(s.read("/local/domain/4/name").value() == "guest-4");
    CHECK(s.read("/local/domain/4/domid").value() == "4");
    CHECK(s.read("memory/target").value() == "65536");
    CHECK(s.read("memory/static-max").value() == "65536");
    CHECK(s.directory("cpu").value() == Names{"0", "1", "2"});
    for (const char* cpu : {"cpu/0/availability", "cpu/1/availability", "cpu/2/availability"})
        CHECK(s.read(cpu).value() == "online");
    CHECK(s.directory("control").value().empty());
    CHECK(s.directory("device").value().empty());
    CHECK(s.directory("/local/domain/4").value() == Names{"control", "cpu", "device", "domid", "memory", "name"});
    CHECK(s.get_perms("device").value() == "n4");
    CHECK(s.get_perms("nothing").error() == "ENOENT");
    CHECK(!s.has_events());
}

// ---- Server over an in-memory ring page ----

struct Msg {
    xsd_sockmsg hdr;
    std::string payload;
};

std::string request(uint32_t type, std::string_view payload, uint32_t req_id = 1, uint32_t tx_id = 0) {
    xsd_sockmsg hdr{type, req_id, tx_id, static_cast<uint32_t>(payload.size())};
    std::string out(reinterpret_cast<const char*>(&hdr), sizeof hdr);
    out.append(payload);
    return out;
}

// The guest's side of the page.
struct Guest {
    std::unique_ptr<xenstore_domain_interface> ring = std::make_unique<xenstore_domain_interface>();

    Guest() { std::memset(ring.get(), 0, sizeof *ring); }

    // Writes as much of `bytes` as req has room for; returns how much.
    size_t send(std::string_view bytes) {
        size_t n = 0;
        while (n < bytes.size() && ring->req_prod - ring->req_cons < XENSTORE_RING_SIZE) {
            ring->req[MASK_XENSTORE_IDX(ring->req_prod)] = bytes[n++];
            ++ring->req_prod;
        }
        return n;
    }

    std::string pending;  // rsp bytes read but not yet a whole message

    // Every complete message so far; all of rsp is consumed, as Linux's
    // xenbus does (messages may be longer than the ring).
    std::vector<Msg> receive() {
        for (; ring->rsp_cons != ring->rsp_prod; ++ring->rsp_cons)
            pending.push_back(ring->rsp[MASK_XENSTORE_IDX(ring->rsp_cons)]);
        std::vector<Msg> out;
        while (pending.size() >= sizeof(xsd_sockmsg)) {
            Msg m{};
            std::memcpy(&m.hdr, pending.data(), sizeof m.hdr);
            if (pending.size() < sizeof m.hdr + m.hdr.len)
                break;
            m.payload = pending.substr(sizeof m.hdr, m.hdr.len);
            pending.erase(0, sizeof m.hdr + m.hdr.len);
            out.push_back(std::move(m));
        }
        return out;
    }
};

// Sends one request, services, and returns what came back.
std::vector<Msg> transact(Guest& g, Server& srv, const std::string& req) {
    REQUIRE(g.send(req) == req.size());
    REQUIRE(srv.service(*g.ring));
    auto msgs = g.receive();
    // A reply longer than the ring comes in pieces, as the guest reads.
    for (int round = 0; srv.has_pending_output(); ++round) {
        REQUIRE(round < 10);
        REQUIRE(srv.service(*g.ring));
        for (auto& m : g.receive())
            msgs.push_back(std::move(m));
    }
    return msgs;
}

Msg only(const std::vector<Msg>& msgs) {
    REQUIRE(msgs.size() == 1);
    return msgs[0];
}

TEST_CASE("xenstore server: requests and replies over the ring", "[xenstore]") {
    Store store = domu_store(9, "g", 1024, 1);
    Server srv(store);
    Guest g;
    g.ring->server_features = 0xdead;

    auto m = only(transact(g, srv, request(XS_WRITE, "data/key\0value"s, 11)));
    CHECK(g.ring->server_features == 0);
    CHECK(m.hdr.type == XS_WRITE);
    CHECK(m.hdr.req_id == 11);
    CHECK(m.hdr.tx_id == 0);
    CHECK(m.payload == "OK\0"s);
    CHECK(store.read("/local/domain/9/data/key").value() == "value");

    m = only(transact(g, srv, request(XS_READ, "data/key\0"s, 12)));
    CHECK(m.hdr.type == XS_READ);
    CHECK(m.hdr.req_id == 12);
    CHECK(m.payload == "value");  // no NUL

    m = only(transact(g, srv, request(XS_READ, "data/none\0"s, 13)));
    CHECK(m.hdr.type == XS_ERROR);
    CHECK(m.hdr.req_id == 13);
    CHECK(m.payload == "ENOENT\0"s);

    m = only(transact(g, srv, request(XS_READ, "no-nul"s)));
    CHECK(m.payload == "EINVAL\0"s);

    m = only(transact(g, srv, request(XS_DIRECTORY, "/local/domain/9/memory\0"s)));
    CHECK(m.hdr.type == XS_DIRECTORY);
    CHECK(m.payload == "static-max\0target\0"s);

    m = only(transact(g, srv,
                      request(XS_DIRECTORY_PART,
                              "/local/domain/9/memory\0"
                              "0\0"s)));
    CHECK(m.hdr.type == XS_DIRECTORY_PART);
    const auto gen = store.generation("/local/domain/9/memory").value();
    CHECK(m.payload == std::to_string(gen) + "\0static-max\0target\0\0"s);

    m = only(transact(g, srv, request(XS_GET_DOMAIN_PATH, "9\0"s)));
    CHECK(m.payload == "/local/domain/9\0"s);

    m = only(transact(g, srv, request(XS_MKDIR, "device/vbd\0"s)));
    CHECK(m.payload == "OK\0"s);
    m = only(transact(g, srv, request(XS_RM, "device\0"s)));
    CHECK(m.payload == "OK\0"s);
    CHECK(store.read("device/vbd").error() == "ENOENT");

    m = only(transact(g, srv, request(XS_GET_PERMS, "name\0"s)));
    CHECK(m.payload == "n9\0"s);
    m = only(transact(g, srv, request(XS_SET_PERMS, "name\0n9\0r0\0"s)));
    CHECK(m.payload == "OK\0"s);
    m = only(transact(g, srv, request(XS_SET_PERMS, "name\0"s)));
    CHECK(m.payload == "EINVAL\0"s);

    m = only(transact(g, srv, request(XS_IS_DOMAIN_INTRODUCED, "9\0"s)));
    CHECK(m.payload == "T\0"s);
    m = only(transact(g, srv, request(XS_IS_DOMAIN_INTRODUCED, "8\0"s)));
    CHECK(m.payload == "F\0"s);
    m = only(transact(g, srv,
                      request(XS_INTRODUCE,
                              "1\0"
                              "2\0"
                              "3\0"s)));
    CHECK(m.payload == "EACCES\0"s);
    m = only(transact(g, srv, request(XS_CONTROL, "print\0"s)));
    CHECK(m.payload == "ENOSYS\0"s);
    m = only(transact(g, srv, request(XS_WATCH_EVENT, "x\0"s)));
    CHECK(m.payload == "EINVAL\0"s);
    m = only(transact(g, srv, request(1000, ""s)));
    CHECK(m.payload == "EINVAL\0"s);
    CHECK(!srv.has_pending_output());
    CHECK(!srv.broken());
}

TEST_CASE("xenstore server: transactions and watches over the ring", "[xenstore]") {
    Store store = domu_store(2, "g", 1024, 1);
    Server srv(store);
    Guest g;

    // The reply comes first, then the initial event.
    auto msgs = transact(g, srv, request(XS_WATCH, "control\0tok\0"s, 5));
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0].hdr.type == XS_WATCH);
    CHECK(msgs[0].hdr.req_id == 5);
    CHECK(msgs[0].payload == "OK\0"s);
    CHECK(msgs[1].hdr.type == XS_WATCH_EVENT);
    CHECK(msgs[1].hdr.req_id == 0);
    CHECK(msgs[1].payload == "control\0tok\0"s);

    auto m = only(transact(g, srv, request(XS_TRANSACTION_START, "\0"s, 6)));
    CHECK(m.hdr.type == XS_TRANSACTION_START);
    REQUIRE(m.payload.size() >= 2);
    REQUIRE(m.payload.back() == '\0');
    const auto tx = static_cast<uint32_t>(std::stoul(m.payload));
    REQUIRE(tx != 0);

    m = only(transact(g, srv, request(XS_WRITE, "control/shutdown\0poweroff"s, 7, tx)));
    CHECK(m.hdr.tx_id == tx);
    CHECK(m.payload == "OK\0"s);
    CHECK(store.read("control/shutdown").error() == "ENOENT");
    m = only(transact(g, srv, request(XS_TRANSACTION_START, "\0"s, 8, tx)));
    CHECK(m.payload == "EBUSY\0"s);

    // Commit: the reply, then the event.
    msgs = transact(g, srv, request(XS_TRANSACTION_END, "T\0"s, 9, tx));
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0].payload == "OK\0"s);
    CHECK(msgs[0].hdr.tx_id == tx);
    CHECK(msgs[1].hdr.type == XS_WATCH_EVENT);
    CHECK(msgs[1].payload == "control/shutdown\0tok\0"s);
    CHECK(store.read("control/shutdown").value() == "poweroff");

    m = only(transact(g, srv, request(XS_TRANSACTION_END, "T\0"s, 10, tx)));
    CHECK(m.payload == "ENOENT\0"s);

    // A host-side write reaches the guest as an event on the next call.
    REQUIRE(store.write("control/sysrq", "b"));
    REQUIRE(srv.has_pending_output());
    REQUIRE(srv.service(*g.ring));
    m = only(g.receive());
    CHECK(m.hdr.type == XS_WATCH_EVENT);
    CHECK(m.payload == "control/sysrq\0tok\0"s);

    m = only(transact(g, srv, request(XS_UNWATCH, "control\0tok\0"s)));
    CHECK(m.payload == "OK\0"s);
    REQUIRE(store.write("control/sysrq", "c"));
    CHECK(!srv.service(*g.ring));
    CHECK(g.receive().empty());
}

TEST_CASE("xenstore server: a request split across two calls", "[xenstore]") {
    Store store(1);
    Server srv(store);
    Guest g;
    const std::string req = request(XS_WRITE, "/split/key\0half and half"s, 42);
    const size_t half = 10;  // inside the header
    REQUIRE(g.send(req.substr(0, half)) == half);
    CHECK(srv.service(*g.ring));  // consumed the bytes: the guest may be waiting for room
    CHECK(g.ring->req_cons == half);
    CHECK(g.receive().empty());
    CHECK(store.read("/split/key").error() == "ENOENT");

    REQUIRE(g.send(req.substr(half)) == req.size() - half);
    REQUIRE(srv.service(*g.ring));
    auto m = only(g.receive());
    CHECK(m.hdr.req_id == 42);
    CHECK(m.payload == "OK\0"s);
    CHECK(store.read("/split/key").value() == "half and half");
    CHECK(!srv.service(*g.ring));  // nothing left to do
}

TEST_CASE("xenstore server: a request longer than the ring, indices wrapping", "[xenstore]") {
    Store store(1);
    Server srv(store);
    Guest g;
    // Start near the end of both the ring and the 32-bit index space.
    const uint32_t start = 0xFFFFFFFFu - 20;
    g.ring->req_cons = g.ring->req_prod = start;
    g.ring->rsp_cons = g.ring->rsp_prod = start;

    const std::string value(3000, 'v');
    const std::string req = request(XS_WRITE, "/big\0"s + value, 3);
    size_t sent = 0;
    for (int round = 0; sent < req.size(); ++round) {
        REQUIRE(round < 10);
        sent += g.send(std::string_view(req).substr(sent));
        REQUIRE(srv.service(*g.ring));
    }
    CHECK(store.read("/big").value() == value);
    auto m = only(g.receive());
    CHECK(m.hdr.req_id == 3);
    CHECK(m.payload == "OK\0"s);
    CHECK(g.ring->req_cons == static_cast<uint32_t>(start + req.size()));  // wrapped past 2^32

    // A reply that wraps the response ring (and the index) too.
    m = only(transact(g, srv, request(XS_READ, "/big\0"s, 4)));
    CHECK(m.hdr.req_id == 4);
    CHECK(m.payload.size() == value.size());
}

TEST_CASE("xenstore server: output waits while the response ring is full", "[xenstore]") {
    Store store(1);
    Server srv(store);
    Guest g;
    // The guest has not read anything of a full ring.
    g.ring->rsp_prod = XENSTORE_RING_SIZE;
    REQUIRE(g.send(request(XS_WRITE, "/k\0v"s, 77)) > 0);
    CHECK(srv.service(*g.ring));  // took the request
    CHECK(g.ring->req_cons == g.ring->req_prod);
    CHECK(g.ring->rsp_prod == XENSTORE_RING_SIZE);
    CHECK(srv.has_pending_output());
    CHECK(!srv.service(*g.ring));  // still no room, nothing changed

    // Now the guest frees 8 bytes: part of the reply goes out.
    g.ring->rsp_cons = 8;
    CHECK(srv.service(*g.ring));
    CHECK(g.ring->rsp_prod == XENSTORE_RING_SIZE + 8);
    CHECK(srv.has_pending_output());

    g.ring->rsp_cons = XENSTORE_RING_SIZE;  // it read everything before the reply
    CHECK(srv.service(*g.ring));
    CHECK(!srv.has_pending_output());
    auto m = only(g.receive());
    CHECK(m.hdr.req_id == 77);
    CHECK(m.payload == "OK\0"s);
}

TEST_CASE("xenstore server: a hostile guest's oversized request or garbage indices", "[xenstore]") {
    Store store(1);
    Server srv(store);
    Guest g;

    SECTION("len beyond XENSTORE_PAYLOAD_MAX") {
        xsd_sockmsg hdr{XS_WRITE, 1, 0, XENSTORE_PAYLOAD_MAX + 1};
        REQUIRE(g.send(std::string(reinterpret_cast<const char*>(&hdr), sizeof hdr)) == sizeof hdr);
        CHECK(srv.service(*g.ring));
        CHECK(srv.broken());
        CHECK(g.ring->error == XENSTORE_ERROR_PROTO);
        CHECK(g.receive().empty());
    }
    SECTION("req_prod more than a ring ahead of req_cons") {
        g.ring->req_prod = XENSTORE_RING_SIZE + 1;
        CHECK(srv.service(*g.ring));
        CHECK(srv.broken());
        CHECK(g.ring->error == XENSTORE_ERROR_RINGIDX);
    }
    SECTION("rsp_cons ahead of rsp_prod") {
        g.ring->rsp_cons = 5;
        CHECK(srv.service(*g.ring));
        CHECK(srv.broken());
        CHECK(g.ring->error == XENSTORE_ERROR_RINGIDX);
    }
    // From then on the ring is ignored.
    const uint32_t cons = g.ring->req_cons;
    g.ring->req_prod = cons;
    g.send(request(XS_READ, "/\0"s));
    CHECK(!srv.service(*g.ring));
    CHECK(g.ring->req_cons == cons);
}

TEST_CASE("xenstore server: a directory too long for one reply goes out in parts", "[xenstore]") {
    Store store(1);
    Server srv(store);
    Guest g;
    std::string expected;
    for (int i = 0; i < 300; ++i) {
        const std::string name = "child-with-a-long-name-" + std::to_string(1000 + i);
        REQUIRE(store.mkdir("/many/" + name));
        expected += name + '\0';
    }
    REQUIRE(expected.size() > XENSTORE_PAYLOAD_MAX);
    auto m = only(transact(g, srv, request(XS_DIRECTORY, "/many\0"s)));
    CHECK(m.payload == "E2BIG\0"s);

    const std::string gen = std::to_string(store.generation("/many").value()) + '\0';
    std::string all;
    for (int part = 0;; ++part) {
        REQUIRE(part < 5);
        m = only(transact(g, srv, request(XS_DIRECTORY_PART, "/many\0"s + std::to_string(all.size()) + '\0')));
        REQUIRE(m.hdr.type == XS_DIRECTORY_PART);
        REQUIRE(m.payload.size() <= XENSTORE_PAYLOAD_MAX);
        REQUIRE(m.payload.starts_with(gen));
        std::string chunk = m.payload.substr(gen.size());
        const bool last = chunk.ends_with("\0\0"s) || chunk == "\0"s;
        if (last)
            chunk.pop_back();
        all += chunk;
        if (last)
            break;
    }
    CHECK(all == expected);
}

}  // namespace
